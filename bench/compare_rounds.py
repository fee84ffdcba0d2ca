"""bench.compare --rounds N: gongzhi and PostGraphile measured back to back, operation by operation, N rounds.

The default run measures all of gongzhi's operations, then all of PostGraphile's: each ratio compares two
measurements minutes apart. On the eleventh session's VM that was not the same machine twice — a fixed piece of
Python work took 61 to 97 ms of CPU from one minute to the next on an idle machine (bench.compare's CPU probe),
and the same code's op 4 ran at 1.29× PostGraphile in one run and 1.52× in the next. Here both servers run at
once (each pinned as the default run pins its one server), every operation is measured for one server and then at
once for the other, the order swapped each round, and each operation's ratio is the median of its rounds' ratios:
pairs taken on the same minute of the machine. Every run sees the generated data only: bench.compare's clean-up
after each op 4 run and between the two servers' checks. The table shows each server's median round; every round
is in the JSON.
"""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path
from typing import Any

from bench import compare as c
from bench.fixture import Fixture

SERVERS = ("gongzhi", "postgraphile")


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median throughput (of an even count, the lower of the two middle ones): a measured run, so its
    latencies and CPU figures belong together."""
    ordered = sorted(runs, key=lambda r: r["rps"])
    return ordered[(len(ordered) - 1) // 2]


def ratios(rounds: list[dict[str, dict[str, dict[str, Any]]]], op: str) -> list[float]:
    """gongzhi ÷ PostGraphile of each round's back-to-back pair for ``op``."""
    return [r["gongzhi"][op]["rps"] / r["postgraphile"][op]["rps"] for r in rounds
            if r["postgraphile"][op]["rps"]]


def round_lines(results: dict[str, Any], ops: list[str]) -> list[str]:
    """The table's lines for a run in rounds: each operation's pairs and the median of their ratios."""
    rounds = results.get("rounds")
    if not rounds:
        return []
    lines = ["", f"{len(rounds)} rounds, each operation measured for both servers back to back (order swapped "
             "each round); gongzhi ÷ PostGraphile per round, then the median:", ""]
    for op in ops:
        pairs = ", ".join(f"{r['gongzhi'][op]['rps']:.0f}/{r['postgraphile'][op]['rps']:.0f}" for r in rounds)
        each = ratios(rounds, op)
        lines.append(f"- {op}: {pairs} req/s → " + " ".join(f"{x:.2f}×" for x in each)
                     + f"; **median {statistics.median(each):.2f}×**")
    return lines


def run_rounds(args: Any, fx: Fixture, db: str, server_pin: list[str], driver_pin: list[str], work: Path
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both servers started and checked, then ``args.rounds`` rounds; (results, checks) as bench.compare's main
    keeps them, each server's operation its median round, and ``results['rounds']`` every round."""
    results: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    procs: dict[str, Any] = {}
    asyncio.run(c.cleanup(db))
    try:
        procs["gongzhi"] = g = c.start_gongzhi(db, args.gongzhi_port, server_pin, args.gongzhi_env)
        base = f"http://127.0.0.1:{args.gongzhi_port}"
        results["gongzhi_startup_s"] = c.wait_ready(base + "/readyz", g)
        checks["gongzhi"] = c.check_all("gongzhi", base + "/graphql", fx)
        asyncio.run(c.cleanup(db))  # its op 4 check reported a case: PostGraphile's checks see the same data
        procs["postgraphile"] = p = c.start_postgraphile(c.install_postgraphile(), db, args.postgraphile_port,
                                                         server_pin)
        url = f"http://127.0.0.1:{args.postgraphile_port}/graphql"
        results["postgraphile_startup_s"] = c.wait_graphql(url, p)
        checks["postgraphile"] = c.check_all("postgraphile", url, fx)
        print(f"both servers up; responses: {checks}", flush=True)
        urls = {"gongzhi": base + "/graphql", "postgraphile": url}
        rounds: list[dict[str, dict[str, dict[str, Any]]]] = []
        for n in range(args.rounds):
            order = SERVERS if n % 2 == 0 else SERVERS[::-1]
            got: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in SERVERS}
            for op in args.ops:
                for name in order:
                    got[name][op] = c.measure_op(name, procs[name], urls[name], fx, op, args, driver_pin, work,
                                                 label=f"r{n + 1} ")
                    if op == "op4_report_case":
                        # every other run sees the generated data only, as in the default run: a first run of
                        # this module left op 4's thousands of open cases to the next round's case list (op 1:
                        # 1,789 → 8,845 buffers a request, its wall branch filtering them out one by one)
                        asyncio.run(c.cleanup(db))
            rounds.append(got)
        for name in SERVERS:
            results[name] = {op: median_run([r[name][op] for r in rounds]) for op in args.ops}
            results[name]["peak_rss_mb"] = c.peak_rss_mb(procs[name].pid)
        results["rounds"] = rounds
    finally:
        for proc in procs.values():
            c.stop(proc)
    return results, checks
