"""The audit log's hash chain (issue #24): sealing, verifying, and the range an archive may take.

Requests insert audit rows as they always did; nothing of this runs in a request. The sealing job
(``gongzhi/modules/audit.py``, every ``GONGZHI_AUTOCLOSE_INTERVAL`` seconds, and ``gongzhi audit
seal``) takes a tenant's rows not sealed yet, oldest first by ``(created_at, id)``, and gives each
the next ``seq``, the previous row's hash as ``prev_hash``, and ``hash`` = SHA-256 of the row's
canonical form (``canonical``: every column, the two seal columns before it included). The chain is
per tenant (the tenant is the data domain: it is exported, imported and deleted whole), and the
tenant's ``audit_chain_heads`` row, locked while sealing, says where it ends — so requests never
wait for the chain, and two sealers of one tenant take turns.

A row committed late (its request began before rows already sealed) simply gets the next ``seq``:
the chain's order is the order of sealing, ``created_at`` is part of what is hashed.

``verify`` walks a tenant's chain from its start (the genesis hash, or the last purge checkpoint)
and names the first broken link: a row whose content no longer gives its hash (altered), a gap in
``seq`` (removed), a ``prev_hash`` that is not the previous row's hash, or a chain that stops before
its head (rows removed at the end).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, String, Table, Uuid, bindparam, column, func, select, update, values
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from models import GENESIS_HASH, AuditChainHead, AuditCheckpoint, AuditEntry, uuid7

# Version of the canonical form (part of it: a new form never verifies an old row by accident).
FORMAT = 1
# The columns a row's hash covers besides its place in the chain (seq, prev_hash): all of them.
CONTENT_COLUMNS = ("tenant_id", "id", "created_at", "user_id", "roles", "action", "object_type", "object_ids",
                   "detail", "request_id", "client_addr", "area_path")
SEAL_COLUMNS = ("seq", "prev_hash", "hash")
# Rows per statement while sealing, and per transaction of one job run.
BATCH = 500
JOB_LIMIT = 5000


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


LOG = _table(AuditEntry)
HEADS = _table(AuditChainHead)
CHECKPOINTS = _table(AuditCheckpoint)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def document(row: Mapping[Any, Any], seq: int, prev_hash: str) -> dict[str, Any]:
    """The row as the chain sees it: every content column, its ``seq`` and the previous hash. Ids as
    their canonical text, ``created_at`` in UTC to the microsecond, ``detail`` and ``object_ids`` as
    the JSON they are."""
    created: datetime = row["created_at"]
    return {
        "v": FORMAT,
        "tenant_id": str(row["tenant_id"]),
        "id": str(row["id"]),
        "seq": seq,
        "prev_hash": prev_hash,
        "created_at": created.astimezone(UTC).isoformat(timespec="microseconds"),
        "user_id": _text(row["user_id"]),
        "roles": row["roles"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_ids": row["object_ids"],
        "detail": row["detail"],
        "request_id": row["request_id"],
        "client_addr": row["client_addr"],
        "area_path": row["area_path"],
    }


def canonical(doc: Mapping[str, Any]) -> bytes:
    """Canonical JSON: keys sorted, no spaces, UTF-8, no NaN."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def hash_of(doc: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a row's document (which holds ``prev_hash``: so the chain)."""
    return hashlib.sha256(canonical({k: v for k, v in doc.items() if k != "hash"})).hexdigest()


def _content() -> list[Any]:
    return [LOG.c[name] for name in CONTENT_COLUMNS]


# -- sealing ---------------------------------------------------------------------------------------

async def _lock_head(conn: AsyncConnection, tenant_id: uuid.UUID, now: datetime) -> tuple[int, str]:
    """The tenant's chain head, created at the genesis when missing, locked to this transaction (on
    SQLite the INSERT takes the write lock first, so no other writer slips in before the UPDATE)."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(insert(HEADS).values(tenant_id=tenant_id, id=uuid7(), created_at=now, seq=0,
                                            hash=GENESIS_HASH).on_conflict_do_nothing(index_elements=["tenant_id"]))
    row = (await conn.execute(select(HEADS.c.seq, HEADS.c.hash).where(HEADS.c.tenant_id == tenant_id)
                              .with_for_update())).one()
    return int(row.seq), str(row.hash)


async def seal(conn: AsyncConnection, tenant_id: uuid.UUID, *, now: datetime, limit: int | None = JOB_LIMIT) -> int:
    """Chain the tenant's unsealed rows (at most ``limit``), oldest first; returns how many. Runs in
    the caller's transaction, bound to the tenant (row-level security)."""
    seq, prev = await _lock_head(conn, tenant_id, now)
    sealed = 0
    stamp = (update(LOG)
             .where(LOG.c.tenant_id == tenant_id, LOG.c.id == bindparam("b_id"), LOG.c.hash.is_(None))
             .values(seq=bindparam("b_seq"), prev_hash=bindparam("b_prev"), hash=bindparam("b_hash")))
    while limit is None or sealed < limit:
        size = BATCH if limit is None else min(BATCH, limit - sealed)
        rows = (await conn.execute(select(*_content()).where(LOG.c.tenant_id == tenant_id, LOG.c.hash.is_(None))
                                   .order_by(LOG.c.created_at, LOG.c.id).limit(size))).mappings().all()
        if not rows:
            break
        params = []
        for row in rows:
            seq += 1
            digest = hash_of(document(row, seq, prev))
            params.append({"b_id": row["id"], "b_seq": seq, "b_prev": prev, "b_hash": digest})
            prev = digest
        if conn.dialect.name == "postgresql":  # one statement for the batch
            given = values(column("b_id", Uuid()), column("b_seq", BigInteger()), column("b_prev", String()),
                           column("b_hash", String()), name="b").data(
                [(p["b_id"], p["b_seq"], p["b_prev"], p["b_hash"]) for p in params])
            result = await conn.execute(update(LOG).where(LOG.c.tenant_id == tenant_id, LOG.c.id == given.c.b_id,
                                                          LOG.c.hash.is_(None))
                                        .values(seq=given.c.b_seq, prev_hash=given.c.b_prev, hash=given.c.b_hash))
        else:
            result = await conn.execute(stamp, params)
        if result.rowcount not in (-1, len(rows)):  # the head lock makes this impossible; never chain a gap
            raise RuntimeError(f"sealing tenant {tenant_id}: {result.rowcount} of {len(rows)} rows updated")
        sealed += len(rows)
        if len(rows) < size:
            break
    if sealed:
        await conn.execute(update(HEADS).where(HEADS.c.tenant_id == tenant_id)
                           .values(seq=seq, hash=prev, sealed_at=now))
    return sealed


# -- reading the chain -----------------------------------------------------------------------------

async def chain_start(conn: AsyncConnection, tenant_id: uuid.UUID) -> tuple[int, str]:
    """Where the rows in the database start: the last purge checkpoint's (seq, hash), or (0, genesis)."""
    row = (await conn.execute(select(CHECKPOINTS.c.seq, CHECKPOINTS.c.hash)
                              .where(CHECKPOINTS.c.tenant_id == tenant_id)
                              .order_by(CHECKPOINTS.c.seq.desc()).limit(1))).first()
    return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.hash))


async def sealed_rows(conn: AsyncConnection, tenant_id: uuid.UUID, *, after: int, until: int | None = None,
                      batch: int = 1000) -> AsyncIterator[Mapping[Any, Any]]:
    """The tenant's sealed rows with ``after < seq (<= until)``, in chain order, fetched in batches."""
    cols = [*_content(), LOG.c.seq, LOG.c.prev_hash, LOG.c.hash]
    while True:
        stmt = select(*cols).where(LOG.c.tenant_id == tenant_id, LOG.c.seq > after)
        if until is not None:
            stmt = stmt.where(LOG.c.seq <= until)
        rows = (await conn.execute(stmt.order_by(LOG.c.seq).limit(batch))).mappings().all()
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = int(rows[-1]["seq"])


async def purgeable(conn: AsyncConnection, tenant_id: uuid.UUID, before: datetime) -> tuple[int, str, int]:
    """The part of the chain an archive of rows older than ``before`` takes: the rows after the chain's
    start up to (not including) the first sealed row created at or after ``before`` — a prefix, so
    what stays still links to the checkpoint. (A row older than ``before`` sealed after a younger one
    waits for the next archive.) Returns (start seq, start hash, last seq); nothing when equal."""
    start, start_hash = await chain_start(conn, tenant_id)
    young = await conn.scalar(select(func.min(LOG.c.seq)).where(
        LOG.c.tenant_id == tenant_id, LOG.c.seq > start, LOG.c.created_at >= before))
    if young is not None:
        return start, start_hash, int(young) - 1
    last = await conn.scalar(select(func.max(LOG.c.seq)).where(LOG.c.tenant_id == tenant_id))
    return start, start_hash, max(start, int(last or 0))


# -- verifying -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Break:
    """The first broken link of a chain: what (``altered``, ``removed``, ``relinked``, ``truncated``,
    ``unordered``), where (seq, row id), and a one-line message in Chinese."""

    kind: str
    seq: int | None
    row_id: uuid.UUID | None
    message: str


@dataclass(frozen=True)
class ChainReport:
    tenant_id: uuid.UUID
    sealed: int  # rows in the chain (in the database)
    unsealed: int  # rows the sealing job has not reached yet
    start: int  # the seq the rows follow (0, or the last purge checkpoint's)
    last: int  # the last sealed seq
    last_hash: str
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


async def verify(conn: AsyncConnection, tenant_id: uuid.UUID) -> ChainReport:
    """Recompute every sealed row's hash in chain order; the first broken link, if any. Run it in one
    snapshot (PostgreSQL: REPEATABLE READ) so a sealer at work does not look like a broken chain."""
    start, prev = await chain_start(conn, tenant_id)
    unsealed = int(await conn.scalar(select(func.count()).select_from(LOG).where(
        LOG.c.tenant_id == tenant_id, LOG.c.hash.is_(None), LOG.c.seq.is_(None))) or 0)
    head = (await conn.execute(select(HEADS.c.seq, HEADS.c.hash).where(HEADS.c.tenant_id == tenant_id))).first()
    expected, count, broken = start + 1, 0, None

    def report(kind: str, seq: int | None, row_id: uuid.UUID | None, message: str) -> ChainReport:
        return ChainReport(tenant_id, count, unsealed, start, expected - 1, prev, Break(kind, seq, row_id, message))

    half = (await conn.execute(select(LOG.c.id, LOG.c.seq).where(
        LOG.c.tenant_id == tenant_id, (LOG.c.hash.is_(None)) != (LOG.c.seq.is_(None))).limit(1))).first()
    if half is not None:
        return report("altered", half.seq, half.id, f"记录 id {half.id} 的封存字段被改动（seq 与 hash 不成对）")
    early = (await conn.execute(select(LOG.c.id, LOG.c.seq).where(
        LOG.c.tenant_id == tenant_id, LOG.c.seq <= start).order_by(LOG.c.seq).limit(1))).first()
    if early is not None:
        return report("unordered", early.seq, early.id,
                      f"第 {early.seq} 条（id {early.id}）在清理检查点第 {start} 条之前，本应已清理")
    async for row in sealed_rows(conn, tenant_id, after=start):
        seq, row_id = int(row["seq"]), row["id"]
        if seq != expected:
            return report("removed", expected, row_id, f"缺第 {expected}–{seq - 1} 条：记录被删除"
                          f"（第 {seq} 条 id {row_id} 之前）")
        if hash_of(document(row, seq, str(row["prev_hash"]))) != row["hash"]:
            return report("altered", seq, row_id, f"第 {seq} 条（id {row_id}）内容被改动：与其哈希不符")
        if row["prev_hash"] != prev:
            return report("relinked", seq, row_id,
                          f"第 {seq} 条（id {row_id}）的上一条哈希不符：前面的记录被删除或替换")
        prev, expected, count = str(row["hash"]), expected + 1, count + 1
    if head is not None and (int(head.seq) != expected - 1 or head.hash != prev):
        if int(head.seq) > expected - 1:
            broken = Break("truncated", expected, None,
                           f"链尾缺第 {expected}–{head.seq} 条：记录被删除（链头记到第 {head.seq} 条）")
        else:
            broken = Break("truncated", expected - 1, None,
                           f"链头（第 {head.seq} 条）与表中最后一条（第 {expected - 1} 条）不符")
    return ChainReport(tenant_id, count, unsealed, start, expected - 1, prev, broken)
