"""Photo commands of the `gongzhi` CLI (issue #24):

    gongzhi photos clean [--tenant SLUG] [--dry-run]

Rebuilds the photos stored before uploads were cleaned of EXIF/GPS (gongzhi/ops/photos.py), under
GONGZHI_UPLOAD_DIR, as the database owner (GONGZHI_MIGRATION_DATABASE_URL, else
GONGZHI_DATABASE_URL). Safe to run again; run it once after upgrading to migration 0029.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from gongzhi.settings import Settings


def cmd_photos_clean(settings: Settings, args: argparse.Namespace) -> int:
    from gongzhi.ops.photos import UnknownTenant, clean_photos
    from tenants.session import make_engine, make_sessionmaker

    async def run() -> int:
        engine = make_engine(settings.owner_url)
        try:
            report = await clean_photos(make_sessionmaker(engine), Path(settings.upload_dir), tenant=args.tenant,
                                        dry_run=args.dry_run, echo=lambda line: print(line, file=sys.stderr))
        except UnknownTenant as e:
            print(f"错误：没有街道 {e}", file=sys.stderr)
            return 2
        finally:
            await engine.dispose()
        verb = "将重建" if args.dry_run else "已重建"
        print(f"照片清理{'（试运行，未改动）' if args.dry_run else ''}：{report.tenants} 个街道，{verb} "
              f"{report.cleaned} 张，无法解码 {report.unreadable} 张"
              f"{'' if args.dry_run else '（已改名为 .unreadable，不再提供）'}，文件缺失 {report.missing} 张")
        return 0

    return asyncio.run(run())


def add_photo_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("photos", help="case photos (issue #24)").add_subparsers(dest="photos_cmd", required=True)
    c = p.add_parser("clean", help="strip EXIF/GPS from photos stored before 0029: rebuild them and their thumbnails")
    c.add_argument("--tenant", help="only this tenant (slug); default: every tenant")
    c.add_argument("--dry-run", action="store_true", help="count what would be rebuilt; change nothing")
    c.set_defaults(fn=cmd_photos_clean)
