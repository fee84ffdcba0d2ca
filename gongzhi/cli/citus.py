"""Citus commands of the `gongzhi` CLI (issue #27):

    gongzhi citus distribute [--shard-count N]

Distributes an existing database, once: the platform tables become reference tables, every tenant
table is distributed by ``tenant_id`` in one colocation group, the foreign keys are dropped before and
re-added after, and row-level security is verified on every shard on the workers
(gongzhi/ops/citus.py). As the database owner (``GONGZHI_MIGRATION_DATABASE_URL``), on the
coordinator, after ``gongzhi migrate``. Running it again changes nothing. On plain PostgreSQL it
refuses in one line. docs/scaling.md §2 has the whole procedure.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from gongzhi.settings import Settings


def cmd_distribute(settings: Settings, args: argparse.Namespace) -> int:
    from gongzhi.ops.citus import CitusError, DistributeReport, distribute
    from tenants.session import make_engine

    async def run() -> DistributeReport:
        engine = make_engine(settings.owner_url, pool_size=1, max_overflow=1)
        try:
            return await distribute(engine, shard_count=args.shard_count)
        finally:
            await engine.dispose()

    try:
        r = asyncio.run(run())
    except CitusError as e:
        print(f"错误：{e.code}：{e.message}", file=sys.stderr)
        return 2
    head = f"Citus {r.citus_version}，{r.workers} 个工作节点"
    if not r.changed:
        print(f"{head}：已分布，未作改动（每表 {r.shard_count} 个分片，{r.shards_checked} 个分片已核对行级安全）")
        return 0
    if r.reference or r.distributed:
        print(
            f"{head}：参照表 {len(r.reference)} 张（{', '.join(r.reference) or '无'}），"
            f"按 tenant_id 共置分布 {len(r.distributed)} 张，外键 {r.foreign_keys} 条已重建"
        )
    else:
        print(f"{head}：表已分布")
    if r.settings:
        print("数据库默认设置：" + ", ".join(r.settings))
    if r.rls_repaired:
        print("重新启用行级安全：" + ", ".join(r.rls_repaired))
    if r.functions:
        print("函数调用下推到租户分片所在工作节点：" + ", ".join(r.functions))
    print(f"每表 {r.shard_count} 个分片；{r.shards_checked} 个分片在工作节点上核对：行级安全已启用并强制，策略齐全")
    return 0


def add_citus_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser("citus", help="Citus scale-out (issue #27; docs/scaling.md)").add_subparsers(
        dest="citus_cmd", required=True
    )
    d = c.add_parser(
        "distribute",
        help="distribute an existing database once: reference tables, tenant tables "
        "by tenant_id (colocated), foreign keys re-added, RLS verified on every shard (as the owner)",
    )
    d.add_argument(
        "--shard-count",
        type=int,
        default=None,
        help="shards per distributed table when none is distributed yet (default: citus.shard_count)",
    )
    d.set_defaults(fn=cmd_distribute)
