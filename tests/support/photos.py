"""Helpers of the photo tests (uploads, signed photo links, ``gongzhi photos clean``): real images
built with Pillow (a JPEG carrying GPS EXIF, a PNG with text chunks), an app whose ``upload_dir``
is the test's tmp_path, upload and download as a world user, and checks that an image carries no
metadata."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, PngImagePlugin
from sqlalchemy import func, select

from gongzhi.http.app import create_app
from gongzhi.http.state import AppState
from gongzhi.settings import Settings
from models import Attachment
from tenants.session import bind_tenant
from tests.support.harness import JWT_SECRET, STATEMENT_TIMEOUT_MS, Api, DbEnv
from tests.support.world import TenantWorld

GPS_IFD = 0x8825
ORIENTATION = 0x0112
# 28°N 113°E, as in issue #24.
GPS = {1: "N", 2: (28.0, 12.0, 30.0), 3: "E", 4: (113.0, 5.0, 10.0)}

PHOTO_FIELDS = "id contentType width height size url thumbnailUrl urlsExpireAt"


# ---------------------------------------------------------------------------------------------- images


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


def png_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` pixels, with a few bytes of data: what a
    decompression bomb looks like before it is decoded."""
    head = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return head + _chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + _chunk(b"IEND", b"")


def gps_jpeg(width: int = 3000, height: int = 2000, *, orientation: int | None = None,
             colour: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    """A real JPEG as a phone writes it: EXIF with camera make and model and a GPS IFD (28°N 113°E),
    an optional orientation, and a comment."""
    im = Image.new("RGB", (width, height), colour)
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15 Pro"
    if orientation is not None:
        exif[ORIENTATION] = orientation
    exif[GPS_IFD] = GPS
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif.tobytes(), comment=b"taken at home", quality=92)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)[2] == (28.0, 12.0, 30.0)
    return data


def texty_png(width: int = 64, height: int = 48) -> bytes:
    """An RGBA PNG with tEXt, zTXt and iTXt chunks (a comment, a location, XMP) and an eXIf chunk."""
    im = Image.new("RGBA", (width, height), (10, 120, 200, 180))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "拍摄于 28N 113E")
    info.add_text("Location", "28.2083N 113.0861E", zip=True)
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta><GPSLatitude>28.2083</GPSLatitude></x:xmpmeta>")
    exif = Image.Exif()
    exif[GPS_IFD] = GPS
    out = io.BytesIO()
    im.save(out, "PNG", pnginfo=info, exif=exif.tobytes())
    return out.getvalue()


def png_chunks(data: bytes) -> list[bytes]:
    """The chunk types of a PNG, in order."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    kinds, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kinds.append(data[pos + 4:pos + 8])
        pos += 12 + length
    return kinds


def jpeg_segments(data: bytes) -> list[int]:
    """The marker bytes of a JPEG's segments up to its first scan (APP0 = 0xE0, APP1 (EXIF, XMP) =
    0xE1, APP2 (ICC) = 0xE2, COM = 0xFE …)."""
    assert data.startswith(b"\xff\xd8")
    markers, pos = [], 2
    while pos < len(data):
        assert data[pos] == 0xFF, pos
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        pos += 2 + length
    return markers


def assert_no_metadata(data: bytes) -> Image.Image:
    """The image decodes and carries no EXIF (GPS or other), XMP, ICC profile, comment or text."""
    im = Image.open(io.BytesIO(data))
    assert dict(im.getexif()) == {}, dict(im.getexif())
    assert not ({"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "Comment", "Location"}
                & set(im.info)), im.info
    assert b"Exif\x00\x00" not in data and b"iPhone" not in data and b"28N" not in data
    if im.format == "PNG":
        assert set(png_chunks(data)) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}, png_chunks(data)
    if im.format == "JPEG":  # JFIF header, tables, frame, scan: no APPn but APP0, no comment
        assert set(jpeg_segments(data)) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDD, 0xDA}, jpeg_segments(data)
    return im


# ---------------------------------------------------------------------------------------------- the app


@dataclass
class PhotoApp:
    api: Api
    state: AppState

    @property
    def client(self) -> httpx.AsyncClient:
        return self.api.client


def make_api(db: DbEnv, upload_dir: Path, **settings: Any) -> tuple[httpx.AsyncClient, PhotoApp]:
    s = Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, graphiql=False, upload_dir=str(upload_dir),
                 autoclose_interval=0, **{"db_statement_timeout_ms": STATEMENT_TIMEOUT_MS, **settings})
    app = create_app(s, engine=db.engine)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    return client, PhotoApp(Api(client, s), app.state.gongzhi)


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


async def download(api: Api, tw: TenantWorld, user: str, photo_id: str, suffix: str = "") -> httpx.Response:
    return await api.client.get(f"/uploads/{photo_id}{suffix}", headers=auth(api, tw, user))


async def attachment_rows(db: DbEnv, tw: TenantWorld) -> int:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            return int(await s.scalar(select(func.count()).select_from(Attachment)) or 0)


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def code_of(r: httpx.Response) -> str:
    code: str = r.json()["errors"][0]["extensions"]["code"]
    return code


async def case_photos(api: Api, tw: TenantWorld, user: str, case_id: str) -> dict[str, Any] | None:
    """The case as ``user`` sees it: its photos, and each timeline step's photos and attachment IDs."""
    q = f"""query($id: ID!) {{ node(id: $id) {{ ... on Case {{ id onProblemWall photos {{ {PHOTO_FIELDS} }}
        timeline {{ action attachmentIds photos {{ id url thumbnailUrl }} }} }} }} }}"""
    node: dict[str, Any] | None = (await api.gql(tw, user, q, {"id": case_id}))["data"]["node"]
    return node
