"""The `gongzhi` command: serve, migrate, seed-demo, token, demo-users, export-schema, tenant, calendar, photos,
audit, pii, citus."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select

from gongzhi.settings import ROOT, Settings, SettingsError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from models import Tenant, User

T = TypeVar("T")


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url and ":memory:" not in url:
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from gongzhi.migrate import upgrade

    _ensure_sqlite_dir(settings.owner_url)
    upgrade(settings.owner_url, settings.app_db_role)
    print("database at head")
    return 0


async def _with_sessionmaker(settings: Settings,
                             fn: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    from tenants.session import make_engine, make_sessionmaker

    engine = make_engine(settings.owner_url)
    try:
        return await fn(make_sessionmaker(engine))
    finally:
        await engine.dispose()


def cmd_seed_demo(settings: Settings, _args: argparse.Namespace) -> int:
    from gongzhi.modules import demo_seeders

    for demo in demo_seeders():  # the register first, then each domain, in module order
        done = asyncio.run(_with_sessionmaker(settings, demo.seed))
        if done:
            print(f"{demo.label}: " + demo.separator.join(done))
        elif demo.nothing:
            print(f"{demo.label}: {demo.nothing}")
    return 0


def cmd_close_waiting_cases(settings: Settings, _args: argparse.Namespace) -> int:
    from gongzhi.jobs import run_checks, run_everywhere
    from gongzhi.modules import checks, jobs

    # The platform-wide checks too (their warnings go to stderr): cron then says, from 1 November, when
    # next year's holiday arrangement is missing.
    asyncio.run(_with_sessionmaker(settings, lambda sm: run_checks(sm, checks())))
    for job in jobs():
        changed = asyncio.run(_with_sessionmaker(settings, functools.partial(run_everywhere, job=job,
                                                                                upload_root=Path(settings.upload_dir))))
        print(f"{job.label}: " + (", ".join(f"{k}={v}" for k, v in changed.items()) if changed else "none"))
    return 0


def cmd_demo_users(settings: Settings, args: argparse.Namespace) -> int:
    from gongzhi.demo import demo_users

    rows = asyncio.run(_with_sessionmaker(settings, demo_users))
    for row in rows:
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            print(f"{row['tenant']:<10} {row['user']:<22} {row['role']:<22} {row['scope']}")
    return 0


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    """A development token: a street office's account (``--user`` of ``--tenant``), or with
    ``--platform-admin`` a platform administrator's (claim ``"platform": "admin"``, no tenant;
    docs/onboarding.md §2)."""
    from gongzhi.http.auth import issue_dev_token
    from models import Member, Tenant, User, account_id_for_subject

    if args.platform_admin:
        name = args.user or "operator"
        print(issue_dev_token(settings, user_id=account_id_for_subject(f"platform:{name}"), username=name,
                              tenants=[], ttl=timedelta(hours=args.hours), platform="admin"))
        return 0
    if not args.user or not args.tenant:
        print("error: --user and --tenant are required (or --platform-admin)", file=sys.stderr)
        return 2

    async def find(sm: async_sessionmaker[AsyncSession]) -> tuple[User | None, set[str]]:
        async with sm() as s:
            known = {slug: tid for slug, tid in (await s.execute(
                select(Tenant.slug, Tenant.id).where(Tenant.slug.in_(args.tenant)))).all()}
            # Usernames are unique per street office (issue #24): the account of the first tenant named
            # (or an identity the operator linked, present there).
            user = None
            first = known.get(args.tenant[0])
            if first is not None:
                from tenants.session import switch_tenant

                await switch_tenant(s, first)
                user = await s.scalar(select(User).where(User.username == args.user,
                                                         User.id.in_(select(Member.user_id))))
            return user, set(known)

    user, known = asyncio.run(_with_sessionmaker(settings, find))
    missing = [t for t in args.tenant if t not in known]
    if user is None or missing:
        print(f"unknown user {args.user!r}" if user is None else f"unknown tenant(s): {', '.join(missing)}",
              file=sys.stderr)
        return 2
    print(issue_dev_token(settings, user_id=user.id, username=user.username, tenants=list(args.tenant),
                          ttl=timedelta(hours=args.hours)))
    return 0


def cmd_rotate_keys(settings: Settings, _args: argparse.Namespace) -> int:
    from gongzhi.ops.rotate import rotate_keys
    from models import sealing

    sealing.configure(settings.data_keys, settings.index_key)
    changed = asyncio.run(_with_sessionmaker(settings, rotate_keys))
    print(f"re-sealed {changed} persons under key {sealing.KEYRING.current[0]!r}")
    return 0


def cmd_export_schema(_settings: Settings, args: argparse.Namespace) -> int:
    from gongzhi.modules import schema

    sdl = schema().as_str() + "\n"
    if args.output:
        Path(args.output).write_text(sdl, encoding="utf-8")
    else:
        sys.stdout.write(sdl)
    return 0


def cmd_tenant_create(settings: Settings, args: argparse.Namespace) -> int:
    from gongzhi.modules import FirstAdmin, provision
    from tenants.provisioning import ProvisioningError

    admin = (FirstAdmin(username=args.admin, display_name=args.admin_name, subject=args.admin_subject)
             if args.admin else None)

    async def run(sm: async_sessionmaker[AsyncSession]) -> Tenant:
        return await provision(sm, slug=args.slug, name=args.name, admin=admin)

    try:
        tenant = asyncio.run(_with_sessionmaker(settings, run))
    except ProvisioningError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"created tenant {tenant.slug} ({tenant.id})")
    if admin is not None:
        print(f"street admin {admin.username} (identity-provider subject: {admin.subject or 'the account id'})")
    return 0


def cmd_user_link(settings: Settings, args: argparse.Namespace) -> int:
    """The operator links one person's account of one street office to another (DESIGN.md §8)."""
    from gongzhi.ops import accounts
    from gongzhi.ops.tenants import TenantOpError

    try:
        user_id = _owner_engine_run(settings, lambda e: accounts.link_identity(
            e, username=args.user, from_slug=args.from_tenant, to_slug=args.to_tenant))
    except TenantOpError as e:
        print(f"error: {e.code}: {e.message}", file=sys.stderr)
        return 2
    print(f"linked {args.user} ({user_id}) of {args.from_tenant} to {args.to_tenant}")
    return 0


def _owner_engine_run(settings: Settings, fn: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    from models import sealing
    from tenants.session import make_engine

    sealing.configure(settings.data_keys, settings.index_key)

    async def run() -> T:
        engine = make_engine(settings.owner_url)
        try:
            return await fn(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cmd_tenant_op(settings: Settings, args: argparse.Namespace) -> int:
    """suspend, resume, export, delete, import (issue #10; gongzhi/tenant_ops.py)."""
    from gongzhi.ops import tenants as ops
    from models import TenantStatus

    try:
        if args.tenant_cmd in ("suspend", "resume"):
            status = TenantStatus.SUSPENDED if args.tenant_cmd == "suspend" else TenantStatus.ACTIVE
            changed = _owner_engine_run(settings, lambda e: ops.set_status(e, args.slug, status))
            print(f"tenant {args.slug} {status.value}" + ("" if changed else " (unchanged)"))
        elif args.tenant_cmd == "export":
            data = _owner_engine_run(settings, lambda e: ops.export_tenant(e, args.slug))
            Path(args.output).write_bytes(data)
            print(f"exported tenant {args.slug} to {args.output} ({len(data)} bytes)")
        elif args.tenant_cmd == "delete":
            if args.confirm != args.slug:
                print("error: deleting a tenant needs --confirm SLUG (the same slug)", file=sys.stderr)
                return 2
            deleted = _owner_engine_run(settings, lambda e: ops.delete_tenant(e, args.slug))
            print(f"deleted tenant {args.slug}: {sum(deleted['tables'].values())} rows, "
                  f"{deleted['users_deleted']} accounts")
        else:
            result = _owner_engine_run(settings, lambda e: ops.import_tenant(e, Path(args.archive).read_bytes()))
            print(f"imported tenant {result['tenant']}: {sum(result['tables'].values())} rows, "
                  f"{result['users_added']} new users")
    except ops.TenantOpError as e:
        print(f"error: {e.code}: {e.message}", file=sys.stderr)
        return 2
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from gongzhi.http.preflight import ConfigError, preflight
    from gongzhi.http.protocol import DeadlineHttpToolsProtocol

    try:  # in the master, before any worker: a bad setting is one line, never workers crashing in a loop
        preflight(settings)
    except ConfigError as e:
        print(f"错误：无法启动：{e}", file=sys.stderr)
        return 2
    _ensure_sqlite_dir(settings.database_url)
    if args.workers > 1 and settings.database_url.startswith("sqlite"):
        print("error: several workers need PostgreSQL (SQLite and its in-process events serve one process)",
              file=sys.stderr)
        return 2
    if args.workers > 1:
        # Prometheus multi-process mode: each worker writes its metrics here, /metrics sums them. Set
        # before any worker imports prometheus_client; a fresh directory on every start.
        import os
        import tempfile

        mdir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if mdir:
            Path(mdir).mkdir(parents=True, exist_ok=True)
            for stale in Path(mdir).glob("*.db"):
                stale.unlink()
        else:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gongzhi-metrics-")
    # SIGTERM/SIGINT: stop accepting, let in-flight requests finish (up to GONGZHI_SHUTDOWN_TIMEOUT
    # seconds), close WebSockets (subscriptions get close code 1012), then the app's shutdown
    # (background jobs, LISTEN connection, pool).
    # The master's lines (and uvicorn's) in the chosen format too: uvicorn's own logging config is
    # plain text, so it is not used (log_config=None); each worker's create_app configures its own.
    from gongzhi.http.observability import configure_logging

    configure_logging(settings)
    uvicorn.run("gongzhi.http.app:create_app", factory=True, log_config=None, host=args.host, port=args.port,
                workers=args.workers,
                log_level=settings.log_level, app_dir=str(ROOT), timeout_graceful_shutdown=settings.shutdown_timeout,
                access_log=False, proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips,
                # A request's line and headers within GONGZHI_HTTP_HEADER_TIMEOUT (slow clients, issue #26).
                http=DeadlineHttpToolsProtocol)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gongzhi", description="共治 gongzhi — community governance GraphQL backend")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the API (GraphQL at /graphql)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1,
                   help="worker processes (PostgreSQL only); each has its own pool of GONGZHI_DB_POOL_SIZE")
    s.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                   help="load balancers trusted for X-Forwarded-For/Proto")
    s.set_defaults(fn=cmd_serve)
    sub.add_parser("migrate", help="build or upgrade the database (as its owner)").set_defaults(fn=cmd_migrate)
    sub.add_parser("seed-demo", help="seed the four demo street offices").set_defaults(fn=cmd_seed_demo)
    sub.add_parser("rotate-keys", help="re-seal personal data under the first key of GONGZHI_DATA_KEYS"
                   ).set_defaults(fn=cmd_rotate_keys)
    sub.add_parser(
        "close-waiting-cases",
        help="the periodic jobs once: close cases past their feedback period, close votes past closesAt, "
             "expire agreements, seal the audit log (cron)"
    ).set_defaults(fn=cmd_close_waiting_cases)
    t = sub.add_parser("token", help="print a development bearer token")
    t.add_argument("--tenant", action="append", help="tenant slug (repeat to allow several)")
    t.add_argument("--user", help="username (in the first --tenant)")
    t.add_argument("--platform-admin", action="store_true",
                   help="a platform administrator's token (claim platform=admin, no tenant)")
    t.add_argument("--hours", type=float, default=12.0)
    t.set_defaults(fn=cmd_token)
    d = sub.add_parser("demo-users", help="list demo users with their roles and scopes")
    d.add_argument("--json", action="store_true", help="one JSON object per line")
    d.set_defaults(fn=cmd_demo_users)
    e = sub.add_parser("export-schema", help="print the GraphQL SDL")
    e.add_argument("--output", "-o")
    e.set_defaults(fn=cmd_export_schema)
    tc = sub.add_parser("tenant", help="tenant operations").add_subparsers(dest="tenant_cmd", required=True)
    c = tc.add_parser("create", help="provision a street office")
    c.add_argument("--slug", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--admin", help="username of its first street admin (created with the tenant)")
    c.add_argument("--admin-name", help="the first street admin's display name")
    c.add_argument("--admin-subject", help="the identity provider's sub of the first street admin")
    c.set_defaults(fn=cmd_tenant_create)
    ul = sub.add_parser("user", help="operator account operations").add_subparsers(dest="user_cmd", required=True)
    lk = ul.add_parser("link", help="link one account of a street office to another (one identity in both)")
    lk.add_argument("--user", required=True)
    lk.add_argument("--from", dest="from_tenant", required=True, help="the street office it belongs to")
    lk.add_argument("--to", dest="to_tenant", required=True, help="the street office it joins")
    lk.set_defaults(fn=cmd_user_link)
    for verb, text in (("suspend", "refuse the tenant's requests (TENANT_SUSPENDED)"),
                       ("resume", "serve a suspended tenant again")):
        v = tc.add_parser(verb, help=text)
        v.add_argument("--slug", required=True)
        v.set_defaults(fn=cmd_tenant_op)
    x = tc.add_parser("export", help="the tenant's whole data as a zip archive (personal data stays sealed)")
    x.add_argument("--slug", required=True)
    x.add_argument("--output", "-o", required=True)
    x.set_defaults(fn=cmd_tenant_op)
    dl = tc.add_parser("delete", help="delete the tenant and all its rows (export first)")
    dl.add_argument("--slug", required=True)
    dl.add_argument("--confirm", required=True, help="the slug again")
    dl.set_defaults(fn=cmd_tenant_op)
    im = tc.add_parser("import", help="restore an exported tenant (same schema revision and data keys)")
    im.add_argument("archive")
    im.set_defaults(fn=cmd_tenant_op)
    from gongzhi.cli.ledgers import add_ledger_commands  # ledgers (issue #11)

    add_ledger_commands(sub)
    from gongzhi.cli.calendar import add_calendar_commands  # working calendar (issue #22)

    add_calendar_commands(sub)
    from gongzhi.cli.photos import add_photo_commands  # photos (issue #24)

    add_photo_commands(sub)
    from gongzhi.cli.audit import add_audit_commands  # the audit log's hash chain (issue #24)

    add_audit_commands(sub)
    from gongzhi.cli.pii import add_pii_commands  # personal data: erasures after a restore (issue #24)

    add_pii_commands(sub)

    from gongzhi.cli.citus import add_citus_commands  # Citus scale-out (issue #27)

    add_citus_commands(sub)
    return p


def one_line(error: BaseException) -> str:
    """An error as the one line a CLI prints (issue #25): no traceback, newlines folded."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, OSError) and not isinstance(error, FileNotFoundError | PermissionError):
        return f"无法连接（{text}）"
    return text


def main(argv: list[str] | None = None) -> int:
    """Every failure is one line on stderr and a non-zero status; GONGZHI_DEBUG=1 shows the traceback."""
    import os

    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return int(args.fn(settings, args))
    except KeyboardInterrupt:
        return 130
    except SettingsError as e:
        print(f"错误：{one_line(e)}", file=sys.stderr)
        return 2
    except Exception as e:
        if os.environ.get("GONGZHI_DEBUG"):
            raise
        print(f"错误：{one_line(e)}", file=sys.stderr)
        return 1

