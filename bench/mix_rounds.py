"""bench.mix --rounds N: each root query field measured beside the reference line, N rounds (issue #21).

A plain run measures the compiled `node(id:)` reference once, first, and every field minutes after it: on the
eleventh session's VM a fixed piece of Python work took 61 to 97 ms of CPU from one minute to the next, and one
run's reference fell in a slow minute (node 1,199 req/s while `me`, a field doing more, ran at 2,018) — its ratios
measured the machine, not the code. Here each field is measured and then, at once, node (the order swapped each
round), and the field's ratio is the median of its rounds' back-to-back ratios, as bench.compare --rounds pairs
gongzhi with PostGraphile. The table shows each field's median round (its latencies and CPU figures belong
together), the node line beside it, and every round's ratio; the JSON holds every measured run.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from typing import Any

REFERENCE = "node"

# (field) -> the line of one measured run of it (bench.mix's Stats.line and the run's actor, kind, concurrency)
Measure = Callable[[str], Awaitable[dict[str, Any]]]


def order(field: str, n: int) -> tuple[str, str]:
    """Round ``n``'s order (from 0): the field first in even rounds, the reference first in odd ones."""
    return (field, REFERENCE) if n % 2 == 0 else (REFERENCE, field)


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median throughput (of an even count the lower middle one): a measured run, not a blend."""
    ordered = sorted(runs, key=lambda r: r["rps"])
    return ordered[(len(ordered) - 1) // 2]


def field_line(field: str, rounds: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """The field's table line from its rounds (each {field: run, node: run}): its median round, with the
    rounds' ratios, their median and the reference's runs beside it."""
    each = [r[field]["rps"] / r[REFERENCE]["rps"] for r in rounds if r[REFERENCE]["rps"]]
    line = dict(median_run([r[field] for r in rounds]))
    line["ratios"] = each
    line["ratio"] = statistics.median(each) if each else 0.0
    line["node_rps"] = [r[REFERENCE]["rps"] for r in rounds]
    line["node_cpu_ms"] = statistics.median(r[REFERENCE]["cpu_ms"] for r in rounds)
    line["rounds"] = rounds
    return line


async def query_rounds(fields: list[str], rounds: int, measure: Measure,
                       before: Callable[[str], Awaitable[None]] | None = None,
                       show: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Every field of ``fields`` but the reference, ``rounds`` rounds each, each round the field and the reference
    back to back (``order``); ``before(field)`` once before a field's rounds (bench.mix: ANALYZE of what
    autovacuum would analyze). The reference's own line is the median of all its runs, its ratio 1."""
    out: list[dict[str, Any]] = []
    refs: list[dict[str, Any]] = []
    for field in (f for f in fields if f != REFERENCE):
        if before is not None:
            await before(field)
        got: list[dict[str, Any]] = []
        for n in range(rounds):
            pair = {}
            for which in order(field, n):
                pair[which] = await measure(which)
            got.append(pair)
            refs.append(pair[REFERENCE])
            show(f"  r{n + 1} {field}: {pair[field]['rps']:.0f} / node {pair[REFERENCE]['rps']:.0f} req/s "
                 f"→ {pair[field]['rps'] / pair[REFERENCE]['rps']:.2f}" if pair[REFERENCE]["rps"] else "")
        out.append(field_line(field, got))
        show(f"{field}: rounds {' '.join(f'{x:.2f}' for x in out[-1]['ratios'])} → median {out[-1]['ratio']:.2f}")
    if refs:
        out.insert(0, dict(median_run(refs)) | {"ratio": 1.0, "ratios": [], "node_rps": [r["rps"] for r in refs]})
    return out


def summary(lines: list[dict[str, Any]]) -> str:
    """The targets' reading (issue #21: the median root query field ≥ 0.8× node, the slowest ≥ 0.5×) over the
    fields' median ratios."""
    fields = sorted((r for r in lines if r.get("kind") == "query" and r["op"] != REFERENCE and "ratio" in r),
                    key=lambda r: r["ratio"])
    if not fields:
        return ""
    mid = statistics.median(r["ratio"] for r in fields)
    under = [f"{r['op']} {r['ratio']:.2f}" for r in fields if r["ratio"] < 0.5]
    return (f"query fields ÷ node, each field's median of its rounds: median **{mid:.2f}×** (target ≥ 0.8), "
            f"slowest {fields[0]['op']} **{fields[0]['ratio']:.2f}×** (target ≥ 0.5); under 0.5: "
            f"{', '.join(under) if under else 'none'}")
