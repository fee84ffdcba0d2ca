"""``gongzhi photos clean`` (issue #24): photos stored byte for byte before uploads were cleaned — EXIF and
GPS included — are rebuilt on disk with their thumbnails, once; until then they are served cleaned in memory.

A "legacy" photo is made as the old code stored it: the file exactly as uploaded, a row without
dimensions or thumbnail.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from gongzhi.cli import main
from models import Attachment, uuid7
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.harness import JWT_SECRET, DbEnv, World
from tests.support.photos import GPS_IFD, assert_no_metadata, download, gps_jpeg, make_api
from tests.support.world import TenantWorld


async def legacy_photo(db: DbEnv, tw: TenantWorld, root: Path, content: bytes, *, write: bool = True) -> Attachment:
    attachment_id = uuid7()
    row = Attachment(id=attachment_id, uploader_user_id=tw.users["resident"], case_id=None,
                     content_type="image/jpeg", size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                     storage_key=f"{tw.tenant_id.hex}/{attachment_id.hex}")
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            s.add(row)
    if write:
        (root / tw.tenant_id.hex).mkdir(parents=True, exist_ok=True)
        (root / row.storage_key).write_bytes(content)
    return row


async def reload(db: DbEnv, tw: TenantWorld, row: Attachment) -> Attachment:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            found = await s.scalar(select(Attachment).where(Attachment.id == row.id))
    assert found is not None
    return found


async def run_cli(monkeypatch: pytest.MonkeyPatch, db: DbEnv, root: Path, *argv: str) -> tuple[int, str, str]:
    """``gongzhi photos …`` as an operator runs it (its own engine, as the owner), on a thread: the CLI
    runs its own event loop."""
    monkeypatch.setenv("GONGZHI_DATABASE_URL", db.app_url)
    monkeypatch.setenv("GONGZHI_MIGRATION_DATABASE_URL", db.owner_url)
    monkeypatch.setenv("GONGZHI_UPLOAD_DIR", str(root))
    monkeypatch.setenv("GONGZHI_JWT_SECRET", JWT_SECRET)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = await asyncio.to_thread(main, ["photos", *argv])
    return code, out.getvalue(), err.getvalue()


async def test_clean_rebuilds_legacy_photos_once(db: DbEnv, fresh: World, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    tw = fresh.a
    raw = gps_jpeg(3000, 2000)
    row = await legacy_photo(db, tw, tmp_path, raw)
    broken = await legacy_photo(db, tw, tmp_path, b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    await legacy_photo(db, tw, tmp_path, gps_jpeg(64, 48), write=False)  # its file is gone
    untouched = await legacy_photo(db, fresh.b, tmp_path, gps_jpeg(64, 48))  # another tenant: not asked for
    path = tmp_path / row.storage_key

    # Before the command has run, the photo is served cleaned, though the file still holds the GPS.
    client, app = make_api(db, tmp_path)
    async with client:
        r = await download(app.api, tw, "resident", encode_global_id("Attachment", row.id))
        assert r.status_code == 200, r.text
        assert assert_no_metadata(r.content).size == (2048, 1365)
        thumb = await download(app.api, tw, "resident", encode_global_id("Attachment", row.id), "/thumbnail")
        assert Image.open(io.BytesIO(thumb.content)).size == (320, 213)
    assert path.read_bytes() == raw

    code, out, _ = await run_cli(monkeypatch, db, tmp_path, "clean", "--tenant", tw.slug, "--dry-run")
    assert code == 0, out
    assert "将重建 1 张" in out and "无法解码 1 张" in out and "文件缺失 1 张" in out, out
    assert path.read_bytes() == raw and (tmp_path / broken.storage_key).is_file()

    code, out, err = await run_cli(monkeypatch, db, tmp_path, "clean", "--tenant", tw.slug)
    assert code == 0, (out, err)
    assert "1 个街道，已重建 1 张，无法解码 1 张" in out and "文件缺失 1 张" in out, out
    assert broken.storage_key in err
    stored = path.read_bytes()
    im = assert_no_metadata(stored)
    assert (im.format, im.size) == ("JPEG", (2048, 1365))
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(GPS_IFD)  # what it was
    after = await reload(db, tw, row)
    assert (after.width, after.height, after.size, after.sha256, after.thumbnail_key) == (
        2048, 1365, len(stored), hashlib.sha256(stored).hexdigest(), f"{row.storage_key}.thumb")
    assert assert_no_metadata((tmp_path / f"{row.storage_key}.thumb").read_bytes()).size == (320, 213)
    # The undecodable file is set aside, never served; the other tenant's photo was not touched.
    assert not (tmp_path / broken.storage_key).exists()
    assert (tmp_path / f"{broken.storage_key}.unreadable").is_file()
    assert (await reload(db, fresh.b, untouched)).thumbnail_key is None

    client, app = make_api(db, tmp_path)
    async with client:
        r = await download(app.api, tw, "resident", encode_global_id("Attachment", row.id))
        assert (r.status_code, r.content) == (200, stored)
        r = await download(app.api, tw, "resident", encode_global_id("Attachment", broken.id))
        assert r.status_code == 404

    # Nothing left to rebuild: a second run changes nothing.
    code, out, _ = await run_cli(monkeypatch, db, tmp_path, "clean", "--tenant", tw.slug)
    assert code == 0 and "已重建 0 张" in out, out
    assert path.read_bytes() == stored


async def test_clean_refuses_an_unknown_tenant(db: DbEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = await run_cli(monkeypatch, db, tmp_path, "clean", "--tenant", "no-such-street")
    assert code == 2 and "no-such-street" in err
