"""Photo uploads (POST /uploads, GET /uploads/{id}): checked by content, size-limited, readable by whoever may
read the case a photo belongs to (or, before it is used, by its uploader only), never across tenants.

Every test builds its own app whose ``upload_dir`` is the test's tmp_path (the shared ``api`` fixture would
write into the repository's var/uploads).

Sections: helpers · upload checks · download rights · attaching photos to cases.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gongzhi.http.app import create_app
from gongzhi.settings import Settings
from models import Attachment, Case
from resolvers.ids import decode_global_id
from tenants.session import bind_tenant
from tests.support.cases import accept, area_gid, call, dispatch_firm, failed, ok, report, start
from tests.support.harness import JWT_SECRET, Api, DbEnv, World
from tests.support.world import TenantWorld

# ---------------------------------------------------------------------------------------------- helpers


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(size: int | None = None, colour: bytes = b"\xff\x00\x00") -> bytes:
    """A real 1×1 RGB PNG; with ``size`` padded to exactly that many bytes by a tEXt chunk."""
    head = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    body = _chunk(b"IDAT", zlib.compress(b"\x00" + colour))
    tail = _chunk(b"IEND", b"")
    plain = head + body + tail
    if size is None:
        return plain
    pad = size - len(plain) - 12 - len(b"pad\x00")
    assert pad >= 0
    return head + _chunk(b"tEXt", b"pad\x00" + b"x" * pad) + body + tail


def make_api(db: DbEnv, upload_dir: Path, **settings: Any) -> tuple[httpx.AsyncClient, Api]:
    s = Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, graphiql=False, upload_dir=str(upload_dir),
                 autoclose_interval=0, **settings)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(s, engine=db.engine)),
                               base_url="http://testserver")
    return client, Api(client, s)


@pytest.fixture
async def app(db: DbEnv, tmp_path: Path) -> AsyncIterator[Api]:
    client, api = make_api(db, tmp_path)
    async with client:
        yield api


def auth(api: Api, tw: TenantWorld, user: str) -> dict[str, str]:
    return {"authorization": f"Bearer {api.token(tw, user)}"}


async def upload(api: Api, tw: TenantWorld | None, user: str, content: bytes, filename: str = "photo.png",
                 content_type: str = "image/png") -> httpx.Response:
    headers = auth(api, tw, user) if tw is not None else {}
    return await api.client.post("/uploads", files={"file": (filename, content, content_type)}, headers=headers)


async def uploaded(api: Api, tw: TenantWorld, user: str, content: bytes) -> str:
    r = await upload(api, tw, user, content)
    assert r.status_code == 201, r.text
    photo_id: str = r.json()["id"]
    return photo_id


async def download(api: Api, tw: TenantWorld, user: str, photo_id: str) -> httpx.Response:
    return await api.client.get(f"/uploads/{photo_id}", headers=auth(api, tw, user))


async def attachment_rows(db: DbEnv, tw: TenantWorld) -> int:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            return int(await s.scalar(select(func.count()).select_from(Attachment)) or 0)


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def code_of(r: httpx.Response) -> str:
    code: str = r.json()["errors"][0]["extensions"]["code"]
    return code


# ---------------------------------------------------------------------------------------------- upload checks


async def test_png_upload_returns_an_attachment(app: Api, db: DbEnv, fresh: World, tmp_path: Path) -> None:
    tw = fresh.a
    content = png()
    r = await upload(app, tw, "resident", content)
    assert r.status_code == 201, r.text
    body = r.json()
    kind, attachment_id = decode_global_id(body["id"])
    assert kind == "Attachment"
    assert (body["contentType"], body["size"], body["sha256"]) == (
        "image/png", len(content), hashlib.sha256(content).hexdigest())
    assert stored_files(tmp_path) == [tmp_path / tw.tenant_id.hex / attachment_id.hex]
    assert stored_files(tmp_path)[0].read_bytes() == content
    assert await attachment_rows(db, tw) == 1


async def test_type_is_checked_by_content_not_by_name_or_header(app: Api, db: DbEnv, fresh: World,
                                                                tmp_path: Path) -> None:
    tw = fresh.a
    r = await upload(app, tw, "resident", b"just some text, not a photo\n" * 4, "photo.jpg", "image/jpeg")
    assert (r.status_code, code_of(r)) == (400, "INVALID")
    r = await upload(app, tw, "resident", b"", "empty.png", "image/png")
    assert (r.status_code, code_of(r)) == (400, "INVALID")
    assert await attachment_rows(db, tw) == 0
    assert stored_files(tmp_path) == [], "a refused upload left a file behind"
    # A real JPEG sent under a misleading name and type is stored as what it is.
    r = await upload(app, tw, "resident", b"\xff\xd8\xff\xe0" + b"\x00" * 60, "notes.txt", "text/plain")
    assert (r.status_code, r.json()["contentType"]) == (201, "image/jpeg")


async def test_size_limit(db: DbEnv, fresh: World, tmp_path: Path) -> None:
    tw = fresh.a
    client, small = make_api(db, tmp_path, max_upload_bytes=1000)
    async with client:
        assert (await upload(small, tw, "resident", png(1000))).status_code == 201
        r = await upload(small, tw, "resident", png(1001))
        assert (r.status_code, code_of(r)) == (413, "TOO_LONG")
        r = await upload(small, tw, "resident", png(200_000))  # refused on its Content-Length alone
        assert (r.status_code, code_of(r)) == (413, "TOO_LONG")
    assert await attachment_rows(db, tw) == 1


async def test_upload_needs_a_token_and_a_role(app: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    r = await upload(app, None, "resident", png())
    assert r.status_code == 401
    r = await app.client.post("/uploads", files={"file": ("p.png", png(), "image/png")},
                              headers={"authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    r = await upload(app, tw, "nobody", png())
    assert (r.status_code, code_of(r)) == (403, "FORBIDDEN")
    assert await attachment_rows(db, tw) == 0


# ---------------------------------------------------------------------------------------------- download rights


async def test_case_photo_downloadable_by_case_readers_only(app: Api, fresh: World) -> None:
    tw = fresh.a
    content = png(colour=b"\x00\x80\x00")
    photo = await uploaded(app, tw, "resident", content)
    case = await report(app, tw, "resident", "B1", title="污水外溢", category="drainage", photoIds=[photo])
    assert case["timeline"][0]["attachmentIds"] == [photo]
    for user in ("resident", "grid1", "admin"):
        r = await download(app, tw, user, photo)
        assert r.status_code == 200, (user, r.text)
        assert (r.content, r.headers["content-type"]) == (content, "image/png"), user
    for user in ("grid2", "resident4", "grid3", "expired"):
        r = await download(app, tw, user, photo)
        assert (r.status_code, code_of(r)) == (404, "NOT_FOUND"), user
    for user in ("admin", "resident"):  # the other tenant's users, with their own tokens
        assert (await download(app, fresh.b, user, photo)).status_code == 404, user
    assert (await app.client.get(f"/uploads/{photo}")).status_code == 401


async def test_unused_upload_only_for_its_uploader(app: Api, fresh: World) -> None:
    tw = fresh.a
    content = png()
    photo = await uploaded(app, tw, "grid1", content)
    r = await download(app, tw, "grid1", photo)
    assert (r.status_code, r.content) == (200, content)
    for user in ("admin", "secretary", "grid2", "resident"):
        assert (await download(app, tw, user, photo)).status_code == 404, user
    assert (await download(app, fresh.b, "grid1", photo)).status_code == 404


# ---------------------------------------------------------------------------------------------- attaching photos


async def test_a_photo_is_attached_to_one_case_only(app: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    photo = await uploaded(app, tw, "resident", png())
    first = await report(app, tw, "resident", "B1", photoIds=[photo])
    before = await attachment_rows(db, tw)
    failed(await call(app, tw, "resident", "reportCase", areaId=area_gid(tw, "B1"), category="garbage",
                      title="再用同一张照片", photoIds=[photo]), "INVALID", "photoIds")
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            assert await s.scalar(select(func.count()).select_from(Case)) == 1
            linked = await s.scalar(select(Attachment.case_id).where(
                Attachment.id == decode_global_id(photo, "Attachment")[1]))
    assert linked == decode_global_id(first["id"], "Case")[1]
    assert await attachment_rows(db, tw) == before


async def test_resolution_photos_of_the_handler(app: Api, fresh: World) -> None:
    """The firm attaches its own photo when resolving; someone else's or a used photo is refused."""
    tw = fresh.a
    reporters_photo = await uploaded(app, tw, "resident", png())
    case = await report(app, tw, "resident", "B1", photoIds=[reporters_photo])
    case = await start(app, tw, await dispatch_firm(app, tw, await accept(app, tw, case)))
    spare = await uploaded(app, tw, "resident", png(colour=b"\x00\x00\xff"))
    for photo in (reporters_photo, spare):
        failed(await call(app, tw, "firm", "resolveCase", id=case["id"], resolution="已疏通", photoIds=[photo]),
               "INVALID", "photoIds")
    content = png(colour=b"\x10\x20\x30")
    firm_photo = await uploaded(app, tw, "firm", content)
    resolved = ok(await call(app, tw, "firm", "resolveCase", id=case["id"], resolution="已疏通",
                             photoIds=[firm_photo]))
    assert (resolved["state"], resolved["timeline"][-1]["attachmentIds"]) == ("RESOLVED", [firm_photo])
    r = await download(app, tw, "resident", firm_photo)  # the reporter sees the result
    assert (r.status_code, r.content) == (200, content)
