"""Audit log operations (issue #24), as the database owner (``GONGZHI_MIGRATION_DATABASE_URL``):
seal, verify, archive, purge. The hash chain itself is ``resolvers/audit/chain.py``.

Archive: the rows of each tenant's chain created before a date (a prefix of the chain: see
``resolvers.audit.purgeable``) go to a JSON Lines file — gzip when its name ends in ``.gz`` — one
row per line in canonical form with its ``seq``, ``prev_hash`` and ``hash`` (so the file verifies on
its own), tenants one after another in chain order; beside it ``FILE.manifest.json`` says, per
tenant, the first and last seq, the hash the rows follow and the last hash, the count, and the
file's SHA-256.

Purge: deletes exactly the rows an archive holds, and only when the file is the one its manifest
describes, the date is past the retention (``GONGZHI_AUDIT_RETENTION_DAYS``, at least 180 days) and
every archived row equals its row in the database, content and hash; it then records a checkpoint
per tenant (``audit_checkpoints``: the last purged seq and hash, the archive's SHA-256) where the
chain in the database starts again. All in one transaction: nothing is deleted unless everything
matches.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gongzhi.ops.tenants import table_of
from models import AuditChainHead, AuditCheckpoint, AuditEntry, Tenant, uuid7
from resolvers import audit as chain
from tenants.rls import set_tenant_sql

FORMAT = "gongzhi-audit-archive"
VERSION = 1
MIN_RETENTION_DAYS = 180
SHANGHAI = ZoneInfo("Asia/Shanghai")
LOG, HEADS, CHECKPOINTS = (table_of(m) for m in (AuditEntry, AuditChainHead, AuditCheckpoint))


class AuditOpError(ValueError):
    """An audit operation refused (a code and a one-line message in Chinese)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def day_start(day: date) -> datetime:
    """Midnight at the start of ``day``, Beijing time (the street offices' day)."""
    return datetime.combine(day, time(), SHANGHAI)


def manifest_path(archive: Path) -> Path:
    return archive.with_name(archive.name + ".manifest.json")


async def _bind(conn: AsyncConnection, tenant_id: uuid.UUID) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text(set_tenant_sql(tenant_id)))


async def tenants(engine: AsyncEngine, slug: str | None = None) -> list[tuple[uuid.UUID, str]]:
    """(id, slug) of every tenant (suspended ones too), or of the one named."""
    t = table_of(Tenant)
    async with engine.connect() as conn:
        stmt = select(t.c.id, t.c.slug).order_by(t.c.slug)
        rows = [(r.id, r.slug) for r in await conn.execute(stmt if slug is None else stmt.where(t.c.slug == slug))]
    if slug is not None and not rows:
        raise AuditOpError("NOT_FOUND", f"没有租户 {slug!r}")
    return rows


async def seal_all(engine: AsyncEngine, slug: str | None = None, *, now: datetime | None = None) -> dict[str, int]:
    """Seal every unsealed row (of one tenant or all), a transaction per ``JOB_LIMIT`` rows."""
    when = now or datetime.now(UTC)
    out: dict[str, int] = {}
    for tenant_id, tslug in await tenants(engine, slug):
        total = 0
        while True:
            async with engine.begin() as conn:
                await _bind(conn, tenant_id)
                done = await chain.seal(conn, tenant_id, now=when)
            total += done
            if done < chain.JOB_LIMIT:
                break
        out[tslug] = total
    return out


async def _snapshot(engine: AsyncEngine) -> AsyncConnection:
    conn = await engine.connect()
    if conn.dialect.name == "postgresql":
        await conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


async def verify_all(engine: AsyncEngine, slug: str | None = None) -> list[tuple[str, chain.ChainReport]]:
    """Each tenant's chain verified, in its own snapshot."""
    out = []
    for tenant_id, tslug in await tenants(engine, slug):
        conn = await _snapshot(engine)
        try:
            async with conn.begin():
                await _bind(conn, tenant_id)
                out.append((tslug, await chain.verify(conn, tenant_id)))
        finally:
            await conn.close()
    return out


# -- archive ---------------------------------------------------------------------------------------

@dataclass
class _Segment:
    tenant_id: uuid.UUID
    slug: str
    start: int  # the seq the archived rows follow
    start_hash: str
    last: int
    last_hash: str = ""
    count: int = 0

    def entry(self) -> dict[str, Any]:
        return {"tenant_id": str(self.tenant_id), "slug": self.slug, "count": self.count,
                "first_seq": self.start + 1, "last_seq": self.last, "start_hash": self.start_hash,
                "last_hash": self.last_hash}


def _line(row: Any) -> dict[str, Any]:
    doc = chain.document(row, int(row["seq"]), str(row["prev_hash"]))
    doc["hash"] = row["hash"]
    return doc


def _check_link(seg: _Segment, doc: dict[str, Any], prev: str, expected: int) -> None:
    if doc["seq"] != expected or doc["prev_hash"] != prev or chain.hash_of(doc) != doc["hash"]:
        raise AuditOpError("CHAIN_BROKEN", f"租户 {seg.slug} 第 {doc['seq']} 条（id {doc['id']}）不在完好的链上："
                           "先运行 gongzhi audit verify")


def _open(path: Path, mode: str) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, mode + "b")  # type: ignore[return-value]  # GzipFile is an IO[bytes]
    return path.open(mode + "b")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _finish(output: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with the written file's size and SHA-256, written beside it."""
    manifest = {**manifest, "bytes": output.stat().st_size, "sha256": file_sha256(output)}
    manifest_path(output).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest


async def archive(engine: AsyncEngine, *, before: datetime, output: Path, slug: str | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """Seal what is not sealed yet, then write the chain's rows created before ``before`` (of one
    tenant or all) and the manifest; returns the manifest. Deletes nothing."""
    when = now or datetime.now(UTC)
    await seal_all(engine, slug, now=when)
    segments: list[_Segment] = []
    with _open(output, "w") as f:
        for tenant_id, tslug in await tenants(engine, slug):
            conn = await _snapshot(engine)
            try:
                async with conn.begin():
                    await _bind(conn, tenant_id)
                    start, start_hash, last = await chain.purgeable(conn, tenant_id, before)
                    if last <= start:
                        continue
                    seg = _Segment(tenant_id, tslug, start, start_hash, last)
                    prev = start_hash
                    async for row in chain.sealed_rows(conn, tenant_id, after=start, until=last):
                        doc = _line(row)
                        _check_link(seg, doc, prev, seg.start + seg.count + 1)
                        f.write(chain.canonical(doc) + b"\n")
                        prev, seg.count = doc["hash"], seg.count + 1
                    if seg.count != last - start:
                        raise AuditOpError("CHAIN_BROKEN", f"租户 {tslug} 第 {start + 1}–{last} 条不全：先运行 "
                                           "gongzhi audit verify")
                    seg.last_hash = prev
                    segments.append(seg)
            finally:
                await conn.close()
    return await asyncio.to_thread(_finish, output, {
        "format": FORMAT, "version": VERSION, "before": before.isoformat(), "tenant": slug,
        "created_at": when.isoformat(), "file": output.name, "rows": sum(s.count for s in segments),
        "tenants": [s.entry() for s in segments],
    })


# -- purge -----------------------------------------------------------------------------------------

def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads(manifest_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise AuditOpError("BAD_ARCHIVE", f"读不到归档清单 {manifest_path(path)}：{e}") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise AuditOpError("BAD_ARCHIVE", f"{manifest_path(path)} 不是 gongzhi 审计归档清单")
    return manifest


def _archived_lines(path: Path) -> Iterator[dict[str, Any]]:
    with _open(path, "r") as f:
        for raw in f:
            if raw.strip():
                yield json.loads(raw)


async def purge(engine: AsyncEngine, *, before: datetime, archive_file: Path, retention_days: int,
                now: datetime | None = None) -> dict[str, int]:
    """Delete the archived rows (see the module docstring); tenant slug → rows deleted."""
    when = now or datetime.now(UTC)
    days = max(retention_days, MIN_RETENTION_DAYS)
    limit = when - timedelta(days=days)
    if before > limit:
        raise AuditOpError("TOO_YOUNG", f"拒绝清理：审计日志至少保留 {days} 天，--before 最晚为 "
                           f"{limit.astimezone(SHANGHAI).date().isoformat()}")
    manifest = await asyncio.to_thread(_read_manifest, archive_file)
    try:
        digest = await asyncio.to_thread(file_sha256, archive_file)
    except OSError:
        digest = ""
    if digest != manifest.get("sha256"):
        raise AuditOpError("ARCHIVE_MISMATCH", f"{archive_file} 与其清单的 SHA-256 不符（文件缺失或被改动）")
    if manifest.get("before") != before.isoformat():
        raise AuditOpError("ARCHIVE_MISMATCH", f"该归档是 {manifest.get('before')} 之前的记录，不是 "
                           f"{before.isoformat()} 之前的")
    entries = {e["tenant_id"]: e for e in manifest["tenants"]}
    segments: dict[str, _Segment] = {}
    scope = await tenants(engine, manifest.get("tenant"))
    async with engine.begin() as conn:
        for tenant_id, tslug in scope:
            await _bind(conn, tenant_id)
            start, start_hash, last = await chain.purgeable(conn, tenant_id, before)
            entry = entries.pop(str(tenant_id), None)
            if last <= start and entry is None:
                continue
            if entry is None or (entry["first_seq"], entry["last_seq"], entry["start_hash"]) != (
                    start + 1, last, start_hash):
                have = "无" if entry is None else f"第 {entry['first_seq']}–{entry['last_seq']} 条"
                raise AuditOpError("ARCHIVE_MISMATCH", f"租户 {tslug}：应清理第 {start + 1}–{last} 条，归档中为"
                                   f"{have}：请重新归档")
            segments[str(tenant_id)] = _Segment(tenant_id, tslug, start, start_hash, last, entry["last_hash"])
        if entries:
            raise AuditOpError("ARCHIVE_MISMATCH", f"归档中的租户 {sorted(e['slug'] for e in entries.values())} "
                               "在数据库中已无可清理的记录")
        for key, lines in itertools.groupby(_archived_lines(archive_file), key=lambda d: d.get("tenant_id")):
            seg = segments.get(str(key))
            if seg is None or seg.count:
                raise AuditOpError("ARCHIVE_MISMATCH", f"归档文件中有清单之外的租户 {key}")
            await _bind(conn, seg.tenant_id)
            await _compare(conn, seg, lines)
        for seg in segments.values():
            if seg.count != seg.last - seg.start:
                raise AuditOpError("ARCHIVE_MISMATCH", f"租户 {seg.slug}：归档文件只有 {seg.count} 条，"
                                   f"应为 {seg.last - seg.start} 条")
            await _bind(conn, seg.tenant_id)
            await _delete(conn, seg, before=before, sha256=str(manifest["sha256"]), name=archive_file.name, now=when)
    return {seg.slug: seg.count for seg in segments.values()}


async def _compare(conn: AsyncConnection, seg: _Segment, lines: Iterator[dict[str, Any]]) -> None:
    """Every archived row equals its row in the database, and both are links of one unbroken chain."""
    prev = seg.start_hash
    async for row in chain.sealed_rows(conn, seg.tenant_id, after=seg.start, until=seg.last):
        doc = _line(row)
        _check_link(seg, doc, prev, seg.start + seg.count + 1)
        archived = next(lines, None)
        if archived != doc:
            what = "归档文件中没有" if archived is None else "与归档中的不同"
            raise AuditOpError("ARCHIVE_MISMATCH",
                               f"租户 {seg.slug} 第 {doc['seq']} 条（id {doc['id']}）{what}：请重新归档")
        prev, seg.count = doc["hash"], seg.count + 1
    if next(lines, None) is not None or prev != seg.last_hash:
        raise AuditOpError("ARCHIVE_MISMATCH", f"租户 {seg.slug}：归档文件中的记录多于数据库中应清理的")


async def _delete(conn: AsyncConnection, seg: _Segment, *, before: datetime, sha256: str, name: str,
                  now: datetime) -> None:
    result = await conn.execute(delete(LOG).where(LOG.c.tenant_id == seg.tenant_id, LOG.c.seq > seg.start,
                                                  LOG.c.seq <= seg.last))
    if result.rowcount != seg.count:
        raise AuditOpError("CHAIN_BROKEN", f"租户 {seg.slug}：删除了 {result.rowcount} 条，应为 {seg.count} 条")
    await conn.execute(insert(CHECKPOINTS).values(
        tenant_id=seg.tenant_id, id=uuid7(), created_at=now, seq=seg.last, hash=seg.last_hash,
        first_seq=seg.start + 1, row_count=seg.count, purged_before=before, archive_sha256=sha256,
        archive_name=name[:200]))
    following = (await conn.execute(select(LOG.c.seq, LOG.c.prev_hash).where(
        LOG.c.tenant_id == seg.tenant_id, LOG.c.seq > seg.last).order_by(LOG.c.seq).limit(1))).first()
    head = (await conn.execute(select(HEADS.c.seq).where(HEADS.c.tenant_id == seg.tenant_id))).scalar()
    if (following is None and head != seg.last) or (
            following is not None and (following.seq != seg.last + 1 or following.prev_hash != seg.last_hash)):
        raise AuditOpError("CHAIN_BROKEN", f"租户 {seg.slug}：清理后剩下的链接不上检查点（第 {seg.last} 条）")
