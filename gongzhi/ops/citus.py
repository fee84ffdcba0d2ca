"""Distributing an existing gongzhi database on Citus, once (issue #27): ``gongzhi citus distribute``.

Run as the database owner (``GONGZHI_MIGRATION_DATABASE_URL``) on the coordinator, after
``gongzhi migrate``, in a database where ``CREATE EXTENSION citus`` was run and the workers added
(``citus_add_node``). In one transaction (sequential mode, so reference and distributed tables may be
written in it):

1. every foreign key of the tables still to convert is recorded (``pg_get_constraintdef``) and
   dropped — ``create_reference_table('tenants')`` with foreign keys still pointing at it turns every
   table linked to it into a Citus local table, and the first ``create_distributed_table`` then fails
   on the foreign keys;
2. the platform tables (the models' tables without ``tenant_id``) become reference tables;
3. every tenant table is distributed by ``tenant_id``, all of them in one colocation group (the first
   one decides the shard count), so a tenant's rows of every table sit on the same worker and every
   join of a request stays on one shard;
4. the local copies left on the coordinator are truncated, the foreign keys re-added as they were;
5. the database defaults Citus needs are set (``ALTER DATABASE … SET``: ``citus.propagate_set_commands
   = 'local'``, ``citus.multi_shard_modify_mode = 'sequential'``, ``citus.enable_unsafe_triggers =
   on`` — docs/scaling.md says why).

After the commit every shard of every distributed table is checked on the workers
(``run_command_on_shards``): row-level security enabled and forced, the same number of policies as
the table on the coordinator; a shard that lacks it gets ``ENABLE``/``FORCE ROW LEVEL SECURITY``
again (Citus propagates it) and is checked once more.

A database already distributed this way is left as it is (a second run changes nothing); one only
partly distributed (say, a tenant table created later without the migration helper) gets the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.base import Base

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# What `distribute` sets on the database (ALTER DATABASE … SET), and docs/scaling.md explains.
DATABASE_SETTINGS = {
    "citus.propagate_set_commands": "local",
    "citus.multi_shard_modify_mode": "sequential",
    "citus.enable_unsafe_triggers": "on",
}
# SECURITY DEFINER functions the app calls in a transaction that has written the tenant's shards as
# the app role (0043's erasure of timeline notes): run on the coordinator, their statements would go
# as the function's owner on connections of their own, and Citus refuses ("cannot perform query on
# placements that were modified in this transaction by a different user"). Distributed by their
# tenant argument, colocated with the tenant tables and with ``force_delegation``, a call goes on the
# transaction's own connection to the worker holding the tenant's shards and runs there, next to
# them. function signature → (tenant argument, a table of the colocation group).
DELEGATED_FUNCTIONS = {"gongzhi_erase_timeline_notes(uuid, uuid[])": ("p_tenant", "case_events")}


class CitusError(Exception):
    """The database cannot be distributed as asked (not PostgreSQL, no citus, not migrated)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def platform_tables() -> list[str]:
    """The models' tables without ``tenant_id``: reference tables (a copy on every worker)."""
    return [t.name for t in Base.metadata.sorted_tables if "tenant_id" not in t.c]


def tenant_tables() -> list[str]:
    """The models' tables with ``tenant_id``, parents first: distributed by it, colocated."""
    return [t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.c]


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: str
    referred: str
    definition: str

    def drop_sql(self) -> str:
        return f'ALTER TABLE "{self.table}" DROP CONSTRAINT "{self.name}"'

    def add_sql(self) -> str:
        return f'ALTER TABLE "{self.table}" ADD CONSTRAINT "{self.name}" {self.definition}'


@dataclass
class ShardCheck:
    node: str  # a worker, host:port
    shards: int  # placements of distributed tables found there
    bad: list[str] = field(default_factory=list)  # shards without forced RLS or with other policies; mismatches


@dataclass
class DistributeReport:
    citus_version: str
    workers: int
    reference: list[str] = field(default_factory=list)  # made reference tables by this run
    distributed: list[str] = field(default_factory=list)  # distributed by this run
    foreign_keys: int = 0  # dropped and re-added by this run
    settings: list[str] = field(default_factory=list)  # database defaults changed by this run
    shard_count: int = 0  # shards per distributed table (the colocation group's)
    shards_checked: int = 0  # shard placements whose row-level security was verified on the workers
    rls_repaired: list[str] = field(default_factory=list)  # tables whose shards needed ENABLE/FORCE again
    functions: list[str] = field(default_factory=list)  # functions whose calls are delegated by this run

    @property
    def changed(self) -> bool:
        return bool(self.reference or self.distributed or self.foreign_keys or self.settings or self.rls_repaired
                    or self.functions)


async def citus_version(conn: AsyncConnection) -> str | None:
    """The citus extension's version in this database, or None."""
    if conn.dialect.name != "postgresql":
        return None
    value = await conn.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'citus'"))
    return None if value is None else str(value)


async def foreign_keys(conn: AsyncConnection) -> list[ForeignKey]:
    """Every foreign key between tables of the current schema, as ``pg_get_constraintdef`` writes it."""
    rows = await conn.execute(
        text(
            "SELECT c.conname, t.relname, r.relname, pg_get_constraintdef(c.oid)"
            " FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid"
            " JOIN pg_namespace n ON n.oid = t.relnamespace"
            " WHERE c.contype = 'f' AND n.nspname = current_schema() ORDER BY t.relname, c.conname"
        )
    )
    return [ForeignKey(str(a), str(b), str(c), str(d)) for a, b, c, d in rows]


async def _states(conn: AsyncConnection) -> dict[str, tuple[str, str, int, str | None]]:
    """table → (partmethod, repmodel, colocationid, distribution column) of the Citus tables here."""
    rows = await conn.execute(
        text(
            "SELECT c.relname, p.partmethod::text, p.repmodel::text, p.colocationid,"
            " column_to_column_name(p.logicalrelid, p.partkey)"
            " FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
        )
    )
    return {str(r[0]): (str(r[1]), str(r[2]), int(r[3]), None if r[4] is None else str(r[4])) for r in rows}


def _is_reference(state: tuple[str, str, int, str | None] | None) -> bool:
    return state is not None and state[0] == "n" and state[1] == "t"


def _is_distributed(state: tuple[str, str, int, str | None] | None) -> bool:
    return state is not None and state[0] == "h" and state[3] == "tenant_id"


async def _preflight(conn: AsyncConnection, only_present: bool) -> tuple[str, int, set[str]]:
    if conn.dialect.name != "postgresql":
        raise CitusError("NOT_POSTGRESQL", f"Citus 只用于 PostgreSQL，此数据库是 {conn.dialect.name}")
    version = await citus_version(conn)
    if version is None:
        raise CitusError(
            "CITUS_MISSING",
            "此数据库没有 citus 扩展：这是普通 PostgreSQL，无需分布"
            "（在 Citus 协调节点上先 CREATE EXTENSION citus 并用 citus_add_node 加入工作节点）",
        )
    present = set(
        (
            await conn.scalars(
                text(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
                )
            )
        ).all()
    )
    missing = [t for t in platform_tables() + tenant_tables() if t not in present]
    if missing and not only_present:
        raise CitusError(
            "NOT_MIGRATED",
            f"数据库不在最新版本，缺少表 {', '.join(missing[:5])}"
            f"{' 等' if len(missing) > 5 else ''}：先运行 gongzhi migrate",
        )
    workers = int(await conn.scalar(text("SELECT count(*) FROM citus_get_active_worker_nodes()")) or 0)
    release = await conn.scalar(text("SELECT (regexp_match(citus_version(), '^Citus ([^ ]+)'))[1]"))
    version = str(release or version)
    return version, workers, present


async def _distribute_tables(
    conn: AsyncConnection, report: DistributeReport, shard_count: int | None, present: set[str]
) -> None:
    states = await _states(conn)
    reference = [t for t in platform_tables() if t in present and not _is_reference(states.get(t))]
    distributed_already = [t for t in tenant_tables() if _is_distributed(states.get(t))]
    to_distribute = [t for t in tenant_tables() if t in present and t not in distributed_already]
    wrong = [
        t
        for t in platform_tables() + tenant_tables()
        if t in states and t in reference + to_distribute and states[t][0] != "n"
    ]
    if wrong:
        raise CitusError(
            "DISTRIBUTED_OTHERWISE", f"这些表已按其他方式分布，需先 undistribute_table：{', '.join(wrong)}"
        )
    colocated = {states[t][2] for t in distributed_already}
    if len(colocated) > 1:
        raise CitusError("NOT_COLOCATED", "已分布的租户表不在同一个共置组，需先 undistribute_table 后重新运行")
    if not (reference or to_distribute):
        return
    changing = set(reference + to_distribute)
    fks = [fk for fk in await foreign_keys(conn) if fk.table in changing or fk.referred in changing]
    # One transaction: a parallel operation on a distributed table forbids writing a reference table
    # later in the same transaction; sequential mode allows it. Triggers (the audit log's, 0032) are
    # refused on distributed tables unless allowed.
    await conn.execute(text("SET LOCAL citus.multi_shard_modify_mode = 'sequential'"))
    await conn.execute(text("SET LOCAL citus.enable_unsafe_triggers = on"))
    for fk in fks:
        await conn.execute(text(fk.drop_sql()))
    for table in reference:
        await conn.execute(text(f"SELECT create_reference_table('{_name(table)}')"))
        report.reference.append(table)
    colocate_with = distributed_already[0] if distributed_already else None
    for table in to_distribute:
        if colocate_with is None:
            shards = f", shard_count => {int(shard_count)}" if shard_count else ""
            await conn.execute(
                text(f"SELECT create_distributed_table('{_name(table)}', 'tenant_id', colocate_with => 'none'{shards})")
            )
            colocate_with = table
        else:
            await conn.execute(
                text(
                    f"SELECT create_distributed_table('{_name(table)}', 'tenant_id',"
                    f" colocate_with => '{colocate_with}')"
                )
            )
        report.distributed.append(table)
    for table in reference + to_distribute:
        # The rows were copied into the shards; the coordinator's own copy is dead weight.
        await conn.execute(text(f"SELECT truncate_local_data_after_distributing_table('{_name(table)}')"))
    for fk in fks:
        await conn.execute(text(fk.add_sql()))
    report.foreign_keys = len(fks)


async def _delegate_functions(conn: AsyncConnection, report: DistributeReport) -> None:
    """``DELEGATED_FUNCTIONS`` made distributed functions (``create_distributed_function``), once."""
    states = await _states(conn)
    for signature, (argument, table) in DELEGATED_FUNCTIONS.items():
        exists = await conn.scalar(text("SELECT to_regprocedure(:f) IS NOT NULL"), {"f": signature})
        if not exists or not _is_distributed(states.get(table)):
            continue  # an older revision (the function comes with 0043), or its table not distributed
        done = await conn.scalar(
            text(
                "SELECT d.distribution_argument_index IS NOT NULL AND coalesce(d.force_delegation, false)"
                " FROM pg_dist_object d WHERE d.classid = 'pg_proc'::regclass AND d.objid = to_regprocedure(:f)"
            ),
            {"f": signature},
        )
        if done:
            continue
        await conn.execute(
            text(
                "SELECT create_distributed_function(:f, :a, colocate_with => :t, force_delegation => true)"
            ),
            {"f": signature, "a": argument, "t": table},
        )
        report.functions.append(signature)


async def _database_settings(conn: AsyncConnection, report: DistributeReport) -> None:
    rows = await conn.scalars(
        text(
            "SELECT unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
            " WHERE d.datname = current_database() AND s.setrole = 0"
        )
    )
    current = dict(item.split("=", 1) for item in rows.all())
    db = _name(str(await conn.scalar(text("SELECT current_database()"))))
    for name, value in DATABASE_SETTINGS.items():
        if current.get(name) != value:
            await conn.execute(text(f"ALTER DATABASE \"{db}\" SET {name} = '{value}'"))
            report.settings.append(f"{name}={value}")


async def check_shards(conn: AsyncConnection) -> list[ShardCheck]:
    """Asked on each worker (``run_command_on_workers``, one query per worker): is row-level security
    enabled and forced on every shard placed there, with as many policies as its table has on the
    coordinator, and does the worker hold as many placements as the coordinator's metadata says?"""
    expected = (
        await conn.execute(
            text(
                "SELECT c.relname, (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)"
                " FROM pg_dist_partition d JOIN pg_class c ON c.oid = d.logicalrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND d.partmethod = 'h' ORDER BY 1"
            )
        )
    ).all()
    if not expected:
        return []
    values = ", ".join(f"('{_name(str(t))}', {int(n)})" for t, n in expected)
    on_worker = (
        "SELECT count(*) || ' ' || coalesce(string_agg(x.shard, ',') FILTER (WHERE NOT x.ok), '') FROM ("
        " SELECT e.t || '_' || s.shardid AS shard, coalesce(c.relrowsecurity AND c.relforcerowsecurity"
        " AND (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) = e.n, false) AS ok"
        f" FROM (VALUES {values}) AS e(t, n)"
        " JOIN pg_dist_shard s ON s.logicalrelid = e.t::regclass"
        " JOIN pg_dist_placement pl ON pl.shardid = s.shardid"
        " JOIN pg_dist_local_group g ON g.groupid = pl.groupid"
        " LEFT JOIN pg_class c ON c.relname = e.t || '_' || s.shardid"
        " AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())) x"
    )
    placed = {
        (str(h), int(p)): int(n)
        for h, p, n in await conn.execute(
            text(
                "SELECT n.nodename, n.nodeport, count(*) FROM pg_dist_shard s"
                " JOIN pg_dist_partition d ON d.logicalrelid = s.logicalrelid AND d.partmethod = 'h'"
                " JOIN pg_dist_placement pl ON pl.shardid = s.shardid JOIN pg_dist_node n ON n.groupid = pl.groupid"
                " GROUP BY 1, 2"
            )
        )
    }
    checks: list[ShardCheck] = []
    rows = await conn.execute(
        text("SELECT nodename, nodeport, success, result FROM run_command_on_workers(:sql)"), {"sql": on_worker}
    )
    for host, port, success, result in rows:
        node = f"{host}:{port}"
        if not success:
            checks.append(ShardCheck(node, 0, [f"{node}: {result}"]))
            continue
        count, _, bad = str(result).partition(" ")
        check = ShardCheck(node, int(count), [b for b in bad.split(",") if b])
        if check.shards != placed.get((str(host), int(port)), 0):
            check.bad.append(f"{node}: {check.shards} 个分片，元数据记 {placed.get((str(host), int(port)), 0)} 个")
        checks.append(check)
    return checks


async def distribute(
    engine: AsyncEngine, *, shard_count: int | None = None, only_present: bool = False
) -> DistributeReport:
    """Make the database distributed (see the module's text); a no-op when it is already.
    ``only_present``: the tables of an older revision (the tests distribute a database at one and
    migrate it on); otherwise a table of the models missing here is an error (not migrated)."""
    async with engine.begin() as conn:
        version, workers, present = await _preflight(conn, only_present)
        report = DistributeReport(version, workers)
        await _distribute_tables(conn, report, shard_count, present)
        await _delegate_functions(conn, report)
        await _database_settings(conn, report)
    async with engine.begin() as conn:
        checks = await check_shards(conn)
        states = await _states(conn)
        shards = {b for c in checks for b in c.bad}
        for table in sorted(t for t, st in states.items() if _is_distributed(st)):
            if any(re.fullmatch(rf"{table}_\d+", b) for b in shards):
                await conn.execute(text(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY'))
                await conn.execute(text(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY'))
                report.rls_repaired.append(table)
    if report.rls_repaired:
        async with engine.begin() as conn:
            checks = await check_shards(conn)
    bad = [b for c in checks for b in c.bad]
    if bad:
        raise CitusError("RLS_NOT_ON_SHARDS", f"{len(bad)} 个分片没有强制行级安全或策略不全：{', '.join(bad[:5])}")
    report.shards_checked = sum(c.shards for c in checks)
    async with engine.connect() as conn:
        report.shard_count = int(
            await conn.scalar(text("SELECT max(shard_count) FROM citus_tables WHERE citus_table_type = 'distributed'"))
            or 0
        )
    return report


def _name(table: str) -> str:
    if not _NAME.fullmatch(table):
        raise CitusError("BAD_NAME", f"表名不合规：{table!r}")
    return table
