"""Ledger commands of the `gongzhi` CLI (issue #11):

    gongzhi import-register --tenant T FILE [--dry-run] [--create-areas] [--user NAME] [--report PATH]
    gongzhi export-register --tenant T [--area ID] [--user NAME] -o FILE
    gongzhi export-ledgers  --tenant T [--area ID] --from YYYY-MM-DD --to YYYY-MM-DD [--user NAME] -o FILE
    gongzhi register-template -o FILE

They connect as the database owner (``GONGZHI_MIGRATION_DATABASE_URL``). Without ``--user`` they act
as the operator (the street admin's rights, audited without a user); with it, as that user (Casbin
decides, as over HTTP).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.settings import Settings

if TYPE_CHECKING:
    from models import Tenant
    from resolvers.context import RequestContext


class ProgressBar:
    """A one-line progress bar on stderr: phase, bar, rows, rate."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.started = time.monotonic()
        self._last = 0.0
        self._phase = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == self._phase and now - self._last < 0.1 and done < total:
            return
        if phase != self._phase and self._phase:
            self.stream.write("\n")
        self._phase, self._last = phase, now
        label = {"validating": "校验 checking ", "importing": "导入 importing"}.get(phase, phase)
        frac = done / total if total else 1.0
        filled = int(frac * self.width)
        rate = done / max(now - self.started, 1e-6)
        self.stream.write(f"\r{label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} "
                          f"{frac:6.1%} {rate:,.0f} rows/s")
        self.stream.flush()

    def close(self) -> None:
        if self._phase:
            self.stream.write("\n")
            self.stream.flush()


async def _context_factory(sm: async_sessionmaker[AsyncSession], slug: str, user: str | None
                           ) -> tuple[Tenant, Callable[[AsyncSession], Awaitable[RequestContext]]]:
    from gongzhi.http.ledgers import operator_context
    from models import Tenant, User
    from policies.actor import load_actor
    from policies.enforcer import PolicyCache
    from resolvers.context import Db, RequestContext
    from tenants.session import bind_tenant, switch_tenant

    async with sm() as s:
        tenant = await s.scalar(select(Tenant).where(Tenant.slug == slug))
        account = await s.scalar(select(User).where(User.username == user)) if user else None
    if tenant is None:
        raise SystemExit(f"unknown tenant {slug!r}")
    if user and account is None:
        raise SystemExit(f"unknown user {user!r}")
    policies = PolicyCache()
    request_id = f"cli-{uuid.uuid4().hex[:12]}"

    async def open_ctx(session: AsyncSession) -> RequestContext:
        if account is None:
            return await operator_context(session, tenant, policies, request_id)
        bind_tenant(session, tenant.id)
        await switch_tenant(session, tenant.id)
        policy = await policies.get(session, tenant.id, tenant.policy_version)
        now = datetime.now(UTC)
        actor = await load_actor(session, user=account, tenant_id=tenant.id, policy=policy, now=now)
        return RequestContext(db=Db(session), tenant=tenant, actor=actor, now=now, request_id=request_id)

    return tenant, open_ctx


async def import_register(sm: async_sessionmaker[AsyncSession], args: argparse.Namespace, upload_root: Path,
                          *, out: TextIO | None = None) -> int:
    from gongzhi.http.ledgers import plain_commit, run_register_import
    from models import ImportStatus
    from resolvers import ledgers as imp
    from resolvers.errors import ServiceError

    out = out or sys.stdout
    path = Path(args.file)
    content = await asyncio.to_thread(path.read_bytes)
    tenant, open_ctx = await _context_factory(sm, args.tenant, args.user)
    async with sm() as s:
        ctx = await open_ctx(s)
        try:
            job = await imp.new_job(ctx, file_name=path.name, content=content, dry_run=args.dry_run,
                                    create_areas=args.create_areas)
        except ServiceError as e:
            print(f"error: {e.message}", file=sys.stderr)
            return 2
        await plain_commit(s, ctx)
    bar = ProgressBar()
    started = time.monotonic()
    status, outcome, message = await run_register_import(
        sm, open_ctx, plain_commit, tenant_id=tenant.id, job_id=job.id, content=content, file_name=path.name,
        dry_run=args.dry_run, create_areas=args.create_areas, report_root=upload_root, echo=bar)
    bar.close()
    elapsed = time.monotonic() - started
    if outcome is not None and outcome.report:
        report = Path(args.report) if args.report else path.with_name(f"{path.stem}.report.{outcome.report_ext}")
        await asyncio.to_thread(report.write_bytes, outcome.report)
        print(f"report: {report}", file=out)
    print(f"job {job.id}: {status.value} in {elapsed:.1f} s — {message}", file=out)
    return 0 if status is ImportStatus.SUCCEEDED else 1


async def export(sm: async_sessionmaker[AsyncSession], args: argparse.Namespace, *, ledgers: bool) -> int:
    from gongzhi.http.ledgers import plain_commit
    from resolvers import ledgers as svc
    from resolvers.errors import ServiceError
    from resolvers.ids import decode_global_id

    _tenant, open_ctx = await _context_factory(sm, args.tenant, args.user)
    async with sm() as s:
        ctx = await open_ctx(s)
        try:
            area = decode_global_id(args.area, None, "area")[1] if args.area else None
            full = None if args.full_purpose is None else svc.FullExport(args.full_purpose)
            if ledgers:
                result = await svc.export_ledgers(ctx, area, date.fromisoformat(args.date_from),
                                                  date.fromisoformat(args.date_to), full)
            else:
                result = await svc.export_register(ctx, area, full)
        except (ServiceError, ValueError) as e:
            print(f"error: {getattr(e, 'message', e)}", file=sys.stderr)
            return 2
        await plain_commit(s, ctx)
    await asyncio.to_thread(Path(args.output).write_bytes, result.content)
    print(f"wrote {args.output}: " + ", ".join(f"{k} {v}" for k, v in result.counts.items()))
    return 0


def _run(settings: Settings, fn: Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]) -> int:
    from models import sealing
    from tenants.session import make_engine, make_sessionmaker

    sealing.configure(settings.data_keys, settings.index_key)

    async def go() -> int:
        engine = make_engine(settings.owner_url)
        try:
            return await fn(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def add_ledger_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    i = sub.add_parser("import-register", help="import the household register from XLSX or CSV (issue #11)")
    i.add_argument("--tenant", required=True, help="tenant slug")
    i.add_argument("file", help=".xlsx or .csv in the template's layout (gongzhi register-template)")
    i.add_argument("--dry-run", action="store_true", help="check every row and write the report; import nothing")
    i.add_argument("--create-areas", action="store_true", help="create missing communities, compounds, buildings")
    i.add_argument("--user", help="act as this user (default: the operator, with the street admin's rights)")
    i.add_argument("--report", help="where to write the per-row report (default: FILE.report.xlsx|csv)")
    i.set_defaults(fn=lambda st, a: _run(st, lambda sm: import_register(sm, a, Path(st.upload_dir))))
    for name, ledgers in (("export-register", False), ("export-ledgers", True)):
        e = sub.add_parser(name, help="export the register in the import layout" if not ledgers
                           else "export the work ledgers (台账) of an area and period as XLSX")
        e.add_argument("--tenant", required=True)
        e.add_argument("--area", help="global ID of the area (default: the whole street)")
        e.add_argument("--user", help="act as this user (default: the operator)")
        e.add_argument("--output", "-o", required=True)
        e.add_argument("--full-purpose", help="the full export (ID numbers, phones, rooms unmasked; street admin "
                                              "or operator only): why it is made, recorded in the audit log")
        if ledgers:
            e.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD (Asia/Shanghai)")
            e.add_argument("--to", dest="date_to", required=True, help="last day, YYYY-MM-DD")
        e.set_defaults(fn=lambda st, a, lg=ledgers: _run(st, lambda sm: export(sm, a, ledgers=lg)))
    t = sub.add_parser("register-template", help="write the register import template (XLSX)")
    t.add_argument("--output", "-o", required=True)
    t.set_defaults(fn=_template)


def _template(_settings: Settings, args: argparse.Namespace) -> int:
    from resolvers.ledgers import template_xlsx

    Path(args.output).write_bytes(template_xlsx())
    print(f"wrote {args.output}")
    return 0
