"""Operations (issue #10): settings, secrets and personal data kept out of logs, metrics, traces,
tenant suspend/export/delete/import, the Citus-ready key layout, backups with pg_dump."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gongzhi.http import observability as obs
from gongzhi.http.app import create_app
from gongzhi.ops import tenants as tenant_ops
from gongzhi.settings import Settings
from models import TenantStatus, User
from models.base import Base
from resolvers.ids import encode_global_id
from tenants.rls import set_tenant_sql
from tenants.session import make_engine
from tests.support.cli import run_cli
from tests.support.harness import (
    APP_ROLE,
    JWT_SECRET,
    KEYLESS_TABLES,
    OWNER_ROLE,
    PG_ADMIN_URL,
    Api,
    DbEnv,
    World,
    drop_database_later,
    new_slug,
    pg_admin,
)
from tests.support.paths import ROOT
from tests.support.world import build_tenant

ME = "query Me { me { username } }"


# -- settings -------------------------------------------------------------------------------------

def test_settings_file_and_environment(tmp_path: Path) -> None:
    f = tmp_path / "gongzhi.env"
    f.write_text("# production\nGONGZHI_DB_POOL_SIZE=7\nexport GONGZHI_JWT_SECRET='from-file-secret'\n"
                 "GONGZHI_LISTEN_DATABASE_URL=postgresql://app:pw@db:5432/g\n\nGONGZHI_LOG_FORMAT=text\n")
    s = Settings.from_env({"GONGZHI_SETTINGS_FILE": str(f), "GONGZHI_DB_POOL_SIZE": "3"})
    assert s.pool_size == 3  # the environment wins over the file
    assert s.jwt_secret == "from-file-secret" and s.log_format == "text"
    assert s.listen_url == "postgresql://app:pw@db:5432/g"
    bad = tmp_path / "bad.env"
    bad.write_text("PATH=/tmp\n")
    with pytest.raises(ValueError, match="GONGZHI_NAME=value"):
        Settings.from_env({"GONGZHI_SETTINGS_FILE": str(bad)})


def test_every_setting_is_documented_with_its_default() -> None:
    doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    section = doc.split("# Settings", 1)[1].split("\n## ", 1)[0]  # the table, before the first sub-heading
    source = (ROOT / "gongzhi" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'"(GONGZHI_[A-Z_]+)"', source))
    assert len(names) > 25
    for name in sorted(names):
        rows = [line for line in section.splitlines() if line.startswith("|") and f"`{name}`" in line]
        assert rows, f"{name} is not in the table of docs/settings.md"
        assert rows[0].count("|") >= 4, f"{name}: no default column"


def test_secrets_never_in_repr_or_redacted() -> None:
    s = Settings(database_url="postgresql+asyncpg://app:db-pass-123@h/g", jwt_secret="jwt-secret-456",
                 data_keys="k1:" + "A" * 43 + "=", index_key="index-key-789",
                 redis_url="redis://:redis-pass-0@r:6379/0")
    shown = repr(s) + orjson.dumps(s.redacted()).decode()
    for secret in ("db-pass-123", "jwt-secret-456", "A" * 43, "index-key-789", "redis-pass-0"):
        assert secret not in shown


# -- the Citus-ready layout ------------------------------------------------------------------------

def test_every_tenant_key_includes_tenant_id() -> None:
    """Distributing by tenant_id (Citus) needs tenant_id in every primary key, unique constraint and
    foreign key between tenant tables; platform tables (reference tables) are tenants, users, the
    platform audit log and the holiday arrangements loaded for every tenant (issue #22)."""
    from sqlalchemy import Index, UniqueConstraint

    problems: list[str] = []
    tenant_tables = [t for t in Base.metadata.sorted_tables if "tenant_id" in t.c]
    platform = {t.name for t in Base.metadata.sorted_tables if "tenant_id" not in t.c}
    assert platform == {"tenants", "users", "platform_audit", "platform_calendars", "platform_calendar_days"}, platform
    assert len(tenant_tables) > 40
    for t in tenant_tables:
        if t.name in KEYLESS_TABLES:  # no key (migration 0064): tenant_id leads each of its indexes
            if not t.indexes or any(ix.columns[0].name != "tenant_id" for ix in t.indexes):
                problems.append(f"{t.name}: a table without a key and an index not led by tenant_id")
        elif "tenant_id" not in t.primary_key.columns:
            problems.append(f"{t.name}: primary key without tenant_id")
        for c in t.constraints:
            if isinstance(c, UniqueConstraint) and "tenant_id" not in c.columns:
                problems.append(f"{t.name}: unique {c.name} without tenant_id")
        for ix in t.indexes:
            if isinstance(ix, Index) and ix.unique and "tenant_id" not in ix.columns:
                problems.append(f"{t.name}: unique index {ix.name} without tenant_id")
        for col in t.columns:
            if col.unique and col.name != "tenant_id":
                problems.append(f"{t.name}.{col.name}: unique without tenant_id")
        for fk in t.foreign_key_constraints:
            target = fk.referred_table
            if target.name in platform:
                continue  # to a reference table: fine under Citus
            if "tenant_id" not in [c.name for c in fk.columns]:
                problems.append(f"{t.name}: foreign key {fk.name} to {target.name} without tenant_id")
    assert problems == []


# -- logs, metrics, traces -------------------------------------------------------------------------

async def test_metrics_count_operations_outcomes_pool_and_policy_loads(api: Api, fresh: World) -> None:
    a = fresh.a
    for _ in range(2):
        await api.gql(a, "grid1", ME)
    # Refused before its document is parsed (issue #24): counted under the operationName it sends.
    await api.client.post("/graphql", json={"query": ME, "operationName": "Me"},
                          headers={"authorization": "Bearer not-a-token"})
    r = await api.client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    body = r.text

    def value(name: str, **labels: str) -> float:
        pat = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
        for line in body.splitlines():
            if line.startswith(pat + " "):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"{pat} not in /metrics")

    assert value("gongzhi_requests_total", operation="Me", outcome="ok") >= 2
    assert value("gongzhi_requests_total", operation="Me", outcome="refused") >= 1
    assert value("gongzhi_request_duration_seconds_count", operation="Me") >= 3
    assert value("gongzhi_policy_reloads_total") >= 1
    assert value("gongzhi_db_pool_in_use") >= 0
    assert value("gongzhi_subscriptions") >= 0


async def test_a_request_makes_spans(db: DbEnv) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    assert not obs.tracing_requested({})  # off by default
    assert obs.tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not obs.tracing_requested({"OTEL_TRACES_EXPORTER": "none"})
    tw = await build_tenant(db.sessionmaker, new_slug("tr"))
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    obs.use_tracer_provider(provider)
    try:
        import httpx

        settings = Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, rate_limit_per_minute=0)
        app = create_app(settings, engine=db.engine)
        trace_id = "0af7651916cd43dd8448eb211c80319c"
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            api = Api(c, settings)
            r = await api.post(ME, token=api.token(tw, "grid1"),
                               headers={"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"})
            assert r.status_code == 200
    finally:
        obs.use_tracer_provider(None)
    spans = exporter.get_finished_spans()
    # OpenTelemetry's GraphQL conventions (issue #25): named by the operation type, never by the
    # client's operation name, which is an attribute
    server = [s for s in spans if s.name == "query"]
    assert len(server) == 1, [s.name for s in spans]
    assert not [s for s in spans if "Me" in s.name], [s.name for s in spans]
    assert server[0].attributes is not None and server[0].attributes["gongzhi.tenant"] == tw.slug
    assert server[0].attributes["graphql.operation.type"] == "query"
    assert server[0].attributes["graphql.operation.name"] == "Me"
    assert format(server[0].context.trace_id, "032x") == trace_id  # the caller's trace continues
    queries = [s for s in spans if s.name == "db.query"]
    # Every statement is inside the request's span: directly, or (me compiles since issue #21) inside
    # the compiled read's span, itself a child of the request's.
    by_id = {s.context.span_id: s for s in spans}

    def parent(s: Any) -> Any:
        assert s.parent is not None, s.name
        return by_id[s.parent.span_id]

    assert queries and all(parent(s) is server[0] or parent(parent(s)) is server[0] for s in queries)
    compiled = [s for s in spans if s.name == "graphql.compiled_read"]
    if db.is_pg:  # only PostgreSQL compiles
        assert len(compiled) == 1 and parent(compiled[0]) is server[0]
        assert [s for s in queries if parent(s) is compiled[0]], "the compiled statement under its span"
        assert all(parent(s) in (server[0], compiled[0]) for s in queries)
    else:
        assert not compiled and all(parent(s) is server[0] for s in queries)


def test_json_log_line_has_request_context() -> None:
    import logging

    formatter = obs.JsonFormatter()
    info = obs.RequestInfo(request_id="rid-1", method="POST", path="/graphql", tenant="langya", user="u-1")
    token = obs.current.set(info)
    try:
        record = logging.LogRecord("gongzhi", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        line = orjson.loads(formatter.format(record))
    finally:
        obs.current.reset(token)
    assert line["msg"] == "hello world" and line["request_id"] == "rid-1"
    assert line["tenant"] == "langya" and line["user"] == "u-1"


def test_request_ids_are_unique_and_new_in_a_forked_child() -> None:
    ids = [obs.new_request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert obs.request_id_from("req-42.abc_Z") == "req-42.abc_Z"
    for unsafe in ("bad id", "x" * 65, "", None, "a\nb"):
        assert re.fullmatch(r"[0-9a-f]{32}", obs.request_id_from(unsafe))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a worker forked from this process must not repeat its ids
        os.write(write, obs.new_request_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert child[:16] != ids[0][:16] and child not in ids


# -- tenant operations -----------------------------------------------------------------------------

async def _dump(engine: AsyncEngine, tenant_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tenant, per table, values as stored (sealed columns as ciphertext)."""
    out: dict[str, list[dict[str, Any]]] = {}
    async with engine.connect() as conn, conn.begin():
        await tenant_ops._bind(conn, tenant_id)
        for table in tenant_ops.tenant_tables():
            out[table.name] = await tenant_ops.table_rows(conn, table, tenant_id)
    return out


async def _populate(api: Api, tw: Any) -> None:
    """Rows beyond the world's: a household and person (sealed phone and ID number), a case."""
    b1 = encode_global_id("Building", tw.areas["B1"])
    r = await api.gql(tw, "grid1", """mutation($i: CreateHouseholdInput!) { createHousehold(input: $i) {
        household { id } errors { code } } }""", {"i": {"buildingId": b1, "unit": "3", "room": "301"}})
    hh = r["data"]["createHousehold"]["household"]["id"]
    r = await api.gql(tw, "grid1", """mutation($i: CreatePersonInput!) { createPerson(input: $i) {
        person { id } errors { code } } }""", {"i": {"householdId": hh, "name": "周敏",
                                                     "idCardNo": "11010519491231002X", "phone": "13955501234"}})
    assert r["data"]["createPerson"]["errors"] == []
    r = await api.gql(tw, "resident", """mutation($i: ReportCaseInput!) { reportCase(input: $i) {
        case { id } errors { code } } }""", {"i": {"areaId": b1, "category": "drainage", "title": "井盖松动"}})
    assert r["data"]["reportCase"]["errors"] == []


async def test_export_delete_import_round_trip(db: DbEnv, api: Api, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    await _populate(api, a)
    before = await _dump(db.owner_engine, a.tenant_id)
    other_before = await _dump(db.owner_engine, b.tenant_id)
    assert sum(len(v) for v in before.values()) > 100

    archive = await tenant_ops.export_tenant(db.owner_engine, a.slug)
    for plain in ("11010519491231002X", "13955501234", *a.phones.values(), *a.id_cards.values()):
        assert plain.encode() not in archive  # personal data leaves sealed (the zip is deflated: check inside)
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        everything = b"".join(z.read(n) for n in z.namelist())
        manifest = orjson.loads(z.read("manifest.json"))
    for plain in ("11010519491231002X", "13955501234", *a.phones.values()):
        assert plain.encode() not in everything
    assert manifest["sealed_with"] and {t["name"]: t["rows"] for t in manifest["tables"]} == {
        k: len(v) for k, v in before.items()}

    deleted = await tenant_ops.delete_tenant(db.owner_engine, a.slug)
    assert sum(deleted["tables"].values()) == sum(len(v) for v in before.values())
    assert deleted["users_deleted"] == len(a.users)  # the office's own accounts go with it
    assert all(not rows for rows in (await _dump(db.owner_engine, a.tenant_id)).values())
    gone = await api.post(ME, token=api.token(a, "grid1"))
    assert gone.status_code == 403 and gone.json()["errors"][0]["extensions"]["code"] == "TENANT_NOT_ALLOWED"
    assert await _dump(db.owner_engine, b.tenant_id) == other_before  # the other tenant untouched

    result = await tenant_ops.import_tenant(db.owner_engine, archive)
    assert result["tables"] == {k: len(v) for k, v in before.items()}
    assert await _dump(db.owner_engine, a.tenant_id) == before
    # and it serves again, personal data opening with the same keys
    body = await api.gql(a, "grid1", """{ households(first: 50) { nodes { persons { name phone } } } }""")
    phones = [p["phone"] for n in body["data"]["households"]["nodes"] for p in n["persons"]]
    assert "13955501234" in phones

    with pytest.raises(tenant_ops.TenantOpError) as again:
        await tenant_ops.import_tenant(db.owner_engine, archive)
    assert again.value.code == "EXISTS"
    with pytest.raises(tenant_ops.TenantOpError) as bad:
        await tenant_ops.import_tenant(db.owner_engine, b"not a zip")
    assert bad.value.code == "BAD_ARCHIVE"


async def _accounts(engine: AsyncEngine, **where: Any) -> dict[uuid.UUID, tuple[str, uuid.UUID | None]]:
    u = tenant_ops.table_of(User)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(u.c.id, u.c.username, u.c.home_tenant_id).where(
            *[u.c[k] == v for k, v in where.items()]))).all()
    return {r.id: (r.username, r.home_tenant_id) for r in rows}


async def test_export_delete_import_keep_usernames_per_street_office(db: DbEnv, api: Api, fresh: World) -> None:
    """Usernames are unique per street office (users.home_tenant_id, DESIGN.md §8): B's account named
    like A's grid leader neither blocks A's import nor goes with A's delete; A's own accounts travel
    in the archive (one not yet referenced by any row too), go with A's delete and come back with
    its import; an account of A's office under the same name with another id is a clash (issue #24)."""
    a, b = fresh.a, fresh.b
    u = tenant_ops.table_of(User)
    twin, spare = uuid.uuid4(), uuid.uuid4()
    async with db.owner_engine.begin() as conn:
        await conn.execute(insert(u).values(id=twin, username=a.username("grid1"), display_name="同名",
                                            home_tenant_id=b.tenant_id, created_at=datetime.now(UTC)))
        await conn.execute(insert(u).values(id=spare, username=a.username("spare"), display_name="未分配",
                                            home_tenant_id=a.tenant_id, created_at=datetime.now(UTC)))
    own = await _accounts(db.owner_engine, home_tenant_id=a.tenant_id)
    assert len(own) == len(a.users) + 1

    archive = await tenant_ops.export_tenant(db.owner_engine, a.slug)
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        exported = {orjson.loads(line)["id"]["$uuid"] for line in z.read("users.jsonl").splitlines() if line}
    assert exported == {str(i) for i in own}  # all of A's, none of B's

    deleted = await tenant_ops.delete_tenant(db.owner_engine, a.slug)
    assert deleted["users_deleted"] == len(own)
    assert await _accounts(db.owner_engine, home_tenant_id=a.tenant_id) == {}
    assert twin in await _accounts(db.owner_engine, home_tenant_id=b.tenant_id)

    result = await tenant_ops.import_tenant(db.owner_engine, archive)
    assert result["users_added"] == len(own)
    assert await _accounts(db.owner_engine, home_tenant_id=a.tenant_id) == own
    for tw in (a, b):  # the same name answers in each office for that office's account
        r = await api.post(ME, token=api.token(tw, "grid1"))
        assert r.status_code == 200 and r.json()["data"]["me"]["username"] == tw.username("grid1")

    await tenant_ops.delete_tenant(db.owner_engine, a.slug)
    async with db.owner_engine.begin() as conn:  # A's name taken in A's office by another account
        await conn.execute(insert(u).values(id=uuid.uuid4(), username=a.username("grid1"), display_name="冒名",
                                            home_tenant_id=a.tenant_id, created_at=datetime.now(UTC)))
    with pytest.raises(tenant_ops.TenantOpError) as clash:
        await tenant_ops.import_tenant(db.owner_engine, archive)
    assert clash.value.code == "USER_CLASH"


async def test_suspended_tenant_is_refused_with_a_typed_error(db: DbEnv, api: Api, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    assert await tenant_ops.set_status(db.owner_engine, a.slug, TenantStatus.SUSPENDED)
    r = await api.post(ME, token=api.token(a, "grid1"))
    assert r.status_code == 403
    assert r.json()["errors"][0]["extensions"]["code"] == "TENANT_SUSPENDED"
    assert (await api.post(ME, token=api.token(b, "grid1"))).status_code == 200
    assert not await tenant_ops.set_status(db.owner_engine, a.slug, TenantStatus.SUSPENDED)
    assert await tenant_ops.set_status(db.owner_engine, a.slug, TenantStatus.ACTIVE)
    assert (await api.post(ME, token=api.token(a, "grid1"))).status_code == 200
    with pytest.raises(tenant_ops.TenantOpError):
        await tenant_ops.set_status(db.owner_engine, "no-such-tenant", TenantStatus.SUSPENDED)


def _cli(db: DbEnv, *args: str) -> subprocess.CompletedProcess[str]:
    """``gongzhi …``, in this process (tests/support/cli.py; CI time, issue #21)."""
    return run_cli(db, *args)


async def test_tenant_commands(db: DbEnv, api: Api, fresh: World, tmp_path: Path) -> None:
    a = fresh.a
    before = await _dump(db.owner_engine, a.tenant_id)
    out = await asyncio.to_thread(_cli, db, "tenant", "suspend", "--slug", a.slug)
    assert out.returncode == 0, out.stderr
    assert (await api.post(ME, token=api.token(a, "grid1"))).status_code == 403
    archive = tmp_path / "a.zip"
    assert (await asyncio.to_thread(_cli, db, "tenant", "export", "--slug", a.slug, "-o", str(archive))).returncode == 0
    refused = await asyncio.to_thread(_cli, db, "tenant", "delete", "--slug", a.slug, "--confirm", "other")
    assert refused.returncode == 2 and before == await _dump(db.owner_engine, a.tenant_id)
    gone = await asyncio.to_thread(_cli, db, "tenant", "delete", "--slug", a.slug, "--confirm", a.slug)
    assert gone.returncode == 0, gone.stderr
    out = await asyncio.to_thread(_cli, db, "tenant", "import", str(archive))
    assert out.returncode == 0, out.stderr
    assert await _dump(db.owner_engine, a.tenant_id) == before
    assert (await asyncio.to_thread(_cli, db, "tenant", "resume", "--slug", a.slug)).returncode == 0
    assert (await api.post(ME, token=api.token(a, "grid1"))).status_code == 200
    missing = await asyncio.to_thread(_cli, db, "tenant", "suspend", "--slug", "no-such-tenant")
    assert missing.returncode == 2 and "NOT_FOUND" in missing.stderr


# -- backups ---------------------------------------------------------------------------------------

async def test_pg_dump_restore_keeps_data_and_isolation(db: DbEnv, api: Api) -> None:
    if not db.is_pg:
        pytest.skip("pg_dump/pg_restore are PostgreSQL's (SQLite: copy the file while no process writes)")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.fail("pg_dump/pg_restore not installed (Debian: postgresql-client)")
    tenants = [await build_tenant(db.sessionmaker, new_slug("bk")) for _ in range(3)]
    await _populate(api, tenants[0])
    src_name = db.owner_url.rsplit("/", 1)[1]
    dst_name = f"{src_name}_restored"
    hostport = db.owner_url.split("@", 1)[1].split("/", 1)[0]
    host, port = hostport.split(":")
    dump = Path(f"/tmp/{dst_name}.dump")
    await pg_admin([f"CREATE DATABASE {dst_name} OWNER {OWNER_ROLE}"])
    restored_owner = make_engine(db.owner_url.rsplit("/", 1)[0] + "/" + dst_name, pool_size=1)
    restored_app = make_engine(db.app_url.rsplit("/", 1)[0] + "/" + dst_name, pool_size=1)
    try:
        # as the superuser: FORCEd row-level security stops even the owner from dumping every tenant
        base = ["-h", host, "-p", port, "-U", _pg_admin_user()]
        r = await asyncio.to_thread(subprocess.run, ["pg_dump", *base, "-Fc", "-f", str(dump), src_name],
                                    capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stderr
        r = await asyncio.to_thread(subprocess.run, ["pg_restore", *base, "-d", dst_name, "--exit-on-error",
                                                     str(dump)], capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stderr
        for tw in tenants:
            assert await _dump(restored_owner, tw.tenant_id) == await _dump(db.owner_engine, tw.tenant_id)
        async with restored_owner.connect() as conn:
            forced = dict((await conn.execute(text(
                "SELECT relname, relforcerowsecurity AND relrowsecurity FROM pg_class "
                "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"))).all())
        for table in tenant_ops.tenant_tables():
            assert forced[table.name] is True, table.name
        # the app role in the restored database still sees its own tenant only
        from models import Person

        async with restored_app.connect() as conn, conn.begin():
            await conn.execute(text(set_tenant_sql(tenants[0].tenant_id)))
            own = (await conn.execute(select(func.count()).select_from(Person))).scalar()
            others = (await conn.execute(select(func.count()).select_from(Person).where(
                Person.tenant_id == tenants[1].tenant_id))).scalar()
        assert own == len(tenants[0].persons) + 1 and others == 0
        async with restored_app.connect() as conn, conn.begin():
            unbound = (await conn.execute(select(func.count()).select_from(Person))).scalar()
        assert unbound == 0
    finally:
        await restored_owner.dispose()
        await restored_app.dispose()
        await asyncio.to_thread(dump.unlink, missing_ok=True)
        drop_database_later(dst_name)


def _pg_admin_user() -> str:
    return PG_ADMIN_URL.split("://", 1)[1].rpartition("@")[0].split(":", 1)[0] or "postgres"


_ = APP_ROLE


# -- platform administration over GraphQL ----------------------------------------------------------

async def test_platform_admin_mutations_only_for_platform_admins_and_audited(db: DbEnv, fresh: World) -> None:
    import base64

    import httpx

    from gongzhi.http.auth import issue_dev_token

    a = fresh.a
    settings = Settings(database_url=db.app_url, migration_database_url=db.owner_url, jwt_secret=JWT_SECRET,
                        rate_limit_per_minute=0, platform_api=True)
    app = create_app(settings, engine=db.engine)
    admin_id = uuid.uuid4()
    admin = issue_dev_token(settings, user_id=admin_id, username="ops", tenants=[], platform="admin")
    street_admin = issue_dev_token(settings, user_id=a.users["admin"], username=a.username("admin"),
                                   tenants=[a.slug])
    before = await _dump(db.owner_engine, a.tenant_id)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        async def call(token: str, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
            return await c.post("/platform/graphql", json={"query": query, "variables": variables or {}},
                                headers={"authorization": f"Bearer {token}"})

        # a street admin (the highest tenant role) is refused, and the refusal is audited
        r = await call(street_admin, 'mutation($s: String!) { suspendTenant(slug: $s) { errors { code } } }',
                       {"s": a.slug})
        assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "PLATFORM_ADMIN_REQUIRED"
        assert (await c.post("/platform/graphql", json={"query": "{ tenants { slug } }"})).status_code == 401
        api = Api(c, settings)
        assert (await api.post(ME, token=api.token(a, "grid1"))).status_code == 200  # nothing changed

        sus = await call(admin, 'mutation($s: String!) { suspendTenant(slug: $s) { tenant { status } '
                                'errors { code } } }', {"s": a.slug})
        assert sus.json()["data"]["suspendTenant"] == {"tenant": {"status": "suspended"}, "errors": []}
        refused = await api.post(ME, token=api.token(a, "grid1"))
        assert refused.json()["errors"][0]["extensions"]["code"] == "TENANT_SUSPENDED"
        exp = (await call(admin, 'mutation($s: String!) { exportTenant(slug: $s) { archive errors { code } } }',
                          {"s": a.slug})).json()["data"]["exportTenant"]
        assert exp["errors"] == [] and base64.b64decode(exp["archive"])[:2] == b"PK"
        bad = (await call(admin, 'mutation($s: String!) { deleteTenant(slug: $s, confirm: "x") { errors { code } } }',
                          {"s": a.slug})).json()["data"]["deleteTenant"]
        assert bad["errors"] == [{"code": "INVALID"}]
        gone = (await call(admin, 'mutation($s: String!) { deleteTenant(slug: $s, confirm: $s) { rows '
                                  'errors { code } } }', {"s": a.slug})).json()["data"]["deleteTenant"]
        assert gone["errors"] == [] and gone["rows"] == sum(len(v) for v in before.values())
        back = (await call(admin, 'mutation($x: String!) { importTenant(archive: $x) { tenant { slug status } '
                                  'rows errors { code } } }', {"x": exp["archive"]})).json()["data"]["importTenant"]
        assert back["errors"] == [] and back["tenant"] == {"slug": a.slug, "status": "suspended"}
        await call(admin, 'mutation($s: String!) { resumeTenant(slug: $s) { errors { code } } }', {"s": a.slug})
        assert (await api.post(ME, token=api.token(a, "grid1"))).status_code == 200
        slug = new_slug("pc")
        made = (await call(admin, 'mutation($s: String!) { createTenant(slug: $s, name: "新街道") { tenant { slug } '
                                  'errors { code } } }', {"s": slug})).json()["data"]["createTenant"]
        assert made == {"tenant": {"slug": slug}, "errors": []}
        log = (await call(admin, "{ platformAudit(last: 20) { action tenantSlug outcome userId } }")).json()
    assert await _dump(db.owner_engine, a.tenant_id) == before
    entries = [(e["action"], e["outcome"]) for e in reversed(log["data"]["platformAudit"])
               if e["tenantSlug"] in (a.slug, slug, None)]
    assert ("platform", "refused") in entries
    assert [e for e in entries if e[1] != "refused"][-7:] == [
        ("suspendTenant", "ok"), ("exportTenant", "ok"), ("deleteTenant", "error"), ("deleteTenant", "ok"),
        ("importTenant", "ok"), ("resumeTenant", "ok"), ("createTenant", "ok")]
    # (entries naming this test's tenants: other tests' platform calls, e.g. loadWorkingCalendar, share the log)
    assert all(e["userId"] == str(admin_id) for e in log["data"]["platformAudit"]
               if e["action"] != "platform" and e["tenantSlug"] in (a.slug, slug))
