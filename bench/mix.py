"""The portal mix (issue #21): every root query field and the 15 mutations portals send most, each
as the role that sends it, against the demo data on PostgreSQL.

    python -m bench.mix              # 3 s per query, 400 requests per mutation at concurrency 4 and 400 at 8
    python -m bench.mix --skip-queries --db mine   # the mutations alone, on a copy of one's own
    python -m bench.mix --quick      # under a minute
    python -m bench.mix --rounds 3 --duration 1.5 --skip-mutations   # each field beside node, 3 rounds

1. Creates `gongzhi_bench_mix` if it is missing (`gongzhi migrate`, `gongzhi seed-demo`; `--force`
   rebuilds it) — the demo's four street offices; the mix runs in `yanquan`.
2. Starts `gongzhi serve` (one process, as `gongzhi_bench_app`: owns no table, RLS applies; rate
   limit and the auto-close job off; GONGZHI_DEMO unset), server pinned to core 1 when possible.
3. Looks up the ids the operations need, checks every operation's answer (HTTP 200, no `errors`,
   the root field present; a mutation's payload `errors` empty), fails the run otherwise.
4. Drives each query for the duration at the concurrency (plain HTTP/1.1 keep-alive connections, one per
   worker, bench.mix_http: httpx cost the driver ≈ 0.8–0.95 ms of CPU per request on the server's machine;
   `--driver httpx` for the earlier client) — before each, ANALYZE of
   the tables autovacuum would analyze (this machine kind's PostgreSQL runs without it) — then each mutation
   phase (its requests built from the earlier phases' answers: the cases reported are accepted,
   dispatched, resolved, then given feedback), every answer checked. A mutation's phase starts with
   `--mutation-warmup` requests of its own kind (20; each on a row of its own, as the measured ones),
   unmeasured, as a query's run does: a process's first requests of a mutation pay what it keeps for
   the next ones — its check statement rendered for the actor's shape (a case step's: ≈ 40 ms of CPU),
   its statements prepared on each pooled connection — which in a phase of 100 was up to a third of
   the phase's CPU (reportCase 2.74 ms per request in 100, 1.52 in 1,000). The warm-up runs at the
   largest `--mutation-concurrency`, so the server's pool has grown to it before a line is measured (at 4,
   the first phase's line at 8 opened 4 connections: their start-up was its PostgreSQL time; each line
   prints its new backends). Then `--mutations` requests
   measured at each concurrency of `--mutation-concurrency` (4, the mix's, and 8, bench.compare's wrk),
   a line each, each request on a row of its own. 400 by default since 2026-12-07 (100 before): a phase
   of 100 at 600 req/s lasted 0.17 s, and one scheduling hiccup of the machine moved its line by a tenth
   (resolveCase at 8: 468 in one run, 738 in the next).
5. Prints one line per operation: req/s, p50/p99 latency, and the server's CPU ms per request —
   the CPU time of the server's threads (`/proc/<pid>/task/*/schedstat`, nanoseconds) over the
   run ÷ the requests, robust to other load on the machine — and the driver's own CPU per request (this
   process's CPU time ÷ the requests), and writes it to bench/results/.

The reference line is `node(id:)` of a case, the compiled path (one SQL statement). With `--rounds N`
(bench.mix_rounds) each field is measured beside it, back to back, N rounds, and its ratio is the median of the
rounds' ratios: a plain run's single reference line can fall in a slow minute of a machine whose speed moves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.compare import pinning, stop, wait_ready
from bench.fixture import JWT_SECRET
from bench.generate import APP_ROLE, create_database, dsn_for
from bench.mix_http import RawClient
from bench.mix_ops import LOOKUPS, MAY_BE_EMPTY, PARTNER, PARTNER_DESK, QUERIES, TENANT, Fail, Q, Ref
from bench.mix_rounds import query_rounds, summary

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Another name for a helper's own copy (a branch with a migration of its own must not move the shared one).
DB = os.environ.get("GONGZHI_BENCH_MIX_DB", "gongzhi_bench_mix")


# ---------------------------------------------------------------- database and server


def _env(db: str, owner: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGZHI_")}
    owner_url = dsn_for(db).replace("postgresql://", "postgresql+asyncpg://")
    env.update(
        {
            "GONGZHI_DATABASE_URL": owner_url if owner else f"postgresql+asyncpg://{APP_ROLE}@127.0.0.1:5432/{db}",
            "GONGZHI_MIGRATION_DATABASE_URL": owner_url,
            "GONGZHI_APP_DB_ROLE": APP_ROLE,
            "GONGZHI_JWT_SECRET": JWT_SECRET,
            "GONGZHI_RATE_LIMIT_PER_MINUTE": "0",
            "GONGZHI_AUTOCLOSE_INTERVAL": "0",
        }
    )
    return env


def _gongzhi(checkout: Path = ROOT) -> list[str]:
    exe = ROOT / ".venv" / "bin" / "gongzhi"
    if checkout != ROOT or not exe.exists():  # `-m` from the checkout: its code first on the path
        return [sys.executable, "-m", "gongzhi.cli"]
    return [str(exe)]


def prepare(db: str, force: bool) -> None:
    if asyncio.run(create_database(db, force)):
        for cmd in ("migrate", "seed-demo"):
            subprocess.run([*_gongzhi(), cmd], cwd=ROOT, env=_env(db, owner=True), check=True,
                           stdout=subprocess.DEVNULL)
    asyncio.run(_analyze(db))


async def _analyze(db: str) -> None:
    """Fresh statistics: every run adds cases, visits, wishes …; with the statistics of the seeded
    tables the compiled open-case list went past the 5 s statement timeout after a few runs."""
    conn = await asyncpg.connect(dsn_for(db))
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


# autovacuum's own rule for ANALYZE (50 rows + 10 % of the table changed since the last one). This machine kind's
# PostgreSQL runs with autovacuum off (/etc/postgresql/15/main/conf.d/90-ci.conf), so the tables a run grows
# kept the statistics of the freshly seeded database: after persons and households had written ≈ 1,600 full
# reads (50,000 of their ids), personalDataReport's plan still took the log of full reads for one row and read
# all 1,619 of them instead of the person's 0 (6.9 ms of PostgreSQL per report, 2026-12-06). Production runs
# autovacuum; the bench does its part before each query's run.
_STALE = """SELECT format('%I.%I', s.schemaname, s.relname)
  FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
 WHERE s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)"""


async def analyze_stale(db: str) -> list[str]:
    """ANALYZE what autovacuum would analyze now; the tables' names."""
    conn = await asyncpg.connect(dsn_for(db))
    try:
        tables = [r[0] for r in await conn.fetch(_STALE)]
        for t in tables:
            await conn.execute(f"ANALYZE {t}")
        return tables
    finally:
        await conn.close()


def start_server(db: str, port: int, prefix: list[str], checkout: Path = ROOT) -> subprocess.Popen[bytes]:
    log = (Path(tempfile.gettempdir()) / "bench-mix-gongzhi.log").open("wb")
    return subprocess.Popen(
        [*prefix, *_gongzhi(checkout), "serve", "--port", str(port)],
        cwd=checkout,
        env=_env(db),
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


async def pg_cpu_ns(db: str) -> dict[int, int]:
    """CPU nanoseconds so far of each backend of the app role on ``db`` (the bench's server's pool and its LISTEN
    connection: the database is the run's own), from /proc/<pid>/schedstat — PostgreSQL on this machine; {} else."""
    conn = await asyncpg.connect(dsn_for(db))
    try:
        pids = [r[0] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND usename = $2", db, APP_ROLE)]
    finally:
        await conn.close()
    return _schedstat(pids)


def _schedstat(pids: list[int]) -> dict[int, int]:
    out = {}
    for pid in pids:
        try:
            out[pid] = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):  # ended, or PostgreSQL is on another machine
            continue
    return out


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of the process, in nanoseconds (schedstat's first field)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            pass
    return total


async def tokens(db: str) -> dict[str, str]:
    """A bearer token for every user of the demo (their tenant: their name's prefix), and two partner clients'
    tokens of the tenant: the first client made (``PARTNER``) and one whose unit handles cases (``PARTNER_DESK``)."""
    from gongzhi.http.auth import issue_dev_token, issue_partner_token
    from gongzhi.settings import Settings

    settings = Settings(jwt_secret=JWT_SECRET)
    conn = await asyncpg.connect(dsn_for(db))
    try:
        await conn.execute("SET app.tenant_id = ''")
        tid = await conn.fetchval("SELECT id FROM tenants WHERE slug = $1", TENANT)
        users = await conn.fetch(
            "SELECT DISTINCT u.id, u.username FROM users u JOIN role_assignments r ON r.user_id = u.id"
        )
        clients = await conn.fetch(  # the first client made, and the one of a unit cases are dispatched to
            "SELECT p.client_id, p.user_id, (SELECT count(*) FROM cases c WHERE c.tenant_id = p.tenant_id "
            "AND c.handler_partner_id = p.partner_unit_id) AS handled FROM partner_clients p "
            "WHERE p.tenant_id = $1 AND p.revoked_at IS NULL ORDER BY p.id",
            tid,
        )
    finally:
        await conn.close()
    out = {
        u["username"]: issue_dev_token(
            settings,
            user_id=u["id"],
            username=u["username"],
            tenants=[u["username"].split(".")[0]],
            ttl=timedelta(hours=6),
        )
        for u in users
    }
    if clients:
        desk = max(clients, key=lambda c: c["handled"])  # the first such client on a tie (max keeps the first)
        for actor, client in ((PARTNER, clients[0]), (PARTNER_DESK, desk)):
            out[actor] = issue_partner_token(
                settings, user_id=client["user_id"], client_id=client["client_id"], tenant=TENANT,
                ttl=timedelta(hours=6),
            )
    return out


# ---------------------------------------------------------------- requests and checks


def body(document: str, variables: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"query": document, "variables": variables or {}}, ensure_ascii=False).encode()


class Client:
    def __init__(self, url: str, tokens: dict[str, str], raw: RawClient | None = None) -> None:
        self.url, self.tokens = url, tokens
        self.http = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64))
        self.raw = raw  # the measured runs' driver (bench.mix_http) unless --driver httpx
        self.db: str | None = None  # the run's database: PostgreSQL's CPU per request read from its backends

    def headers(self, actor: str) -> dict[str, str]:
        if actor not in self.tokens:
            raise Fail(f"no user {actor!r} in tenant {TENANT}")
        return {
            "authorization": f"Bearer {self.tokens[actor]}",
            "content-type": "application/json",
            "accept": "application/json",
        }

    async def post(self, actor: str, payload: bytes) -> dict[str, Any]:
        r = await self.http.post(self.url, content=payload, headers=self.headers(actor))
        doc: dict[str, Any] = r.json()
        if r.status_code != 200 or doc.get("errors"):
            raise Fail(f"{actor}: HTTP {r.status_code}: {json.dumps(doc, ensure_ascii=False)[:600]}")
        return doc["data"]

    async def gql(self, actor: str, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.post(actor, body(document, variables))


def dig(data: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        data = data[p]
    return data


def resolve(value: Any, found: dict[str, Any]) -> Any:
    if isinstance(value, Ref):
        return found[value.name]
    if isinstance(value, list):
        return [resolve(v, found) for v in value]
    return value


def rows(answer: Any) -> int:
    """How many rows an answer carries (a connection's nodes, a list's items, 1 for an object)."""
    if answer is None:
        return 0
    if isinstance(answer, list):
        return len(answer)
    if isinstance(answer, dict) and isinstance(answer.get("nodes"), list):
        return len(answer["nodes"])
    return 1


def check_query(name: str, data: dict[str, Any]) -> int:
    if name not in data:
        raise Fail(f"{name}: no {name} in the answer")
    return rows(data[name])


def check_payload(name: str, data: dict[str, Any]) -> dict[str, Any]:
    payload = data.get(name)
    if not isinstance(payload, dict):
        raise Fail(f"{name}: no payload")
    if payload.get("errors"):
        raise Fail(f"{name}: {json.dumps(payload['errors'], ensure_ascii=False)}")
    return payload


# ---------------------------------------------------------------- driving


class Stats:
    def __init__(self, name: str) -> None:
        self.name = name
        self.lat: list[float] = []
        self.seconds = 0.0
        self.cpu_ms = 0.0
        self.driver_ms = 0.0  # this process's CPU (the driver's) over the run
        self.pg_ms = 0.0  # PostgreSQL's: the app role's backends on the run's database
        self.new_backends = 0  # of them, started during the run (their start-up counted in pg_ms)
        self.rows = 0

    def line(self) -> dict[str, Any]:
        n = len(self.lat)
        lat = sorted(self.lat)

        def pct(p: float) -> float:
            return lat[min(n - 1, int(p * n))] * 1000 if n else 0.0

        return {
            "op": self.name,
            "requests": n,
            "rps": n / self.seconds if self.seconds else 0.0,
            "p50": pct(0.5),
            "p99": pct(0.99),
            "cpu_ms": self.cpu_ms / n if n else 0.0,
            "driver_ms": self.driver_ms / n if n else 0.0,
            "pg_ms": self.pg_ms / n if n else 0.0,
            "new_backends": self.new_backends,
            "rows": self.rows,
        }


async def drive(
    client: Client,
    pid: int,
    stats: Stats,
    requests: list[tuple[str, bytes]],
    concurrency: int,
    duration: float | None,
    check: Any,
) -> list[dict[str, Any]]:
    """Sends the requests (cycled until the duration ends, or each once without one) at the
    concurrency; every answer checked; the server's CPU over the run."""
    answers: list[Any] = [None] * len(requests) if duration is None else []
    it = iter(range(len(requests))) if duration is None else None
    counter = [0]
    deadline = [0.0]

    def next_request() -> int | None:
        if it is not None:
            return next(it, None)
        if time.perf_counter() >= deadline[0]:
            return None
        counter[0] += 1
        return counter[0] % len(requests)

    async def worker(post: Any) -> None:
        while (i := next_request()) is not None:
            t0 = time.perf_counter()
            data = await post(*requests[i])
            stats.lat.append(time.perf_counter() - t0)
            if it is not None:
                answers[i] = check(data)  # in the order of the requests
            else:
                check(data)

    # one connection per worker, made before the clock starts (bench.mix_http), or the httpx client's pool
    conns = [await client.raw.connect() for _ in range(concurrency)] if client.raw else []
    posts = [c.post for c in conns] or [client.post] * concurrency
    pg0 = await pg_cpu_ns(client.db) if client.db else {}
    cpu0, own0, t0 = cpu_ns(pid), time.process_time(), time.perf_counter()
    deadline[0] = t0 + (duration or 0)
    tasks = [asyncio.create_task(worker(post)) for post in posts]
    try:
        await asyncio.gather(*tasks)
    finally:  # a failed answer ends the run: the other workers stopped, not left reading
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stats.seconds = time.perf_counter() - t0
        stats.cpu_ms = (cpu_ns(pid) - cpu0) / 1e6
        stats.driver_ms = (time.process_time() - own0) * 1000
        for c in conns:
            await c.close()
    if client.db:  # a backend that started during the run counts from zero (its start-up is the run's)
        pg1 = await pg_cpu_ns(client.db)
        stats.pg_ms = sum(ns - pg0.get(pid, 0) for pid, ns in pg1.items()) / 1e6
        stats.new_backends = len(pg1.keys() - pg0.keys())
    return answers


async def run_queries(
    client: Client, pid: int, args: argparse.Namespace, found: dict[str, Any], names: list[str]
) -> list[dict[str, Any]]:
    out = []
    payloads = {
        n: body(QUERIES[n].document, {k: resolve(v, found) for k, v in QUERIES[n].variables.items()}) for n in names
    }
    first: dict[str, int] = {}
    failed = []
    for name in names:  # every answer checked before anything is measured
        try:
            first[name] = check_query(name, await client.post(QUERIES[name].actor, payloads[name]))
        except Fail as e:
            failed.append(f"{name}: {e}")
            continue
        if first[name] == 0 and name not in MAY_BE_EMPTY:
            failed.append(
                f"{name}: empty answer as {QUERIES[name].actor}: add it to MAY_BE_EMPTY or pick another actor"
            )
    if failed:
        raise Fail("\n".join(failed))

    async def measure(name: str) -> dict[str, Any]:
        q: Q = QUERIES[name]
        payload = payloads[name]
        stats = Stats(name)
        stats.rows = first[name]
        for _ in range(args.warmup):
            await client.post(q.actor, payload)
        await drive(client, pid, stats, [(q.actor, payload)], args.concurrency, args.duration,
                    lambda d, name=name: check_query(name, d))
        return stats.line() | {"actor": q.actor, "kind": "query", "c": args.concurrency}

    async def stale(_name: str) -> None:
        await analyze_stale(args.db)

    if args.rounds > 1:  # each field beside the reference, back to back (bench.mix_rounds)
        out = await query_rounds(names, args.rounds, measure, stale, lambda t: print(t, flush=True))
        for line in out:
            print(_fmt(line), flush=True)
        return out
    for name in names:
        await stale(name)
        out.append(await measure(name))
        print(_fmt(out[-1]), flush=True)
    return out


def _fmt(r: dict[str, Any]) -> str:
    return (
        f"{r['op']:<22} {r['actor']:<18} c{r.get('c', '?'):<2} {r['rps']:>8.1f} req/s  p50 {r['p50']:>6.1f}  "
        f"p99 {r['p99']:>6.1f} ms  CPU {r['cpu_ms']:>5.2f} ms/req  PG {r.get('pg_ms', 0):>5.2f}  "
        f"driver {r.get('driver_ms', 0):>5.2f}  "
        f"rows {r['rows']}  (n={r['requests']})"
        + (f"  new backends {r['new_backends']}" if r.get("new_backends") else "")
    )


async def lookups(client: Client) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, (actor, query, path) in LOOKUPS.items():
        try:
            data = await client.gql(actor, query)
            found[name] = path(data) if callable(path) else dig(data, path)
        except (KeyError, IndexError, TypeError, StopIteration) as e:
            raise Fail(f"lookup {name}: nothing at {path}") from e
    return found


def table(results: list[dict[str, Any]], args: argparse.Namespace, note: str) -> str:
    ref = next((r for r in results if r["op"] == "node"), None)
    conc = ", ".join(map(str, args.mutation_concurrency))
    lines = [
        f"# bench.mix {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"queries at concurrency {args.concurrency}, {args.duration or 'one pass'} s each"
        f"{f', {args.rounds} rounds beside node (order swapped each round)' if args.rounds > 1 else ''}; "
        f"{args.mutations} requests per mutation at each concurrency of {conc} (after {args.mutation_warmup} "
        f"unmeasured); driver {args.driver}; {note}; machine: {os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.1f}",
        "",
        "| operation | actor | c | req/s | ÷ node | p50 ms | p99 ms | server CPU ms/req | PostgreSQL CPU ms/req "
        "| driver CPU ms/req | rows |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        # in rounds: the median of the field's back-to-back ratios, each round's in brackets (bench.mix_rounds)
        ratio = r["ratio"] if "ratio" in r else r["rps"] / ref["rps"] if ref else 0.0
        each = f" ({' '.join(f'{x:.2f}' for x in r['ratios'])})" if r.get("ratios") else ""
        lines.append(
            f"| {r['op']}{' (reference, compiled)' if r is ref else ''}"
            f"{' (set-up, general path)' if r['kind'] == 'general path' else ''} | {r['actor']} | {r['c']} | "
            f"{r['rps']:.1f} | "
            f"{ratio:.2f}{each} | {r['p50']:.1f} | {r['p99']:.1f} | {r['cpu_ms']:.2f} | {r['pg_ms']:.2f} | "
            f"{r['driver_ms']:.2f} | {r['rows']} |"
        )
    if args.rounds > 1:
        lines.append("\n" + summary(results))
    qs = sorted(r["cpu_ms"] for r in results if r["kind"] == "query")
    if qs and ref:
        lines.append(
            f"\nqueries: median CPU {qs[len(qs) // 2]:.2f} ms/req, max {qs[-1]:.2f}; reference node {ref['cpu_ms']:.2f}"
        )
    for c in args.mutation_concurrency:
        ms = [r for r in results if r["kind"] == "mutation" and r["c"] == c]
        if ms:
            cpu, rps = sorted(r["cpu_ms"] for r in ms), sorted(r["rps"] for r in ms)
            lines.append(f"mutations at {c}: median CPU {cpu[len(cpu) // 2]:.2f} ms/req, max {cpu[-1]:.2f}; "
                         f"req/s min {rps[0]:.1f}, median {rps[len(rps) // 2]:.1f}")
    return "\n".join(lines) + "\n"


async def main_async(args: argparse.Namespace) -> int:
    from bench.mix_writes import run_mutations, set_up
    from gongzhi.modules import schema

    roots = list(schema()._schema.query_type.fields)
    missing = [f for f in roots if f not in QUERIES]
    if missing:
        raise Fail(f"root query fields without an entry in bench/mix_ops.py QUERIES: {', '.join(missing)}")
    from graphql import parse, validate

    invalid = {n: [e.message for e in validate(schema()._schema, parse(q.document))] for n, q in QUERIES.items()}
    invalid = {n: e for n, e in invalid.items() if e}
    if invalid:
        raise Fail(f"invalid documents: {invalid}")
    names = roots if not args.only else [n for n in roots if n in args.only]
    server_pin, _driver_pin, note = pinning()
    note = note.replace("driver to core 0", "driver (this process) unpinned")  # the mix's driver is not pinned
    checkout = Path(args.checkout).resolve()  # noqa: ASYNC240 (once, before the server starts)
    toks = await tokens(args.db)
    proc = start_server(args.db, args.port, server_pin, checkout)
    try:
        ready = wait_ready(f"http://127.0.0.1:{args.port}/readyz", proc)
        print(f"server ready in {ready:.2f} s ({note})", flush=True)
        raw = RawClient("127.0.0.1", args.port, "/graphql", toks) if args.driver == "raw" else None
        client = Client(f"http://127.0.0.1:{args.port}/graphql", toks, raw)
        client.db = args.db
        found = await lookups(client)
        await set_up(client, found)
        results = []
        if "node" not in names:
            names = ["node", *names]
        if not args.skip_queries:
            results += await run_queries(client, proc.pid, args, found, names)
        if not args.skip_mutations:
            results += await run_mutations(client, proc.pid, args, found)
        await client.http.aclose()
    finally:
        stop(proc)
    text = table(results, args, note)
    print("\n" + text)
    out = HERE / "results" / f"mix-{datetime.now(UTC):%Y%m%dT%H%MZ}"
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.mix", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="0.3 s per query, 10 requests per mutation")
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per query")
    ap.add_argument("--mutations", type=int, default=400, help="requests per mutation at each concurrency "
                    "(100 in runs before 2026-12-07)")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--mutation-concurrency", type=int, nargs="+", default=[4, 8], help="each mutation's measured "
                    "requests at each of these concurrencies, one line each (4: the mix's; 8: bench.compare's wrk)")
    ap.add_argument("--driver", choices=("raw", "httpx"), default="raw", help="the measured requests' client: "
                    "plain HTTP/1.1 connections (bench.mix_http) or, as runs before 2026-12-06T10Z, httpx")
    ap.add_argument("--warmup", type=int, default=20, help="requests before each query's measured run")
    ap.add_argument("--mutation-warmup", type=int, default=20, help="requests of each mutation before its "
                    "measured ones, unmeasured (0: every request measured, as runs before 2026-12-06T07Z)")
    ap.add_argument("--port", type=int, default=8391)
    ap.add_argument("--db", default=DB)
    ap.add_argument(
        "--checkout",
        default=str(ROOT),
        help="serve the code of this checkout (a `git worktree` of "
        "another commit, to measure before and after back to back); the bench's own code drives it",
    )
    ap.add_argument("--force", action="store_true", help="rebuild the demo database")
    ap.add_argument("--rounds", type=int, default=1, help="each query field measured beside the node reference, "
                    "back to back, this many rounds (order swapped each round); its ratio the median of the rounds' "
                    "(bench.mix_rounds: for a machine whose speed moves between minutes)")
    ap.add_argument("--only", nargs="*", help="these query fields (and the reference line) only")
    ap.add_argument("--skip-queries", action="store_true")
    ap.add_argument("--skip-mutations", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.duration, args.mutations, args.warmup, args.mutation_warmup = 0.3, 10, 3, 3
    prepare(args.db, args.force)
    try:
        return asyncio.run(main_async(args))
    except Fail as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
