"""Benchmark of the household register import (issue #11): 100,000 rows on PostgreSQL.

    .venv/bin/python bench/import_register.py [--rows 100000] [--format xlsx|csv]

Creates a throw-away database (owner + app role without table ownership, so row-level security
applies as in production), migrates it, provisions one street office, writes a register file of
--rows persons (three per household, 40 households a building, spread over 5 communities), then
times, through the same code path as the CLI and the upload endpoint:

  1. a dry run (read + check every row against the register, report written, nothing imported),
  2. the import (checks again, then bulk inserts in one transaction, creating the areas),
  3. sending the same file again (idempotent: checks, finds every row unchanged, writes nothing).

PostgreSQL: GONGZHI_TEST_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from gongzhi.http.ledgers import operator_context, plain_commit, run_register_import
from gongzhi.migrate import upgrade
from gongzhi.modules import provision
from models import Household, Person, PersonCareTag
from policies.enforcer import PolicyCache
from resolvers.ledgers import register_import as imp
from resolvers.validation import id_card_check_char
from tenants.session import bind_tenant, make_engine, make_sessionmaker

ADMIN = os.environ.get("GONGZHI_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
OWNER, APP = "gongzhi_bench_owner", "gongzhi_bench_app"
TAGS = ("living_alone", "残疾人", "veteran", "低保户")  # codes or names


def rows(n: int) -> list[list[str]]:
    out = []
    for i in range(n):
        h = i // 3
        b = h // 40
        born = date(1940, 1, 1) + timedelta(days=(i * 7919) % 25000)
        first17 = f"1101{(i // 1000) % 100:02d}{born:%Y%m%d}{i % 1000:03d}"
        card = first17 + id_card_check_char(first17)
        out.append([f"第{b % 5 + 1}社区", f"小区{b // 25 + 1}", f"{b % 25 + 1}栋", str(h % 4 + 1),
                    f"{(h % 40) // 4 + 1}0{h % 4 + 1}",
                    "88.50", "自有" if h % 5 else "租住", f"居民{i}", "男" if int(card[16]) % 2 else "女", card,
                    f"13{i % 10}{i:08d}", "户主" if i % 3 == 0 else "家庭成员", "是" if i % 9 == 0 else "否",
                    TAGS[i % 4] if i % 13 == 0 else ""])
    return out


def write_file(data: list[list[str]], fmt: str) -> bytes:
    header = [c.zh for c in imp.COLUMNS]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(header)
        w.writerows(data)
        return buf.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(imp.SHEET_NAME)
    ws.append(header)
    for r in data:
        ws.append(r)
    b = io.BytesIO()
    wb.save(b)
    return b.getvalue()


async def admin(sql: list[str]) -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN)
    try:
        for s in sql:
            await conn.execute(s)
    finally:
        await conn.close()


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    p.add_argument("--keep", action="store_true", help="keep the database")
    args = p.parse_args()

    name = f"gongzhi_bench_{uuid.uuid4().hex[:8]}"
    await admin([f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER}') THEN
          CREATE ROLE {OWNER} LOGIN NOSUPERUSER NOBYPASSRLS; END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP}') THEN
          CREATE ROLE {APP} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$""",
                 f"CREATE DATABASE {name} OWNER {OWNER}"])
    host = ADMIN.split("@", 1)[1].split("/", 1)[0]
    try:
        await asyncio.to_thread(upgrade, f"postgresql+asyncpg://{OWNER}@{host}/{name}", APP)
        engine = make_engine(f"postgresql+asyncpg://{APP}@{host}/{name}", pool_size=3)
        sm = make_sessionmaker(engine)
        tenant = await provision(sm, slug="bench", name="基准街道")
        t0 = time.perf_counter()
        content = write_file(rows(args.rows), args.format)
        print(f"file: {args.rows:,} rows, {args.format}, {len(content) / 1e6:.1f} MB, "
              f"generated in {time.perf_counter() - t0:.1f} s")
        policies = PolicyCache()

        async def open_ctx(session):  # type: ignore[no-untyped-def]
            return await operator_context(session, tenant, policies, "bench")

        report_root = Path(tempfile.mkdtemp(prefix="gongzhi-bench-"))

        async def run(dry_run: bool) -> tuple[float, str]:
            async with sm() as s:
                ctx = await open_ctx(s)
                job = await imp.new_job(ctx, file_name=f"bench.{args.format}", content=content, dry_run=dry_run,
                                        create_areas=True)
                await plain_commit(s, ctx)
            started, cpu = time.perf_counter(), time.process_time()
            status, out, message = await run_register_import(
                sm, open_ctx, plain_commit, tenant_id=tenant.id, job_id=job.id, content=content,
                file_name=f"bench.{args.format}", dry_run=dry_run, create_areas=True, report_root=report_root)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            assert out is not None and not out.errors, (message, list(out.errors.items())[:3])
            phases = " ".join(f"{k} {v:.1f}" for k, v in out.timings.items())
            return elapsed, (f"[{phases}; this process's CPU {cpu:.1f} s] {status.value}: "
                             f"{out.created_persons} persons created, {out.unchanged} unchanged")

        print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        figures = {}
        for label, dry in (("dry run", True), ("import", False), ("resend (idempotent)", False)):
            elapsed, msg = await run(dry)
            figures[label] = elapsed
            print(f"{label:<20} {elapsed:6.1f} s  {args.rows / elapsed:8,.0f} rows/s  {msg}")
        async with sm() as s:
            bind_tenant(s, tenant.id)
            async with s.begin():
                n = [await s.scalar(select(func.count()).select_from(t)) for t in (Person, Household, PersonCareTag)]
        print(f"register now: {n[0]:,} persons, {n[1]:,} households, {n[2]:,} care tags")
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
              f"{platform.platform()}")
        await engine.dispose()
    finally:
        if not args.keep:
            await admin([f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])


if __name__ == "__main__":
    asyncio.run(main())
