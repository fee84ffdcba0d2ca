"""Personal-data commands of the `gongzhi` CLI (issue #24; docs/personal-data.md):

    gongzhi pii reapply-erasures [--tenant SLUG]

Run after restoring a backup: erases again everyone on each tenant's erasure list, as the database
owner (GONGZHI_MIGRATION_DATABASE_URL, else GONGZHI_DATABASE_URL). Safe to run again.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from gongzhi.settings import Settings


def cmd_pii_reapply(settings: Settings, args: argparse.Namespace) -> int:
    from gongzhi.ops.pii import reapply_erasures
    from tenants.session import make_engine, make_sessionmaker

    async def run() -> int:
        engine = make_engine(settings.owner_url)
        try:
            done = await reapply_erasures(make_sessionmaker(engine), tenant=args.tenant,
                                          upload_root=Path(settings.upload_dir))
        except LookupError as e:
            print(f"错误：没有街道 {e}", file=sys.stderr)
            return 2
        finally:
            await engine.dispose()
        for slug, count in done.items():
            print(f"{slug}: 重新删除 {count} 人")
        return 0

    return asyncio.run(run())


def add_pii_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("pii", help="personal data (issue #24)").add_subparsers(dest="pii_cmd", required=True)
    r = p.add_parser("reapply-erasures", help="erase again everyone on the erasure list (after restoring a backup)")
    r.add_argument("--tenant", help="only this tenant (slug); default: every tenant")
    r.set_defaults(fn=cmd_pii_reapply)
