"""Op 4's PostgreSQL side taken apart (issue #21): a report's statements as the app sent them, replayed on one
app-role connection, the backend's CPU per step from ``/proc/<pid>/schedstat`` (PostgreSQL on this machine),
variants interleaved in random order within each round — so the machine's drift moves every variant alike.

    # 1. capture: one bench.inproc op4 run with log_statement = all on the copy (its parameters logged in full),
    #    the statements of its last report kept in a JSON file
    python -m bench.pgsplit capture --db gongzhi_NAME_s01 --log /var/log/postgresql/postgresql-15-main.log
    # 2. shadow copies of the report's four tables (cases, case_events, case_stages, audit_log), each set without
    #    one thing (its foreign keys, row-level security, secondary indexes, …), filled with a slice of the rows
    python -m bench.pgsplit shadow --db gongzhi_NAME_s01
    # 3. replay: NAME:FIRST:PARTS[@SHADOW] per variant (PARTS: none, bind, all, or the write's WITH parts)
    python -m bench.pgsplit replay --db gongzhi_NAME_s01 --rounds 1000 \\
        --variants "none:first:none;checks:first:w0;cases:first:w0,w1;full:first:all;nofk:first:all@nofk"

A round of a variant: BEGIN; the first statement (tenant, user, actor); the write (all = as captured: the guarded
rows, the audit entry); COMMIT; the NOTIFY in its own transaction — as the app's fast path sends them after a
connection's first report. Fresh ids (uuid7), idempotency key and case number per round. Never on a bench
database itself: a copy (``createdb -T``), dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import random
import re
import statistics
import string
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("cases", "case_events", "case_stages", "audit_log")
POLICY = "tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid"
# The four tables' foreign keys (pg_constraint of the schema at 0054); {cases} is the set's own cases table.
FKS = {
    "cases": ["(tenant_id, area_id) REFERENCES areas(tenant_id, id)",
              "(tenant_id, escalated_to_area_id) REFERENCES areas(tenant_id, id)",
              "(tenant_id, handler_area_id) REFERENCES areas(tenant_id, id)",
              "(tenant_id, handler_firm_id) REFERENCES property_firms(tenant_id, id)",
              "(tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
              "(tenant_id, handler_partner_id) REFERENCES partner_units(tenant_id, id)"],
    "case_events": ["(tenant_id, case_id) REFERENCES {cases}(tenant_id, id)",
                    "(tenant_id) REFERENCES tenants(id) ON DELETE CASCADE"],
    "case_stages": ["(tenant_id, case_id) REFERENCES {cases}(tenant_id, id)",
                    "(tenant_id) REFERENCES tenants(id) ON DELETE CASCADE"],
    "audit_log": ["(tenant_id) REFERENCES tenants(id) ON DELETE CASCADE"],
}
SHADOWS: dict[str, dict[str, Any]] = {
    "all": {}, "nofk": {"fk": False}, "notenfk": {"tenant_fk": False}, "norls": {"rls": False},
    "pk": {"pk_only": TABLES}, "pkc": {"pk_only": ("cases",)}, "pke": {"pk_only": ("case_events",)},
    "pks": {"pk_only": ("case_stages",)}, "pka": {"pk_only": ("audit_log",)},
    "nocomp": {"audit_sql": "ALTER TABLE audit_log__{s} SET (toast_tuple_target = 8160)"},
    "lz4": {"audit_sql": "ALTER TABLE audit_log__{s} ALTER COLUMN detail SET COMPRESSION lz4"},
}


def log_entries(text: str) -> list[dict[str, Any]]:
    """The app role's statements in a PostgreSQL log (stderr format, log_statement = all): name, SQL, the
    parameters' text as logged (None when the statement has none)."""
    entries: list[str] = []
    for line in text.split("\n"):
        if re.match(r"^\d{4}-\d\d-\d\d ", line):
            entries.append(line)
        elif entries:
            entries[-1] += "\n" + line
    out: list[dict[str, Any]] = []
    for e in entries:
        m = re.match(r"^\S+ \S+ \S+ \[(\d+)\] (\S+) (LOG|DETAIL):  (.*)$", e, re.S)
        if not m or "gongzhi_bench_app@" not in m.group(2):
            continue
        pid, _, kind, body = m.groups()
        if kind == "LOG":
            s = re.match(r"(?:execute (\S+)|statement): (.*)$", body, re.S)
            if s:
                out.append({"pid": pid, "name": s.group(1), "sql": s.group(2), "params": None})
        elif body.startswith("parameters: ") and out:
            out[-1]["params"] = body[len("parameters: "):]
    return out


def last_report(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The last complete report: BEGIN, the first statement, the write, COMMIT, the NOTIFY after it."""
    for i in range(len(entries) - 5, -1, -1):
        seq = entries[i:i + 5]
        if ([e["sql"] for e in (seq[0], seq[3])] == ["BEGIN", "COMMIT"] and seq[2]["sql"].startswith("WITH w0 AS")
                and "pg_notify" in seq[4]["sql"] and all(e["pid"] == seq[0]["pid"] for e in seq)):
            return {"first": seq[1], "write": seq[2], "notify": seq[4]}
    raise SystemExit("no complete report (BEGIN, first, WITH w0 …, COMMIT, NOTIFY) in the log")


def params(logged: str | None) -> list[str | None]:
    return [None if v == "NULL" else v[1:-1].replace("''", "'")
            for v in re.findall(r"\$\d+ = (NULL|'(?:[^']|'')*')", logged or "")]


def write_parts(sql: str) -> dict[str, str]:
    """The write's WITH parts: w0 (the checks as its guard), w1 cases, w2 case_events, w3 case_stages, audit."""
    head, rest = sql.split("), w1 AS (", 1)
    w1, rest = rest.split("), w2 AS (", 1)
    w2, rest = rest.split("), w3 AS (", 1)
    w3, rest = rest.split("), audit AS (", 1)
    audit = rest.split(") SELECT count(*) FROM (SELECT pg_notify", 1)[0]
    return {"w0": head[len("WITH w0 AS ("):], "w1": w1, "w2": w2, "w3": w3, "audit": audit}


def variant_sql(sql: str, parts: str, types: list[str], shadow: str | None) -> str:
    """The write as captured (``all``), a trivial statement with its parameters (``bind``), or the listed WITH
    parts; every parameter stays referenced (same Bind) — and the INSERTs into a shadow set if one is named."""
    every = ", ".join(f"${i + 1}::{t}" for i, t in enumerate(types))
    if parts == "all":
        out = sql
    elif parts == "bind":
        out = f"SELECT (SELECT count(*) FROM (SELECT {every} LIMIT 0) v)"
    else:
        p = write_parts(sql)
        out = ("WITH " + ", ".join(f"{k} AS ({p[k]})" for k in parts.split(","))
               + f" SELECT (SELECT count(*) FROM w0), (SELECT count(*) FROM (SELECT {every} LIMIT 0) v)")
    for t in TABLES if shadow else ():
        out = out.replace(f"INSERT INTO {t} (", f"INSERT INTO {t}__{shadow} (")
    return out


def shadow_sql(name: str, tenant: str, rows: int = 30000, fk: bool = True, tenant_fk: bool = True,
               rls: bool = True, pk_only: tuple[str, ...] = (), audit_sql: str = "") -> str:
    """A set of the four tables as the schema has them (LIKE … INCLUDING ALL: indexes, defaults, storage;
    then the foreign keys, the tenant policy, the audit trigger, the app role's grants) — less what is named."""
    out = []
    for t in TABLES:
        s = f"{t}__{name}"
        out.append(f"DROP TABLE IF EXISTS {s} CASCADE;")
        out.append(f"CREATE TABLE {s} (LIKE {t} INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION); "
                   f"ALTER TABLE {s} ADD PRIMARY KEY (tenant_id, id);" if t in pk_only
                   else f"CREATE TABLE {s} (LIKE {t} INCLUDING ALL);")
    out.append(f"INSERT INTO cases__{name} SELECT * FROM cases WHERE tenant_id = '{tenant}' ORDER BY id LIMIT {rows};")
    for t in ("case_events", "case_stages"):
        out.append(f"INSERT INTO {t}__{name} SELECT e.* FROM {t} e JOIN cases__{name} c "
                   "ON c.tenant_id = e.tenant_id AND c.id = e.case_id;")
    out.append(f"INSERT INTO audit_log__{name} SELECT * FROM audit_log LIMIT {rows};")
    for t in TABLES:
        s = f"{t}__{name}"
        for fkey in FKS[t] if fk else ():
            if tenant_fk or t == "cases" or "REFERENCES tenants" not in fkey:
                out.append(f"ALTER TABLE {s} ADD FOREIGN KEY " + fkey.format(cases=f"cases__{name}") + ";")
        if rls:
            out.append(f"ALTER TABLE {s} ENABLE ROW LEVEL SECURITY; ALTER TABLE {s} FORCE ROW LEVEL SECURITY; "
                       f"CREATE POLICY tenant_isolation ON {s} USING ({POLICY}) WITH CHECK ({POLICY});")
        out.append(f"GRANT SELECT, INSERT ON {s} TO gongzhi_bench_app;")
    out.append(f"CREATE TRIGGER audit_log_insert_unsealed BEFORE INSERT ON audit_log__{name} FOR EACH ROW WHEN "
               "(new.seq IS NOT NULL OR new.prev_hash IS NOT NULL OR new.hash IS NOT NULL) "
               "EXECUTE FUNCTION gongzhi_audit_log_insert_unsealed();")
    if audit_sql:
        out.append(audit_sql.format(s=name) + ";")
    out.append(f"ANALYZE cases__{name}, case_events__{name}, case_stages__{name}, audit_log__{name};")
    return "\n".join(out)


def _value(t: Any, v: str | None) -> Any:
    if v is None:
        return None
    if t.kind == "array":
        return [] if v == "{}" else json.loads("[" + v[1:-1] + "]")
    conv: dict[str, Any] = {"timestamptz": datetime.datetime.fromisoformat, "int8": int, "int4": int,
                            "float8": float, "bool": lambda s: s == "t", "uuid": uuid.UUID}
    return conv.get(t.name, str)(v)


def _schedstat(pid: int) -> int:
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


async def replay(args: argparse.Namespace, captured: dict[str, Any]) -> dict[str, dict[str, list[int]]]:
    import asyncpg

    from models import uuid7

    first_sql, write_sql = captured["first"]["sql"], captured["write"]["sql"]
    firsts = {"first": first_sql, "first_nofn": first_sql.replace(
        "CROSS JOIN LATERAL gongzhi_request_actor(t.id, $2, $3) r WHERE t.slug = $1",
        "CROSS JOIN LATERAL (SELECT NULL::json AS assignments, NULL::json AS own) r "
        "WHERE t.slug = $1 AND $3::timestamptz IS NOT NULL")}
    # first_nofn binds the tenant as the house does (tenants.rls.set_tenant_sql: SET LOCAL), in its BEGIN step —
    # counted there, not in its first statement, which is the one without the function
    bind_sql = None
    spec = {}
    for v in args.variants.split(";"):
        name, first, parts = v.split(":")
        parts, _, shadow = parts.partition("@")
        spec[name] = (first, parts, shadow or None)
    conn = await asyncpg.connect(f"postgresql://gongzhi_bench_app@{args.host}:{args.port}/{args.db}")
    pid = conn.get_server_pid()
    full = await conn.prepare(write_sql)
    wtypes = list(full.get_parameters())
    tnames = [t.name if t.kind != "array" else "text[]" for t in wtypes]
    fst = {k: await conn.prepare(s) for k, s in firsts.items() if any(f == k for f, _, _ in spec.values())}
    fargs = {k: [_value(t, v) for t, v in zip(s.get_parameters(), params(captured["first"]["params"]), strict=True)]
             for k, s in fst.items()}
    if "first_nofn" in fst:
        from tenants.rls import set_tenant_sql

        bind_sql = set_tenant_sql(await conn.fetchval("SELECT id FROM tenants WHERE slug = $1",
                                                      params(captured["first"]["params"])[0]))
    writes = {n: await conn.prepare(variant_sql(write_sql, p, tnames, sh)) for n, (_, p, sh) in spec.items()
              if p != "none"}
    note = await conn.prepare(captured["notify"]["sql"])
    nargs = [_value(t, v) for t, v in zip(note.get_parameters(), params(captured["notify"]["params"]), strict=True)]
    base = params(captured["write"]["params"])
    old_ids = [base[51], base[65], base[78], base[81]]  # the case's, event's, stage's and audit entry's ids

    def fresh() -> list[Any]:
        key = uuid.uuid4().hex
        ids = {o: str(uuid7()) for o in old_ids if o}
        p: list[str | None] = []
        for v in base:
            for o, n in ids.items() if v is not None else ():
                v = v.replace(o, n)
            p.append(v)
        p[1] = p[23] = key  # the retry check's key and the case's
        p[9] = "20261207-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=8))
        return [_value(t, v) for t, v in zip(wtypes, p, strict=True)]

    res: dict[str, dict[str, list[int]]] = {v: {} for v in spec}
    order = list(spec)
    for r in range(args.rounds):
        random.shuffle(order)
        for v in order:
            first, parts, _ = spec[v]
            fargs[first][2] = datetime.datetime.now(datetime.UTC)
            t = {}
            a = _schedstat(pid)
            await conn.execute("BEGIN")
            if first == "first_nofn" and bind_sql is not None:
                await conn.execute(bind_sql)
            b = _schedstat(pid)
            await fst[first].fetchrow(*fargs[first])
            c = _schedstat(pid)
            t["begin"], t["first"] = b - a, c - b
            if parts != "none":
                wa = fresh()
                a = _schedstat(pid)
                await writes[v].fetch(*wa)
                t["write"] = _schedstat(pid) - a
            a = _schedstat(pid)
            await conn.execute("COMMIT")
            b = _schedstat(pid)
            await note.fetchrow(*nargs)
            t["commit"], t["notify"] = b - a, _schedstat(pid) - b
            t["total"] = sum(t.values())
            if r >= max(5, args.rounds // 10):  # warm-up: plans, caches
                for k, x in t.items():
                    res[v].setdefault(k, []).append(x)
    await conn.close()
    return res


def capture(args: argparse.Namespace) -> None:
    psql = ["psql", "-U", "postgres", "-h", args.host, "-p", str(args.port), "-d", args.db, "-Atc"]
    start = Path(args.log).stat().st_size
    subprocess.run([*psql, f"ALTER DATABASE {args.db} SET log_statement = 'all'"], check=True)
    try:
        subprocess.run([sys.executable, "-m", "bench.inproc", "op4", "30"], check=True, cwd=ROOT,
                       env={**os.environ, "GONGZHI_BENCH_MIX_DB": args.db})
    finally:
        subprocess.run([*psql, f"ALTER DATABASE {args.db} RESET log_statement"], check=True)
    with open(args.log, encoding="utf-8", errors="replace") as f:
        f.seek(start)
        report = last_report(log_entries(f.read()))
    Path(args.captured).write_text(json.dumps(report, ensure_ascii=False))
    print(f"{args.captured}: first {len(report['first']['sql'])} B, write {len(report['write']['sql'])} B, "
          f"{len(params(report['write']['params']))} parameters")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=("capture", "shadow", "replay"))
    ap.add_argument("--variants", default="none:first:none;full:first:all", help="NAME:FIRST:PARTS[@SHADOW];… "
                    "FIRST: first, or first_nofn (the tenant set without gongzhi_request_actor); PARTS: none, bind, "
                    "all, or WITH parts of the write (w0,w1,w2,w3,audit); SHADOW: a set made by the shadow step")
    ap.add_argument("--db", required=True, help="a copy of a bench database (never the bench database itself)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5432)
    ap.add_argument("--log", default="/var/log/postgresql/postgresql-15-main.log")
    ap.add_argument("--captured", default="/tmp/pgsplit-op4.json")
    ap.add_argument("--rounds", type=int, default=500)
    ap.add_argument("--shadows", default=",".join(SHADOWS))
    ap.add_argument("--tenant", help="whose cases fill the shadow sets (default: the captured report's tenant)")
    ap.add_argument("--out", help="write every step's CPU (ns) per variant here (JSON)")
    args = ap.parse_args()
    if args.db.startswith("gongzhi_bench_"):
        raise SystemExit("a copy, please: createdb -T gongzhi_bench_s0_1 gongzhi_NAME_s01")
    if args.step == "capture":
        capture(args)
    elif args.step == "shadow":
        tenant = args.tenant or params(json.loads(Path(args.captured).read_text())["write"]["params"])[50]
        sql = "\n".join(shadow_sql(n, str(tenant), **SHADOWS[n]) for n in args.shadows.split(","))
        subprocess.run(["psql", "-U", "postgres", "-h", args.host, "-p", str(args.port), "-d", args.db, "-q",
                        "-v", "ON_ERROR_STOP=1", "-c", sql], check=True)
    else:
        sys.path.insert(0, str(ROOT))
        res = asyncio.run(replay(args, json.loads(Path(args.captured).read_text())))
        for v, steps in res.items():
            print(f"{v:10s} " + "  ".join(f"{k} {statistics.median(x) / 1000:4.0f}/{statistics.mean(x) / 1000:4.0f}"
                                          for k, x in steps.items()) + f"  µs median/mean of {len(steps['total'])}")
        if args.out:
            Path(args.out).write_text(json.dumps(res))


if __name__ == "__main__":
    main()
