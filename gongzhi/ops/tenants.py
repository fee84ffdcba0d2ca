"""Tenant operations (issue #10): suspend, resume, export, delete, import a street office.

They run as the database owner (``GONGZHI_MIGRATION_DATABASE_URL``): deleting a tenant removes rows
the app role may never delete (the audit log, case timelines). Row-level security is FORCED for the
owner too, so every statement on tenant tables runs in a transaction bound to the one tenant
(``app.tenant_id``) as well as filtered by ``tenant_id``.

The export is a zip archive, portable between databases of the same schema revision:

- ``manifest.json``: format, version, the Alembic revision, the tenant row, per table its row count
  (tables in foreign-key order), the key ids that sealed its personal data;
- ``users.jsonl``: the tenant's own accounts (``users.home_tenant_id``, DESIGN.md §8 "Accounts") and the
  linked identities its rows point at (platform rows);
- ``tables/NNN_<table>.jsonl``: one JSON object per row, parents before children.

Personal data stays sealed as stored (the ciphertext of ``Sealed`` columns is copied, never
opened): the archive is as safe as the database dump, and importing it needs the same data keys.
Values that JSON has no type for are tagged: ``{"$uuid": …}``, ``{"$dt": …}``, ``{"$date": …}``,
``{"$time": …}``, ``{"$dec": …}``, ``{"$bytes": base64}``, ``{"$enum": value}``, ``{"$json": …}``.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import io
import uuid
import zipfile
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypedDict

import orjson
from sqlalchemy import Table, bindparam, delete, insert, select, text, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import Enum as SAEnum
from sqlalchemy.types import Text

from models import Tenant, TenantStatus, User
from models.base import Base
from models.sealing import KEYRING, Sealed
from tenants.rls import set_tenant_sql

FORMAT = "gongzhi-tenant-export"
VERSION = 1


class TenantOpError(ValueError):
    """An operation that cannot be done as asked (unknown tenant, a slug taken, a bad archive)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def table_of(model: type[Base]) -> Table:
    """The model's Table: SQLAlchemy types ``__table__`` as any FromClause (a class may map a select),
    and insert, update and delete take a table."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def tenant_tables() -> list[Table]:
    """Every tenant table, parents before children (foreign-key order)."""
    return [t for t in Base.metadata.sorted_tables if "tenant_id" in t.c]


def _user_columns(table: Table) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table.name == "users"]


# -- values ---------------------------------------------------------------------------------------

def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return {"$enum": value.value}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$time": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, (dict, list)):
        return {"$json": value}
    raise TypeError(f"cannot export a {type(value).__name__}")


def _decode(value: Any, column_type: Any) -> Any:
    if not isinstance(value, dict):
        return value
    (tag, raw), = value.items()
    if tag == "$enum":
        enum_class = getattr(column_type, "enum_class", None) if isinstance(column_type, SAEnum) else None
        return enum_class(raw) if enum_class is not None else raw
    if tag == "$uuid":
        return uuid.UUID(raw)
    if tag == "$dt":
        return dt.datetime.fromisoformat(raw)
    if tag == "$date":
        return dt.date.fromisoformat(raw)
    if tag == "$time":
        return dt.time.fromisoformat(raw)
    if tag == "$dec":
        return Decimal(raw)
    if tag == "$bytes":
        return base64.b64decode(raw)
    if tag == "$json":
        return raw
    raise TenantOpError("BAD_ARCHIVE", f"unknown value tag {tag!r}")


def _raw_columns(table: Table) -> list[Any]:
    """The table's columns; sealed ones as stored (ciphertext), never opened."""
    return [type_coerce(c, Text()).label(c.name) if isinstance(c.type, Sealed) else c for c in table.c]


def _self_references(table: Table) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys
            if fk.column.table is table and fk.parent.name != "tenant_id"]


def _levels(table: Table, rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows of a self-referencing table (areas) in levels: each row after the rows it points at."""
    self_fks = _self_references(table)
    if not self_fks:
        return [rows]
    pending = {r["id"]: r for r in rows}
    levels: list[list[dict[str, Any]]] = []
    while pending:
        ready = [r for r in pending.values() if all(r[c] is None or r[c] not in pending for c in self_fks)]
        if not ready:
            raise TenantOpError("BAD_DATA", f"{table.name}: a cycle of references")
        for r in ready:
            del pending[r["id"]]
        levels.append(ready)
    return levels


def _parents_first(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for level in _levels(table, rows) for r in level]


# -- database access ------------------------------------------------------------------------------

async def _bind(conn: AsyncConnection, tenant_id: uuid.UUID | None) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text(set_tenant_sql(tenant_id)))


async def _tenant(conn: AsyncConnection, slug: str) -> Any:
    row = (await conn.execute(select(Tenant.__table__).where(Tenant.__table__.c.slug == slug))).mappings().first()
    if row is None:
        raise TenantOpError("NOT_FOUND", f"no tenant {slug!r}")
    return row


async def set_status(engine: AsyncEngine, slug: str, status: TenantStatus) -> bool:
    """Suspend or resume; True when the status changed. A suspended tenant's requests are refused
    (``TENANT_SUSPENDED``) from the next request on, in every server process."""
    t = table_of(Tenant)
    async with engine.begin() as conn:
        row = await _tenant(conn, slug)
        if row["status"] == status:
            return False
        await conn.execute(update(t).where(t.c.id == row["id"]).values(status=status))
        return True


async def table_rows(conn: AsyncConnection, table: Table, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    stmt = select(*_raw_columns(table)).where(table.c.tenant_id == tenant_id).order_by(table.c.id)
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def export_tenant(engine: AsyncEngine, slug: str) -> bytes:
    """The tenant's whole data as a zip archive (see the module docstring)."""
    from gongzhi.migrate import head_revision

    buf = io.BytesIO()
    tables: list[dict[str, Any]] = []
    kids: set[str] = set()
    async with engine.connect() as conn, conn.begin():
        tenant = await _tenant(conn, slug)
        tenant_id = tenant["id"]
        await _bind(conn, tenant_id)
        revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        user_ids: set[uuid.UUID] = set()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for i, table in enumerate(tenant_tables()):
                rows = _parents_first(table, await table_rows(conn, table, tenant_id))
                for col in _user_columns(table):
                    user_ids.update(r[col] for r in rows if r[col] is not None)
                for c in table.c:
                    if isinstance(c.type, Sealed):
                        kids.update(KEYRING.kid_of(r[c.name]) for r in rows if r[c.name])
                z.writestr(f"tables/{i:03d}_{table.name}.jsonl", b"".join(
                    orjson.dumps({k: _encode(v) for k, v in r.items()}) + b"\n" for r in rows))
                tables.append({"name": table.name, "rows": len(rows)})
            u = table_of(User)
            # Its own accounts, referenced or not (one created and not yet given a role is the office's
            # too), and the accounts its rows name (linked identities, present in other offices as well).
            users = [dict(r) for r in (await conn.execute(
                select(u).where((u.c.home_tenant_id == tenant_id) | u.c.id.in_(user_ids)).order_by(u.c.id)
            )).mappings()]
            z.writestr("users.jsonl", b"".join(
                orjson.dumps({k: _encode(v) for k, v in u.items()}) + b"\n" for u in users))
            manifest = {
                "format": FORMAT, "version": VERSION, "revision": revision, "head": head_revision(),
                "tenant": {k: _encode(v) for k, v in dict(tenant).items()},
                "tables": tables, "users": len(users), "sealed_with": sorted(kids),
                "exported_at": dt.datetime.now(dt.UTC).isoformat(),
            }
            z.writestr("manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return buf.getvalue()


class DeleteResult(TypedDict):
    tables: dict[str, int]  # rows deleted per tenant table
    users_deleted: int  # the tenant's own accounts


async def delete_tenant(engine: AsyncEngine, slug: str) -> DeleteResult:
    """Remove the tenant and every row of it (children first), then its own accounts
    (``users.home_tenant_id``: an account belongs to one street office, DESIGN.md §8, and no other
    office's rows may point at it). Identities the operator linked to several offices stay: they act
    in the others."""
    t = table_of(Tenant)
    counts: dict[str, int] = {}
    async with engine.begin() as conn:
        tenant = await _tenant(conn, slug)
        await _bind(conn, tenant["id"])
        for table in reversed(tenant_tables()):
            where = table.c.tenant_id == tenant["id"]
            if _self_references(table):  # children before parents (SQLite checks row by row)
                rows = [dict(r) for r in (await conn.execute(
                    select(table.c.id, *[table.c[c] for c in _self_references(table)]).where(where))).mappings()]
                for level in reversed(_levels(table, rows)):
                    ids = [r["id"] for r in level]
                    for i in range(0, len(ids), 500):
                        await conn.execute(delete(table).where(where, table.c.id.in_(ids[i:i + 500])))
                counts[table.name] = len(rows)
                continue
            result = await conn.execute(delete(table).where(where))
            counts[table.name] = int(result.rowcount or 0)
        await conn.execute(delete(t).where(t.c.id == tenant["id"]))
        u = table_of(User)
        result = await conn.execute(delete(u).where(u.c.home_tenant_id == tenant["id"]))
    return {"tables": counts, "users_deleted": int(result.rowcount or 0)}


def _jsonl(z: zipfile.ZipFile, name: str) -> Iterable[dict[str, Any]]:
    for line in z.read(name).splitlines():
        if line.strip():
            yield orjson.loads(line)


class ImportResult(TypedDict):
    tenant: str  # its slug
    tables: dict[str, int]  # rows imported per table
    users_added: int


async def import_tenant(engine: AsyncEngine, archive: bytes) -> ImportResult:
    """Restore an exported tenant (same ids, same sealed values) into a database of the same schema
    revision. Refused when the slug or the tenant id exists, or an account clashes: its id taken by
    another account, or its username taken in its street office (usernames are unique per office;
    a linked identity's, with no office, among linked identities)."""
    try:
        z = zipfile.ZipFile(io.BytesIO(archive))
        manifest = orjson.loads(z.read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, orjson.JSONDecodeError) as e:
        raise TenantOpError("BAD_ARCHIVE", f"not a tenant export: {e}") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise TenantOpError("BAD_ARCHIVE", "not a gongzhi tenant export of a known version")
    t = table_of(Tenant)
    u = table_of(User)
    tenant = {c.name: _decode(manifest["tenant"][c.name], c.type) for c in t.c if c.name in manifest["tenant"]}
    by_name = {table.name: table for table in tenant_tables()}
    files = {n.split("_", 1)[1].removesuffix(".jsonl"): n for n in z.namelist() if n.startswith("tables/")}
    expected = [e["name"] for e in manifest["tables"]]
    if set(expected) != set(by_name) or set(files) != set(by_name):
        raise TenantOpError("BAD_ARCHIVE", "the archive's tables differ from this schema's: migrate first")
    async with engine.begin() as conn:
        revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        if revision != manifest["revision"]:
            raise TenantOpError("REVISION_MISMATCH",
                                f"archive is of schema revision {manifest['revision']}, the database {revision}")
        clash = (await conn.execute(select(t.c.slug).where(
            (t.c.slug == tenant["slug"]) | (t.c.id == tenant["id"])))).first()
        if clash is not None:
            raise TenantOpError("EXISTS", f"tenant {tenant['slug']!r} (or its id) exists")
        await conn.execute(insert(t).values(**tenant))
        added_users = 0
        for row in _jsonl(z, "users.jsonl"):
            user = {c.name: _decode(row[c.name], c.type) for c in u.c if c.name in row}
            home = user.get("home_tenant_id")
            same_office = u.c.home_tenant_id.is_(None) if home is None else u.c.home_tenant_id == home
            found = (await conn.execute(select(u.c.id, u.c.username, u.c.home_tenant_id).where(
                (u.c.id == user["id"]) | (same_office & (u.c.username == user["username"]))))).all()
            if any(f.id != user["id"] or f.username != user["username"] or f.home_tenant_id != home for f in found):
                raise TenantOpError("USER_CLASH", f"user {user['username']!r} exists with another id")
            if not found:
                await conn.execute(insert(u).values(**user))
                added_users += 1
        await _bind(conn, tenant["id"])
        counts: dict[str, int] = {}
        for name in expected:
            table = by_name[name]
            rows = [{c.name: _decode(r[c.name], c.type) for c in table.c if c.name in r}
                    for r in _jsonl(z, files[name])]
            if any(r.get("tenant_id") != tenant["id"] for r in rows):
                raise TenantOpError("BAD_ARCHIVE", f"{name}: a row of another tenant")
            if rows:
                # sealed columns go in as stored (no second sealing)
                stmt = insert(table).values({c.name: bindparam(c.name, type_=Text()) if isinstance(c.type, Sealed)
                                             else bindparam(c.name, type_=c.type) for c in table.c
                                             if c.name in rows[0]})
                await conn.execute(stmt, rows)
            counts[name] = len(rows)
    return {"tenant": tenant["slug"], "tables": counts, "users_added": added_users}
