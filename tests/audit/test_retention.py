"""Keeping the audit log (issue #24): rows are kept at least 180 days; older ones are archived to a
file that verifies on its own, and only then purged — exactly the archived rows, never younger ones
— after which the chain starts from a checkpoint and still verifies, across tenant export and import
too; the operator's commands do all of it."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from gongzhi.ops import audit as ops
from gongzhi.ops import tenants as tenant_ops
from gongzhi.settings import Settings, SettingsError
from models import GENESIS_HASH, AuditCheckpoint
from resolvers import audit as chain
from tests.support.audit import add_entries, owner_rows, rid, seal_as_app, tamper, verify
from tests.support.cli import run_cli
from tests.support.harness import DbEnv, World


def _before(days: int) -> datetime:
    return ops.day_start((datetime.now(UTC) - timedelta(days=days)).date())


def _lines(path: Path) -> list[dict[str, object]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:
        return [json.loads(line) for line in f if line.strip()]


def _rewrite(path: Path, lines: list[dict[str, object]], **manifest_changes: object) -> None:
    """Write the archive anew (as someone editing it would) with a manifest that agrees with the file."""
    path.write_bytes(b"".join(chain.canonical(doc) + b"\n" for doc in lines))
    manifest = json.loads(ops.manifest_path(path).read_text())
    manifest.update(sha256=hashlib.sha256(path.read_bytes()).hexdigest(), **manifest_changes)
    ops.manifest_path(path).write_text(json.dumps(manifest))


def test_retention_is_at_least_180_days() -> None:
    assert Settings().audit_retention_days == 180
    assert Settings.from_env({"GONGZHI_AUDIT_RETENTION_DAYS": "400"}).audit_retention_days == 400
    with pytest.raises(SettingsError, match="GONGZHI_AUDIT_RETENTION_DAYS：不能小于 180"):
        Settings.from_env({"GONGZHI_AUDIT_RETENTION_DAYS": "90"})
    with pytest.raises(ValidationError):
        Settings(audit_retention_days=179)


async def test_archive_purge_and_the_chain_goes_on(db: DbEnv, fresh: World, tmp_path: Path) -> None:
    a = fresh.a
    old = await add_entries(db, a, [400, 390, 300, 250])
    young = await add_entries(db, a, [100, 10, 0])
    await seal_as_app(db, a)
    before_all = await verify(db, a)
    assert before_all.ok
    cutoff = _before(200)
    out = tmp_path / "audit-a.jsonl.gz"
    manifest = await ops.archive(db.owner_engine, before=cutoff, output=out, slug=a.slug)
    assert manifest["rows"] == 4 and manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    entry, = manifest["tenants"]
    assert (entry["slug"], entry["count"], entry["first_seq"], entry["last_seq"], entry["start_hash"]) == (
        a.slug, 4, 1, 4, GENESIS_HASH)
    lines = _lines(out)  # the file verifies on its own: every row's hash, every link
    assert [line["id"] for line in lines] == [str(i) for i in old]
    prev = GENESIS_HASH
    for line in lines:
        assert line["prev_hash"] == prev and chain.hash_of(line) == line["hash"]
        prev = str(line["hash"])
    assert prev == entry["last_hash"]
    assert (await verify(db, a)).sealed == before_all.sealed  # archiving deletes nothing

    assert await ops.purge(db.owner_engine, before=cutoff, archive_file=out, retention_days=180) == {a.slug: 4}
    after = await verify(db, a)
    assert after.ok and after.start == 4 and after.sealed == before_all.sealed - 4
    assert after.last_hash == before_all.last_hash
    remaining = {r["id"] for r in await owner_rows(db, a)}
    assert not remaining & set(old) and set(young) <= remaining
    async with db.owner_engine.connect() as conn, conn.begin():
        await ops._bind(conn, a.tenant_id)
        cp = (await conn.execute(select(AuditCheckpoint.__table__).where(
            AuditCheckpoint.__table__.c.tenant_id == a.tenant_id))).mappings().one()
    assert (cp["seq"], cp["hash"], cp["first_seq"], cp["row_count"], cp["archive_sha256"]) == (
        4, entry["last_hash"], 1, 4, manifest["sha256"])

    with pytest.raises(ops.AuditOpError) as again:  # those rows are gone: the same archive purges nothing more
        await ops.purge(db.owner_engine, before=cutoff, archive_file=out, retention_days=180)
    assert again.value.code == "ARCHIVE_MISMATCH"

    await add_entries(db, a, [0])  # and the chain goes on from there
    assert await seal_as_app(db, a) == 1
    goes_on = await verify(db, a)
    assert goes_on.ok and goes_on.last == before_all.last + 1 and goes_on.start == 4


async def test_purge_refuses_without_a_matching_archive(db: DbEnv, fresh: World, tmp_path: Path) -> None:
    a = fresh.a
    await add_entries(db, a, [400, 380, 370, 10])
    await seal_as_app(db, a)
    sealed = (await verify(db, a)).sealed
    cutoff = _before(200)
    out = tmp_path / "a.jsonl"

    async def refused(code: str, *, before: datetime = cutoff, retention: int = 180) -> str:
        with pytest.raises(ops.AuditOpError) as e:
            await ops.purge(db.owner_engine, before=before, archive_file=out, retention_days=retention)
        assert e.value.code == code, e.value.message
        report = await verify(db, a)
        assert report.ok and report.sealed == sealed  # nothing deleted
        return e.value.message

    await refused("BAD_ARCHIVE")  # no archive at all
    await ops.archive(db.owner_engine, before=cutoff, output=out, slug=a.slug)
    good, good_manifest = out.read_bytes(), ops.manifest_path(out).read_text()
    lines = _lines(out)
    assert len(lines) == 3

    # never rows younger than the retention: 180 days at least, longer when set
    young = tmp_path / "young.jsonl"
    await ops.archive(db.owner_engine, before=_before(100), output=young, slug=a.slug)
    with pytest.raises(ops.AuditOpError) as e:
        await ops.purge(db.owner_engine, before=_before(100), archive_file=young, retention_days=180)
    assert e.value.code == "TOO_YOUNG" and "180" in e.value.message
    assert "365" in await refused("TOO_YOUNG", retention=365)
    # a smaller setting does not lower the floor
    assert "180" in await refused("TOO_YOUNG", before=_before(100), retention=30)
    await refused("ARCHIVE_MISMATCH", before=_before(250))  # the archive is of another date

    out.write_bytes(good.replace(b'"n":1', b'"n":7'))  # the file changed after its manifest
    await refused("ARCHIVE_MISMATCH")
    edited = [dict(line) for line in lines]
    edited[1]["detail"] = {"outcome": "refused"}
    _rewrite(out, edited)  # a row changed, its manifest made to agree: the database disagrees
    assert str(lines[1]["id"]) in await refused("ARCHIVE_MISMATCH")
    _rewrite(out, lines[:2])  # fewer rows than are due
    assert "第 3 条" in await refused("ARCHIVE_MISMATCH")
    shorter = json.loads(ops.manifest_path(out).read_text())
    shorter["tenants"][0].update(last_seq=2, count=2, last_hash=lines[1]["hash"])
    ops.manifest_path(out).write_text(json.dumps(shorter))  # and a manifest that says so
    assert "应清理第 1–3 条，归档中为第 1–2 条" in await refused("ARCHIVE_MISMATCH")

    out.write_bytes(good)  # the right archive, but a row of the database altered since
    ops.manifest_path(out).write_text(good_manifest)
    rows = await owner_rows(db, a)
    await tamper(db, a, "UPDATE audit_log SET roles = 'resident' WHERE id = :i", {"i": rid(db, rows[1]["id"])})
    with pytest.raises(ops.AuditOpError) as e:
        await ops.purge(db.owner_engine, before=cutoff, archive_file=out, retention_days=180)
    assert e.value.code == "CHAIN_BROKEN" and str(rows[1]["id"]) in e.value.message
    assert len(await owner_rows(db, a)) == sealed


async def test_export_and_import_keep_a_verifying_chain(db: DbEnv, fresh: World, tmp_path: Path) -> None:
    a = fresh.a
    await add_entries(db, a, [400, 300, 5, 1])
    await seal_as_app(db, a)
    out = tmp_path / "a.jsonl.gz"
    cutoff = _before(200)
    await ops.archive(db.owner_engine, before=cutoff, output=out, slug=a.slug)
    assert await ops.purge(db.owner_engine, before=cutoff, archive_file=out, retention_days=180) == {a.slug: 2}
    await add_entries(db, a, [0])  # one row not sealed yet travels too
    before = await verify(db, a)
    assert before.ok and before.start == 2 and before.unsealed == 1

    archive = await tenant_ops.export_tenant(db.owner_engine, a.slug)
    await tenant_ops.delete_tenant(db.owner_engine, a.slug)
    assert (await verify(db, a)).sealed == 0
    await tenant_ops.import_tenant(db.owner_engine, archive)
    after = await verify(db, a)
    assert after == before
    assert await seal_as_app(db, a) == 1
    sealed = await verify(db, a)
    assert sealed.ok and sealed.last == before.last + 1 and sealed.unsealed == 0


def _cli(db: DbEnv, *args: str) -> subprocess.CompletedProcess[str]:
    """``gongzhi audit …``, in this process (tests/support/cli.py; CI time, issue #21)."""
    return run_cli(db, "audit", *args)


async def test_operator_commands(db: DbEnv, fresh: World, tmp_path: Path) -> None:
    a = fresh.a
    await add_entries(db, a, [400, 390, 1])

    async def run(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(_cli, db, *args)

    sealed = await run("seal", "--tenant", a.slug)
    assert sealed.returncode == 0 and f"租户 {a.slug}：封存" in sealed.stdout, sealed.stderr
    ok = await run("verify", "--tenant", a.slug)
    assert ok.returncode == 0 and "链完整" in ok.stdout and "待封存 0 条" in ok.stdout, ok.stderr
    day = (datetime.now(UTC) - timedelta(days=200)).date().isoformat()
    out = tmp_path / "audit.jsonl.gz"
    archived = await run("archive", "--before", day, "--output", str(out), "--tenant", a.slug)
    assert archived.returncode == 0 and "归档 2 条" in archived.stdout, archived.stderr
    assert ops.manifest_path(out).exists()
    young = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    refused = await run("purge", "--before", young, "--archive", str(out))
    assert refused.returncode == 2 and "TOO_YOUNG" in refused.stderr
    purged = await run("purge", "--before", day, "--archive", str(out))
    assert purged.returncode == 0 and f"租户 {a.slug}：清理 2 条" in purged.stdout, purged.stderr
    ok = await run("verify", "--tenant", a.slug)
    assert ok.returncode == 0 and "此前 2 条已归档清理" in ok.stdout, ok.stderr

    row = (await owner_rows(db, a))[0]
    await tamper(db, a, "UPDATE audit_log SET action = 'nothing' WHERE id = :i", {"i": rid(db, row["id"])})
    broken = await run("verify", "--tenant", a.slug)
    assert broken.returncode == 1
    line, = broken.stderr.strip().splitlines()
    assert a.slug in line and f"seq {row['seq']}" in line and str(row["id"]) in line and "内容被改动" in line
    bad = await run("archive", "--before", "yesterday", "--output", str(out))
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
