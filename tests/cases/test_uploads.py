"""Photo uploads (POST /uploads, GET /uploads/{id}): checked by content, size-limited, rebuilt from their
pixels (no EXIF/GPS or other metadata, at most 2048 px, a thumbnail beside them: issue #24), readable by
whoever sees the case a photo belongs to in full — never from the problem wall — (or, before it is used,
by its uploader only), never across tenants.

Every test builds its own app whose ``upload_dir`` is the test's tmp_path (the shared ``api`` fixture would
write into the repository's var/uploads).

Sections: upload checks · metadata stripped · download rights · attaching photos to cases.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from PIL import Image
from sqlalchemy import func, select

from models import Attachment, Case
from resolvers.ids import decode_global_id
from tenants.session import bind_tenant
from tests.support.cases import (
    accept,
    add_resident,
    area_gid,
    call,
    dispatch_firm,
    failed,
    ok,
    read,
    report,
    start,
)
from tests.support.compiled import both
from tests.support.harness import Api, DbEnv, World
from tests.support.photos import (
    GPS_IFD,
    assert_no_metadata,
    attachment_rows,
    case_photos,
    code_of,
    download,
    gps_jpeg,
    make_api,
    png,
    png_bomb,
    stored_files,
    texty_png,
    upload,
    uploaded,
)


@pytest.fixture
async def app(db: DbEnv, tmp_path: Path) -> AsyncIterator[Api]:
    client, photo_app = make_api(db, tmp_path)
    async with client:
        yield photo_app.api


def pixels(data: bytes) -> tuple[str, tuple[int, int], object]:
    im = Image.open(io.BytesIO(data))
    return im.mode, im.size, im.convert("RGB").getpixel((0, 0))


# ---------------------------------------------------------------------------------------------- upload checks


async def test_png_upload_returns_an_attachment(app: Api, db: DbEnv, fresh: World, tmp_path: Path) -> None:
    tw = fresh.a
    content = png()
    r = await upload(app, tw, "resident", content)
    assert r.status_code == 201, r.text
    body = r.json()
    kind, attachment_id = decode_global_id(body["id"])
    assert kind == "Attachment"
    # The photo and its thumbnail, side by side; size and sha256 are the stored (rebuilt) file's.
    original = tmp_path / tw.tenant_id.hex / attachment_id.hex
    assert stored_files(tmp_path) == [original, original.with_name(attachment_id.hex + ".thumb")]
    stored = original.read_bytes()
    assert (body["contentType"], body["size"], body["sha256"], body["width"], body["height"]) == (
        "image/png", len(stored), hashlib.sha256(stored).hexdigest(), 1, 1)
    assert pixels(stored) == pixels(content) == ("RGB", (1, 1), (255, 0, 0))
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
    # Bytes that start like a JPEG but are none, or a truncated one, do not decode: refused.
    r = await upload(app, tw, "resident", b"\xff\xd8\xff\xe0" + b"\x00" * 60, "photo.jpg", "image/jpeg")
    assert (r.status_code, code_of(r), r.json()["errors"][0]["extensions"]["field"]) == (400, "INVALID", "file")
    assert "照片" in r.json()["errors"][0]["message"]
    r = await upload(app, tw, "resident", gps_jpeg(64, 48)[:300], "photo.jpg", "image/jpeg")
    assert (r.status_code, code_of(r)) == (400, "INVALID")
    assert await attachment_rows(db, tw) == 0
    assert stored_files(tmp_path) == []
    # A real JPEG sent under a misleading name and type is stored as what it is.
    r = await upload(app, tw, "resident", gps_jpeg(64, 48), "notes.txt", "text/plain")
    assert (r.status_code, r.json()["contentType"]) == (201, "image/jpeg")


async def test_size_limit(db: DbEnv, fresh: World, tmp_path: Path) -> None:
    tw = fresh.a
    client, small_app = make_api(db, tmp_path, max_upload_bytes=1000)
    small = small_app.api
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


# ---------------------------------------------------------------------------------------------- metadata stripped


async def test_jpeg_with_gps_exif_is_stored_and_served_without_it(app: Api, db: DbEnv, fresh: World,
                                                                  tmp_path: Path) -> None:
    """Issue #24: a phone's JPEG (EXIF with GPS 28°N 113°E, camera, a comment, turned by its
    orientation tag) is stored, served and thumbnailed without any of it, upright and at most 2048 px."""
    tw = fresh.a
    content = gps_jpeg(3000, 2000, orientation=6)  # a landscape sensor image of a portrait photo
    assert Image.open(io.BytesIO(content)).getexif().get_ifd(GPS_IFD)
    r = await upload(app, tw, "resident", content, "IMG_0001.jpg", "image/jpeg")
    assert r.status_code == 201, r.text
    body = r.json()
    attachment_id = decode_global_id(body["id"], "Attachment")[1]
    original = tmp_path / tw.tenant_id.hex / attachment_id.hex
    thumb = original.with_name(original.name + ".thumb")
    stored = original.read_bytes()
    im = assert_no_metadata(stored)
    assert (im.format, im.size) == ("JPEG", (1365, 2048))  # turned upright, longest side capped
    assert (body["contentType"], body["width"], body["height"], body["size"]) == (
        "image/jpeg", 1365, 2048, len(stored))
    assert im.convert("RGB").getpixel((600, 1000)) == pytest.approx((200, 60, 40), abs=3)
    small = assert_no_metadata(thumb.read_bytes())
    assert (small.format, small.size) == ("JPEG", (213, 320))

    case = await report(app, tw, "resident", "B1", photoIds=[body["id"]])
    for user in ("resident", "grid1"):
        served = await download(app, tw, user, body["id"])
        assert served.status_code == 200, served.text
        assert served.content == stored
        assert served.headers["x-content-type-options"] == "nosniff"
        served_thumb = await download(app, tw, user, body["id"], "/thumbnail")
        assert (served_thumb.status_code, served_thumb.content) == (200, thumb.read_bytes())
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            row = await s.scalar(select(Attachment).where(Attachment.id == attachment_id))
    assert row is not None and row.case_id == decode_global_id(case["id"], "Case")[1]
    assert (row.width, row.height, row.size, row.sha256, row.thumbnail_key) == (
        1365, 2048, len(stored), hashlib.sha256(stored).hexdigest(), f"{tw.tenant_id.hex}/{attachment_id.hex}.thumb")


async def test_png_text_chunks_and_webp_metadata_are_stripped(app: Api, fresh: World, tmp_path: Path) -> None:
    tw = fresh.a
    r = await upload(app, tw, "resident", texty_png(), "scan.png", "image/png")
    assert r.status_code == 201, r.text
    body = r.json()
    stored = (tmp_path / tw.tenant_id.hex / decode_global_id(body["id"])[1].hex).read_bytes()
    im = assert_no_metadata(stored)  # IHDR, IDAT, IEND only: no tEXt, zTXt, iTXt, eXIf
    assert (im.format, im.mode, im.size, im.getpixel((5, 5))) == ("PNG", "RGBA", (64, 48), (10, 120, 200, 180))
    assert (body["width"], body["height"]) == (64, 48)

    webp = io.BytesIO()
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (28.0, 0.0, 0.0)}
    Image.new("RGB", (2400, 1200), (0, 90, 0)).save(webp, "WEBP", exif=exif.tobytes(), xmp=b"<x:xmpmeta/>")
    r = await upload(app, tw, "resident", webp.getvalue(), "photo.webp", "image/webp")
    assert r.status_code == 201, r.text
    stored = (tmp_path / tw.tenant_id.hex / decode_global_id(r.json()["id"])[1].hex).read_bytes()
    im = assert_no_metadata(stored)
    assert (im.format, im.size, r.json()["contentType"]) == ("WEBP", (2048, 1024), "image/webp")
    assert b"EXIF" not in stored and b"XMP " not in stored


async def test_decompression_bombs_are_refused_before_decoding(app: Api, db: DbEnv, fresh: World,
                                                               tmp_path: Path) -> None:
    """A few hundred bytes that claim 7,000 × 7,000 (49 megapixels) or 30,000 × 30,000 pixels are
    refused from their header: TOO_LONG (413), a Chinese message, nothing stored."""
    tw = fresh.a
    for width, height in ((7000, 7000), (30000, 30000)):
        bomb = png_bomb(width, height)
        assert len(bomb) < 1000
        r = await upload(app, tw, "resident", bomb, "bomb.png", "image/png")
        assert (r.status_code, code_of(r)) == (413, "TOO_LONG"), r.text
        error = r.json()["errors"][0]
        assert error["extensions"]["field"] == "file" and "像素" in error["message"], error
    # Garbage behind a PNG signature does not decode either.
    r = await upload(app, tw, "resident", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "x.png", "image/png")
    assert (r.status_code, code_of(r)) == (400, "INVALID")
    assert await attachment_rows(db, tw) == 0
    assert stored_files(tmp_path) == []


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
        assert (pixels(r.content), r.headers["content-type"]) == (pixels(content), "image/png"), user
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
    assert (r.status_code, pixels(r.content)) == (200, pixels(content))
    for user in ("admin", "secretary", "grid2", "resident"):
        assert (await download(app, tw, user, photo)).status_code == 404, user
    assert (await download(app, fresh.b, "grid1", photo)).status_code == 404


TIMELINE_IDS = "query($id: ID!) { node(id: $id) { ... on Case { timeline { attachmentIds } } } }"


async def test_a_neighbour_on_the_problem_wall_gets_no_photo(app: Api, db: DbEnv, fresh: World) -> None:
    """Issue #24: a resident's case is on the compound's problem wall, which hides the reporter; a
    neighbour in the same compound who is not the reporter and has no staff right over the case
    sees the case but neither its photos nor their IDs, and cannot download them — on either path
    (compiled reads on PostgreSQL for attachmentIds, the resolvers for photos)."""
    tw = fresh.a
    await add_resident(db, tw, "neighbour", "P1", "h2a")  # lives in H2 (B2), same compound P1
    photo = await uploaded(app, tw, "resident", gps_jpeg(800, 600))
    case = await report(app, tw, "resident", "B1", title="楼道堆物", photoIds=[photo])
    assert case["onProblemWall"] is True
    for user in ("neighbour", "secretary2"):  # secretary2 lives in H1 but serves another community
        wall = await read(app, tw, case["id"], user)
        assert wall is not None and wall["reporter"] is None, user  # the wall entry
        assert [e["attachmentIds"] for e in wall["timeline"]] == [[]], user
        seen = await case_photos(app, tw, user, case["id"])
        assert seen is not None and seen["photos"] == [], user
        assert [(e["attachmentIds"], e["photos"]) for e in seen["timeline"]] == [([], [])], user
        for suffix in ("", "/thumbnail"):
            r = await download(app, tw, user, photo, suffix)
            assert (r.status_code, code_of(r)) == (404, "NOT_FOUND"), (user, suffix)
    if db.is_pg:  # the compiled read gives the wall no attachment IDs either, the reporter hers
        for user, expected in (("neighbour", []), ("resident", [photo])):
            compiled, resolved, taken = await both(app, tw, user, TIMELINE_IDS, {"id": case["id"]})
            assert taken and compiled == resolved, user
            assert orjson.loads(compiled)["data"]["node"]["timeline"] == [{"attachmentIds": expected}], user
    for user in ("resident", "chair", "grid1", "secretary", "admin"):  # the reporter and staff over P1
        full = await case_photos(app, tw, user, case["id"])
        assert full is not None and [p["id"] for p in full["photos"]] == [photo], user
        assert (await download(app, tw, user, photo)).status_code == 200, user


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
    assert (r.status_code, pixels(r.content)) == (200, pixels(content))
