"""Audit-log commands of the `gongzhi` CLI (issue #24), for the operator:

    gongzhi audit seal    [--tenant SLUG]                        chain the rows not sealed yet (the job does it too)
    gongzhi audit verify  [--tenant SLUG]                        recompute every chain; exit 1 at a broken link
    gongzhi audit archive --before DATE --output FILE [--tenant SLUG]   rows older than DATE to FILE (+ manifest)
    gongzhi audit purge   --before DATE --archive FILE           delete exactly the archived rows

They connect as the database owner (``GONGZHI_MIGRATION_DATABASE_URL``): the app role may not delete
audit rows. DATE is a day (YYYY-MM-DD), from midnight Beijing time. docs/operations.md says when to
run which.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from gongzhi.ops import audit as ops
from gongzhi.settings import Settings

T = TypeVar("T")


def _run(settings: Settings, fn: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    from tenants.session import make_engine

    async def run() -> T:
        engine = make_engine(settings.owner_url, pool_size=2)
        try:
            return await fn(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期应为 YYYY-MM-DD：{value!r}") from None


def cmd_seal(settings: Settings, args: argparse.Namespace) -> int:
    sealed = _run(settings, lambda e: ops.seal_all(e, args.tenant))
    for slug, count in sealed.items():
        print(f"租户 {slug}：封存 {count} 条")
    return 0


def cmd_verify(settings: Settings, args: argparse.Namespace) -> int:
    reports = _run(settings, lambda e: ops.verify_all(e, args.tenant))
    broken = 0
    for slug, r in reports:
        if r.broken is not None:
            broken += 1
            where = f"seq {r.broken.seq}" if r.broken.seq is not None else "seq -"
            row = f"，id {r.broken.row_id}" if r.broken.row_id is not None else ""
            print(f"审计链损坏：租户 {slug}（{where}{row}）：{r.broken.message}", file=sys.stderr)
            continue
        span = f"第 {r.start + 1}–{r.last} 条" if r.sealed else "无"
        purged = f"，此前 {r.start} 条已归档清理" if r.start else ""
        print(f"租户 {slug}：链完整，已封存 {r.sealed} 条（{span}{purged}），待封存 {r.unsealed} 条，"
              f"链尾哈希 {r.last_hash}")
    print(f"共 {len(reports)} 个租户：{len(reports) - broken} 个完好，{broken} 个损坏；"
          f"已封存 {sum(r.sealed for _, r in reports)} 条，待封存 {sum(r.unsealed for _, r in reports)} 条")
    return 1 if broken else 0


def cmd_archive(settings: Settings, args: argparse.Namespace) -> int:
    output = Path(args.output)
    manifest = _run(settings, lambda e: ops.archive(e, before=ops.day_start(args.before), output=output,
                                                    slug=args.tenant))
    for t in manifest["tenants"]:
        print(f"租户 {t['slug']}：归档 {t['count']} 条（第 {t['first_seq']}–{t['last_seq']} 条）")
    print(f"{manifest['rows']} 条写入 {output}（sha256 {manifest['sha256']}），清单 {ops.manifest_path(output)}")
    return 0


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    purged = _run(settings, lambda e: ops.purge(e, before=ops.day_start(args.before), archive_file=Path(args.archive),
                                                retention_days=settings.audit_retention_days))
    for slug, count in purged.items():
        print(f"租户 {slug}：清理 {count} 条")
    print(f"共清理 {sum(purged.values())} 条；链从检查点接续，可运行 gongzhi audit verify 核对")
    return 0


def _guarded(fn: Callable[[Settings, argparse.Namespace], int]) -> Callable[[Settings, argparse.Namespace], int]:
    def run(settings: Settings, args: argparse.Namespace) -> int:
        try:
            return fn(settings, args)
        except ops.AuditOpError as e:
            print(f"错误：{e.code}：{e.message}", file=sys.stderr)
            return 2
    return run


def add_audit_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    a = sub.add_parser("audit", help="the audit log's hash chain: seal, verify, archive, purge (as the owner)"
                       ).add_subparsers(dest="audit_cmd", required=True)
    s = a.add_parser("seal", help="chain the audit rows not sealed yet (the periodic job does it too)")
    s.add_argument("--tenant", help="one tenant's slug (default: every tenant)")
    s.set_defaults(fn=_guarded(cmd_seal))
    v = a.add_parser("verify", help="recompute every tenant's chain; exit 1 naming the first broken link")
    v.add_argument("--tenant", help="one tenant's slug (default: every tenant)")
    v.set_defaults(fn=_guarded(cmd_verify))
    x = a.add_parser("archive", help="write the rows created before DATE to FILE (JSONL, .gz: gzip) and "
                     "FILE.manifest.json; deletes nothing")
    x.add_argument("--before", type=_day, required=True, help="YYYY-MM-DD (midnight, Beijing time)")
    x.add_argument("--output", "-o", required=True)
    x.add_argument("--tenant", help="one tenant's slug (default: every tenant)")
    x.set_defaults(fn=_guarded(cmd_archive))
    p = a.add_parser("purge", help="delete exactly the rows of an archive (older than GONGZHI_AUDIT_RETENTION_DAYS)")
    p.add_argument("--before", type=_day, required=True, help="the archive's date, YYYY-MM-DD")
    p.add_argument("--archive", required=True, help="the file `gongzhi audit archive` wrote (its manifest beside it)")
    p.set_defaults(fn=_guarded(cmd_purge))
