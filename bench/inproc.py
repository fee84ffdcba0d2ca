"""Server CPU per request in-process (issue #21): the ASGI app called directly — no network, no client
library, no other process — on the portal mix's database, one operation N times, ``time.process_time()``
of the process ÷ N (the driver's work included; PostgreSQL's not). For A/B steps: run it from this
checkout against another one's code, alternating, and compare means.

    python -m bench.inproc me 500                          # a root query field of bench/mix_ops.py
    python -m bench.inproc reportCase 300                  # a report as yanquan.resident (new key each)
    python -m bench.inproc reportCase 1 --sql              # the statements of one request
    GONGZHI_BENCH_MIX_DB=gongzhi_bench_s0_1 python -m bench.inproc op4 800 --pg-cpu   # bench.compare's op 4
    GONGZHI_BENCH_MIX_DB=<a copy of gongzhi_bench_s1> python -m bench.inproc op3 600 --pg-cpu   # op1 … op5 alike
    BENCH_OP_ACTOR=bench.firm GONGZHI_BENCH_MIX_DB=gongzhi_bench_s0_1 python -m bench.inproc op1 1 --explain  # as X
    BENCH_OP_ACTOR=bench.grid BENCH_DOC='query … ' BENCH_VARS='{…}' GONGZHI_BENCH_MIX_DB=gongzhi_bench_s0_1 \
        python -m bench.inproc doc 1 --explain                 # any document as a bench.compare actor
    python -m bench.inproc cases 1 --explain               # EXPLAIN (ANALYZE, BUFFERS) of each, in the request
    python -m bench.inproc caseLoop 100                    # report, accept, dispatch, start, resolve, feedback
    python -m bench.inproc publishNotice 300               # a notice as yanquan.chair (an insert, audited)
    python -m bench.inproc markNotificationsRead 300       # five of the secretary's notifications (read already)
    python -m bench.inproc markNoneRead 300                # no notification: a mutation's fixed cost alone
    python -m bench.inproc refusedNotice 300               # publishNotice refused at once (an empty title)
    python -m bench.inproc castBallot 300                  # the mix's other mutations: bench/inproc_writes.py
    python -m bench.inproc acceptCase 300                  # the case steps (accept, dispatch, resolve,
                                                           # giveCaseFeedback): bench/inproc_steps.py
    python -m bench.inproc castBallot 300 --actors 16      # as 16 owners in turn, as bench.mix sends it
    python -m bench.inproc castBallot 300 --actors 16 --churn   # each request as its actor's first in the process
    python -m bench.inproc me 500 --checkout /tmp/other    # another checkout's code, this driver
    python -m bench.inproc me 500 --profile /tmp/me.prof   # cProfile (process time) of the measured loop
    python -m bench.inproc personalDataReport 300 --pg-cpu  # PostgreSQL's CPU per request too (local server)
    python -m bench.inproc me 500 --no-analyze             # without ANALYZE first of what autovacuum would
    python -m bench.inproc all 0 --cold                    # start-up to ready, then every field's first request
                                                           # (wall and CPU time; peak RSS after them)

Needs `gongzhi_bench_mix` (``python -m bench.mix`` creates it); before the warm-up, ANALYZE of the tables
autovacuum would analyze, as bench.mix does before each query's run (``--no-analyze``: none). The event
loop is uvloop's, as ``gongzhi serve`` runs it; the log level WARNING (no access log line). The answers are
checked (no ``errors``; a report's payload errors empty).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORT = ("mutation R($input: ReportCaseInput!) { reportCase(input: $input) { case { id number state dueAt version } "
          "errors { code message field } } }")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("operation", help="a key of bench/mix_ops.py QUERIES, reportCase, op1 … op5 (bench.compare's "
                    "operations as its driver sends them), or caseLoop (six mutations of one case; per loop)")
    ap.add_argument("requests", type=int)
    ap.add_argument("--checkout", type=Path, default=ROOT, help="serve this checkout's code")
    ap.add_argument("--sql", action="store_true", help="print the statements of one request first")
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS, SETTINGS) of each "
                    "statement of one request first, run in the request's own transaction (role, RLS, settings)")
    ap.add_argument("--profile", help="write a cProfile (process time) of the measured requests here")
    ap.add_argument("--pg-cpu", action="store_true", help="also PostgreSQL's CPU per request: the app role's "
                    "backends on the bench database, from /proc/<pid>/schedstat (the server on this machine), "
                    "over the measured requests — robust to other load, as the process time is")
    ap.add_argument("--actors", type=int, default=1, help="castBallot, signUpForActivity, checkInActivity, "
                    "requestRedemption: as this many owners in turn (bench.mix sends them as 16), not one")
    ap.add_argument("--churn", action="store_true", help="before each request, drop what the process keeps for "
                    "its actor alone (prepared texts and predicates keyed by the user): each request is as its "
                    "actor's first, as for the owners of a street office (thousands, a ballot now and then)")
    ap.add_argument("--no-analyze", action="store_true", help="do not ANALYZE first the tables autovacuum would "
                    "(bench.mix does, before each query's run: this machine kind's PostgreSQL runs without autovacuum)")
    ap.add_argument("--cold", action="store_true", help="time start-up (imports, app, lifespan) and the first "
                    "request of every root query field of bench/mix_ops.py, once each, in a fresh process")
    args = ap.parse_args()
    args.t0 = time.perf_counter()
    args.cpu0 = time.process_time()
    checkout = args.checkout.resolve()
    sys.path.insert(0, str(checkout))
    for name in [m for m in sys.modules if m.split(".")[0] in {"bench", "gongzhi", "compiled", "schema",
                                                                 "resolvers", "policies", "tenants", "models"}]:
        del sys.modules[name]  # this module's own imports came from ROOT: the checkout's code from here on
    os.chdir(checkout)
    from bench import mix

    for k, v in mix._env(mix.DB).items():
        os.environ[k] = v
    os.environ["GONGZHI_LOG_LEVEL"] = "WARNING"  # no access log line per request on the terminal
    import uvloop

    uvloop.run(_run(args, mix))


async def _run(args: argparse.Namespace, mix: Any) -> None:
    from bench import inproc_steps, inproc_writes
    from bench.mix_ops import LOOKUPS, QUERIES, Ref
    from gongzhi.http.app import create_app
    from gongzhi.settings import Settings

    minting, minting_cpu = time.perf_counter(), time.process_time()
    tokens = await mix.tokens(mix.DB)
    # the bench's own work: not the server's start-up
    minting, minting_cpu = time.perf_counter() - minting, time.process_time() - minting_cpu
    app = create_app(Settings.from_env())
    if args.cold:
        await _lifespan_started(app)
        ready = time.perf_counter() - args.t0 - minting
        ready_cpu = time.process_time() - args.cpu0 - minting_cpu

    async def call(actor: str, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        payload = json.dumps({"query": document, "variables": variables}, ensure_ascii=False).encode()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "root_path": "", "query_string": b"",
                 "headers": [(b"authorization", f"Bearer {tokens[actor]}".encode()),
                             (b"content-type", b"application/json"), (b"accept", b"application/json"),
                             (b"content-length", str(len(payload)).encode())],
                 "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8000)}
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": payload, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        body: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        await app(scope, receive, send)
        doc: dict[str, Any] = json.loads(b"".join(body))
        if doc.get("errors"):
            raise SystemExit(f"{actor}: {json.dumps(doc, ensure_ascii=False)[:600]}")
        data: dict[str, Any] = doc["data"]
        for key in (args.operation, "reportCase"):
            if key in data and isinstance(data[key], dict) and data[key].get("errors"):
                raise SystemExit(f"{key}: {data[key]['errors']}")
        return data

    found: dict[str, Any] = {}

    async def value(v: Any) -> Any:
        if isinstance(v, Ref):
            if v.name not in found:
                actor, document, path = LOOKUPS[v.name]
                d = await call(actor, document, {})
                found[v.name] = path(d) if callable(path) else mix.dig(d, path)
            return found[v.name]
        if isinstance(v, list):
            return [await value(x) for x in v]
        return v

    if args.cold:
        firsts = {}
        firsts_cpu = time.process_time()
        for name, q in QUERIES.items():
            variables = {k: await value(v) for k, v in q.variables.items()}
            began = time.perf_counter()
            await call(q.actor, q.document, variables)
            firsts[name] = time.perf_counter() - began
        firsts_cpu = time.process_time() - firsts_cpu
        slowest = max(firsts, key=lambda n: firsts[n])
        print(f"start-up to ready {ready:.2f} s (imports, app, lifespan; CPU {ready_cpu:.2f} s); first request of "
              f"{len(firsts)} root query fields: {sum(firsts.values()):.2f} s in all (CPU {firsts_cpu:.2f} s), "
              f"slowest {slowest} {firsts[slowest] * 1000:.0f} ms; all done "
              f"{time.perf_counter() - args.t0 - minting:.2f} s; peak RSS {_peak_rss_mb()}")
        await app.state.gongzhi.engine.dispose()
        return
    make: Callable[[], tuple[str, str, dict[str, Any]]]
    step: Callable[[], Awaitable[Any]] | None = None
    if args.operation == "caseLoop":
        building = await value(Ref("reporter_building"))
        community = await value(Ref("community"))
        category = (await call("yanquan.resident", "{ caseCategories { code } }", {}))["caseCategories"][0]["code"]

        async def step() -> None:
            d = await call("yanquan.resident", REPORT, {"input": {
                "areaId": building, "category": category, "priority": "NORMAL", "title": "楼道灯不亮",
                "description": "三单元二楼楼道灯坏了。", "idempotencyKey": uuid.uuid4().hex}})
            case_id = d["reportCase"]["case"]["id"]
            for actor, name, input_type, extra in (
                    ("yanquan.grid", "acceptCase", "CaseTransitionInput", {"note": "已受理"}),
                    ("yanquan.grid", "dispatchCase", "DispatchCaseInput",
                     {"handlerKind": "COMMUNITY", "communityId": community, "note": "社区处理"}),
                    ("yanquan.grid", "startCase", "CaseTransitionInput", {}),
                    ("yanquan.grid", "resolveCase", "ResolveCaseInput", {"resolution": "已更换灯泡。"}),
                    ("yanquan.resident", "giveCaseFeedback", "CaseFeedbackInput",
                     {"satisfied": True, "comment": "很及时", "idempotencyKey": uuid.uuid4().hex})):
                doc = (f"mutation M($input: {input_type}!) {{ {name}(input: $input) {{ case {{ id state version }} "
                       "errors { code message field } } }")
                d = await call(actor, doc, {"input": {"id": case_id, **extra}})
                if d[name]["errors"]:
                    raise SystemExit(f"{name}: {d[name]['errors']}")
    elif (op_name := compare_op(args.operation)) is not None:  # bench.compare's op as its driver sends it
        import random  # (GONGZHI_BENCH_MIX_DB=gongzhi_bench_s0_1 or a copy of another scale's)

        from bench.fixture import ACTOR_OF, load_fixture
        from bench.generate import dsn_for

        fx = await load_fixture(dsn_for(mix.DB))
        op_actor = os.environ.get("BENCH_OP_ACTOR") or ACTOR_OF[op_name]  # e.g. op1 as bench.firm
        tokens[op_actor] = fx.actors[op_actor].token
        op_doc, rng = fx.document("gongzhi", op_name), random.Random(7)

        def make() -> tuple[str, str, dict[str, Any]]:
            # The areas in the same order every run; a new idempotency key each (the seeded generator's keys are
            # the same every run: from the second run on, every request was a retry the general path answered).
            variables = fx.variables("gongzhi", op_name, rng)
            if "input" in variables:
                variables["input"]["idempotencyKey"] = uuid.uuid4().hex
            return (op_actor, op_doc, variables)
    elif args.operation == "doc":  # any document as a bench.compare actor (BENCH_DOC, BENCH_VARS: JSON)
        from bench.fixture import load_fixture
        from bench.generate import dsn_for

        fx = await load_fixture(dsn_for(mix.DB))
        op_actor = os.environ["BENCH_OP_ACTOR"]
        tokens[op_actor] = fx.actors[op_actor].token
        doc_vars = (op_actor, os.environ["BENCH_DOC"], json.loads(os.environ.get("BENCH_VARS", "{}")))

        def make() -> tuple[str, str, dict[str, Any]]:
            return doc_vars
    elif args.operation == "reportCase":
        building = await value(Ref("reporter_building"))
        category = (await call("yanquan.resident", "{ caseCategories { code } }", {}))["caseCategories"][0]["code"]

        def make() -> tuple[str, str, dict[str, Any]]:
            return ("yanquan.resident", REPORT, {"input": {
                "areaId": building, "category": category, "priority": "NORMAL", "title": "楼道灯不亮",
                "description": "三单元二楼楼道灯坏了。", "idempotencyKey": uuid.uuid4().hex}})
    elif args.operation == "publishNotice":
        compound = await value(Ref("resident_compound"))
        doc = ("mutation N($input: PublishNoticeInput!) { publishNotice(input: $input) { notice { id } "
               "errors { code message field } } }")

        def make() -> tuple[str, str, dict[str, Any]]:
            return ("yanquan.chair", doc, {"input": {"areaId": compound, "title": "停水通知",
                                                     "body": "周六上午九点至十二点停水。"}})
    elif args.operation == "refusedNotice":  # refused at once (an empty title: INVALID), its audit entry written
        compound = await value(Ref("resident_compound"))
        doc = ("mutation N($input: PublishNoticeInput!) { publishNotice(input: $input) { notice { id } "
               "errors { code message field } } }")

        def make() -> tuple[str, str, dict[str, Any]]:
            return ("yanquan.chair", doc, {"input": {"areaId": compound, "title": "", "body": "周六停水。"}})
    elif args.operation in ("markNotificationsRead", "markNoneRead"):  # already read after the first: the check
        # and no write; markNoneRead marks an empty list: a mutation's fixed cost alone (savepoint, audit, commit)
        inbox = await call("yanquan.secretary", "{ notifications(unreadOnly: false, first: 20) { nodes { id } } }", {})
        ids = [x["id"] for x in inbox["notifications"]["nodes"]][:5] if args.operation != "markNoneRead" else []
        doc = "mutation K($ids: [ID!]!) { markNotificationsRead(input: {ids: $ids}) { marked errors { code } } }"

        def make() -> tuple[str, str, dict[str, Any]]:
            return ("yanquan.secretary", doc, {"ids": ids})
    elif args.operation in inproc_writes.NAMES:
        make = await inproc_writes.operation(args.operation, args.requests, call, value, Ref, args.actors)
    elif args.operation in inproc_steps.NAMES:
        make = await inproc_steps.operation(args.operation, args.requests, call, value, Ref)
    else:
        q = QUERIES[args.operation]
        variables = {k: await value(v) for k, v in q.variables.items()}

        def make() -> tuple[str, str, dict[str, Any]]:
            return (q.actor, q.document, variables)
    if step is None:
        forget = await _forgetting(mix) if args.churn else None

        async def step() -> None:
            request = make()
            if forget is not None:
                forget(request[0])
            await call(*request)

    if not args.no_analyze:
        analyzed = await fresh_statistics(mix)
        if analyzed:
            print(f"ANALYZE (as autovacuum would): {', '.join(analyzed)}", file=sys.stderr)
    for _ in range(max(20, args.requests // 10)):  # warm-up: plans, policies, caches
        await step()
    if args.sql:
        from tenants.session import count_statements

        with count_statements() as statements:
            await step()
        for s in statements:
            print("  " + " ".join(s.split())[:int(os.environ.get("BENCH_SQL_WIDTH", "200"))])
        print(f"{len(statements)} statements (BEGIN and COMMIT not counted)")
    if args.explain:
        await _explain(step)
    profile = cProfile.Profile(time.process_time) if args.profile else None
    backends = await _backend_cpu(mix) if args.pg_cpu else {}
    started = time.process_time()
    if profile is not None:
        profile.enable()
    for _ in range(args.requests):
        await step()
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)
    spent = time.process_time() - started
    per = spent / args.requests * 1000
    pg = ""
    if args.pg_cpu:
        after = await _backend_cpu(mix)
        pg_ns = sum(ns - backends.get(pid, 0) for pid, ns in after.items())
        pg = f", PostgreSQL {pg_ns / 1e6 / args.requests:.3f} ms CPU/request ({len(after)} backends)"
    print(f"{args.operation} ({args.checkout}): {args.requests} requests, {per:.3f} ms CPU/request{pg}")
    await app.state.gongzhi.engine.dispose()


async def fresh_statistics(mix: Any) -> list[str]:
    """ANALYZE of the bench database's tables autovacuum would analyze now (``bench.mix.analyze_stale``), as
    bench.mix does before each query's run, so the plans measured here are the ones it measures (issue #21:
    on a copy of a freshly built mix database, whose audit log was analyzed empty, the data subject's report
    took the tenant's whole audit log for its person's full reads — 2.7 ms of PostgreSQL per report here
    against 1.1 after ANALYZE, bench/RESULTS.md h-reads tenth). The tables' names."""
    stale: list[str] = await mix.analyze_stale(mix.DB)
    return stale


def compare_op(operation: str) -> str | None:
    """bench.compare's operation that ``op1`` … ``op5`` name (``op1`` → ``op1_case_list``), else None."""
    from bench.fixture import OPS

    return next((o for o in OPS if o.split("_", 1)[0] == operation), None)


async def _backend_cpu(mix: Any) -> dict[int, int]:
    """CPU nanoseconds so far of each backend of the app role on the bench database that serves this process
    (a backend that started during the measured requests counts from zero: its connection's start-up is the
    request's)."""
    import asyncpg

    from bench.generate import APP_ROLE, dsn_for

    conn = await asyncpg.connect(dsn_for(mix.DB))
    try:
        pids = [r[0] for r in await conn.fetch("SELECT pid, client_port FROM pg_stat_activity WHERE datname = $1 "
                                               "AND usename = $2", mix.DB, APP_ROLE) if r[1] in _own_ports()]
    finally:
        await conn.close()
    return _schedstat(pids)


def _own_ports() -> set[int]:
    """The local TCP ports of this process's sockets: its backends, not another process's on the same database."""
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[9] in inodes:
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def _schedstat(pids: list[int]) -> dict[int, int]:
    out = {}
    for pid in pids:
        try:
            out[pid] = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        except OSError:  # ended, or PostgreSQL is not on this machine
            continue
    return out


async def _plan_counts(connection: Any, sql: str, lines: list[str]) -> None:
    """How often this connection's prepared statement was planned generic / custom (after the warm-up)."""
    counts = await connection.fetchrow("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                                       "WHERE statement = $1", sql)
    if counts is not None:
        lines.append(f"(this connection: {counts[0]} generic plans, {counts[1]} custom plans)")


async def _explain(step: Callable[[], Awaitable[Any]]) -> None:
    """One request with every statement explained just before it runs, on its connection and in its
    transaction: the plans PostgreSQL uses for the request (JIT, RLS and the tenant setting as then)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    import tenants.session as ts

    plans: list[tuple[str, list[str]]] = []
    fetchrow = ts._fetchrow

    async def explained(driver: Any, sql: str, a: tuple[Any, ...]) -> Any:
        # a read of every row (markNotificationsRead's check) comes wrapped (tenants.session._AllRows); a read with
        # its COMMIT (tenants.commit.Committing) too: the repeats below run on its connection, the last one with COMMIT
        committing = getattr(driver, "adapted", None)
        writing = getattr(driver, "tx", None)  # a fast write with its COMMIT (tenants.commit.Writing): its connection
        connection = (committing._connection if committing is not None else writing._adapted._connection
                      if writing is not None else getattr(driver, "connection", driver))
        if re.search(r"\b(INSERT|UPDATE|DELETE)\b", sql, re.I):  # a write (an audit entry): run once, as sent,
            # after its plan explained in a savepoint rolled back (an audited read's one statement: its read and
            # its inserts, each node timed)
            await connection.execute("SAVEPOINT explained")
            rows = await connection.fetch("EXPLAIN (ANALYZE, BUFFERS, SETTINGS) " + sql, *a)
            await connection.execute("ROLLBACK TO SAVEPOINT explained")
            plans.append((sql, [r[0] for r in rows] + ["   (a write: explained in a savepoint rolled back, then run "
                                                       "once)"]))
            row = await fetchrow(driver, sql, a)
            await _plan_counts(connection, sql, plans[-1][1])
            return row
        if plans or not sql.lstrip().upper().startswith("SELECT T.ID"):  # not the request's first statement
            rows = await connection.fetch("EXPLAIN (ANALYZE, BUFFERS, SETTINGS) " + sql, *a)
            plans.append((sql, [r[0] for r in rows]))
        else:
            plans.append((sql, []))
        took = []
        runs = 21 if plans[-1][1] else 1
        for i in range(runs):  # a read: the median of 21 (not the first statement)
            began = time.perf_counter()
            row = await fetchrow(driver if committing is None or i == runs - 1 else connection, sql, a)
            took.append((time.perf_counter() - began) * 1000)
        plans[-1][1].append(f"(the statement itself, as the request sends it: {sorted(took)[len(took) // 2]:.2f} ms "
                            f"round trip, median of {len(took)})")
        await _plan_counts(connection, sql, plans[-1][1])
        return row

    busy = False

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        nonlocal busy
        if busy or many or not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            return
        busy = True
        try:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, SETTINGS) " + statement, parameters)
            plans.append((statement, [r[0] for r in cursor.fetchall()]))
        finally:
            busy = False

    ts._fetchrow = explained
    event.listen(Engine, "before_cursor_execute", before)
    try:
        await step()
    finally:
        ts._fetchrow = fetchrow
        event.remove(Engine, "before_cursor_execute", before)
    for sql, plan in plans:
        print(f"-- ({len(sql.encode())} bytes) " + " ".join(sql.split())[:300])
        print("\n".join(plan) if plan else "   (the request's first statement: not explained)")
        print()


async def _forgetting(mix: Any) -> Callable[[str], None]:
    """``forget(username)``: drop the process's entries keyed by that user (resolvers.prepared's texts,
    policies.filters' predicates), as for an actor not seen before (``--churn``)."""
    import asyncpg

    import policies.filters
    import resolvers.prepared

    conn = await asyncpg.connect(mix.dsn_for(mix.DB))
    try:
        await conn.execute("SET app.tenant_id = ''")
        ids = {r["username"]: uuid.UUID(str(r["id"])) for r in await conn.fetch("SELECT id, username FROM users")}
    finally:
        await conn.close()
    caches: list[dict[Any, Any]] = [resolvers.prepared._texts, policies.filters._KEPT]

    def forget(username: str) -> None:
        user_id = ids[username]
        for cache in caches:
            for k in [k for k in cache if user_id in k]:
                del cache[k]

    return forget


def _peak_rss_mb() -> str:
    """The process's peak resident set (VmHWM), as the issue's RSS target (< 250 MB) counts it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return f"{int(line.split()[1]) / 1024:.0f} MB"
    except OSError:  # not Linux
        pass
    return "unknown"


async def _lifespan_started(app: Any) -> None:
    """The ASGI lifespan's start-up, as a server runs it before it accepts requests (left running)."""
    started = asyncio.Event()
    messages = [{"type": "lifespan.startup"}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.sleep(3600)
        return {"type": "lifespan.shutdown"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()
        elif message["type"] == "lifespan.startup.failed":
            raise SystemExit(f"start-up failed: {message}")

    _task = asyncio.get_running_loop().create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    _tasks.add(_task)
    await started.wait()


_tasks: set[asyncio.Task[Any]] = set()


if __name__ == "__main__":
    main()
