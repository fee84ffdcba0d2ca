"""Photos rebuilt from their pixels (issue #24): a case photo is never stored as it was sent.

A phone's photo carries EXIF (GPS position, time, camera), XMP, comments and text chunks; the
problem wall hides who reported a case, and a photo's GPS would give the position away. So every
upload is decoded, and only its pixels are kept: they are copied into a new image (no ``info``, no
EXIF, no ICC profile, no text — nothing a plugin could write back), turned upright by its EXIF
orientation first, scaled down to ``MAX_SIDE`` on its longest side and encoded again (JPEG at
quality ``JPEG_QUALITY``, PNG, WebP). A thumbnail of ``THUMB_SIDE`` pixels is made from the same
pixels.

Refused with a typed error (``ServiceError``, field ``file``), before anything is written:
- not a JPEG, PNG or WebP by its content, or not decodable: ``INVALID``;
- more than ``MAX_PIXELS`` pixels by its header (a decompression bomb: a few kilobytes that would
  decode to gigabytes): ``TOO_LONG``, checked before any pixel is decoded.

Decoding and encoding run on ``WORKERS`` threads of their own (``clean_image_async``): the event
loop keeps answering, and at most ``WORKERS`` images are in memory at once."""

from __future__ import annotations

import asyncio
import io
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from PIL import Image, ImageCms, ImageOps

from resolvers.errors import ErrorCode, ServiceError

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 2048
THUMB_SIDE = 320
JPEG_QUALITY = 85
THUMB_QUALITY = 80
# 40 megapixels (8000 × 5000): a phone's full-size photo fits; decoded as RGBA it is 160 MB.
MAX_PIXELS = 40_000_000
WORKERS = 2

T = TypeVar("T")

# Sniffed type → (Pillow's format name, content type).
FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


@dataclass(frozen=True)
class CleanImage:
    """An image rebuilt from its pixels only: what may be stored and served."""

    data: bytes
    thumbnail: bytes
    content_type: str
    width: int
    height: int


def sniff_image(content: bytes) -> str | None:
    """The image type the bytes really are (JPEG, PNG, WebP), or None."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def _refuse_size(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise ServiceError(ErrorCode.TOO_LONG, f"照片像素过多（{width}×{height}），最多 {max_pixels // 10_000} 万像素",
                           "file")


def _decode(content: bytes, kind: str, max_pixels: int, max_side: int) -> Image.Image:
    """The first frame, decoded, upright; the size is checked from the header before decoding."""
    fmt = FORMATS[kind]
    try:
        im = Image.open(io.BytesIO(content), formats=[fmt])
        _refuse_size(im.width, im.height, max_pixels)
        ratio = max_side / max(im.size)
        if fmt == "JPEG" and ratio < 1:  # decode at 1/2, 1/4 or 1/8 scale when it is scaled down anyway
            im.draft(im.mode, (math.ceil(im.width * ratio), math.ceil(im.height * ratio)))
        im.load()
        orientation = im.getexif().get(0x0112)  # the EXIF orientation, applied before EXIF is dropped
        upright = ImageOps.exif_transpose(im) if orientation not in (None, 1) else im
    except ServiceError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard (over 89 megapixels), should MAX_PIXELS ever be set above it.
        raise ServiceError(ErrorCode.TOO_LONG, "照片像素过多", "file") from None
    except Exception:  # any decoder failure: truncated, corrupt, a header that lies
        raise ServiceError(ErrorCode.INVALID, "照片无法解码，请上传完整的 JPEG、PNG 或 WebP 图片", "file") from None
    return upright


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Colours as the embedded profile meant them, in sRGB (the profile itself is not kept: it is
    metadata, and can name the device). A profile that cannot be used is dropped as it is."""
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK"):
        return im
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(im, source, target, outputMode=out_mode)
    except Exception:
        return im
    return converted if converted is not None else im


def _normalise(im: Image.Image, fmt: str) -> Image.Image:
    """A mode the output format takes: L or RGB for JPEG (transparency flattened onto white); L, LA,
    RGB or RGBA for PNG, RGB or RGBA for WebP. 16-bit grey is scaled to 8 bits, not clipped."""
    if im.mode.startswith("I") or im.mode == "F":
        im = im.convert("I").point(lambda v: v / 256).convert("L")
    transparent = "transparency" in im.info
    has_alpha = im.mode in ("RGBA", "LA", "PA") or transparent
    if fmt == "JPEG":
        if im.mode in ("L", "RGB") and not transparent:
            return im
        if not has_alpha:
            return im.convert("RGB")
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    keep = ("L", "LA", "RGB", "RGBA") if fmt == "PNG" else ("RGB", "RGBA")
    if im.mode in keep and not transparent:
        return im
    return im.convert("RGBA" if has_alpha else "RGB")


def _pixels_only(im: Image.Image) -> Image.Image:
    """A new image holding the same pixels and nothing else (``info`` empty, no EXIF)."""
    fresh = Image.new(im.mode, im.size)
    fresh.paste(im)
    return fresh


def _encode(im: Image.Image, fmt: str, quality: int) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        im.save(out, "JPEG", quality=quality, optimize=True)
    elif fmt == "PNG":
        im.save(out, "PNG", compress_level=6)
    else:
        im.save(out, "WEBP", quality=quality, method=4)
    return out.getvalue()


def clean_image(content: bytes, *, max_bytes: int = MAX_BYTES, max_side: int = MAX_SIDE,
                thumb_side: int = THUMB_SIDE, max_pixels: int = MAX_PIXELS) -> CleanImage:
    """The photo rebuilt from its pixels, scaled to ``max_side``, with its thumbnail; refused with a
    ``ServiceError`` (field ``file``) when it is empty, too large, not an image or a bomb."""
    if len(content) == 0:
        raise ServiceError(ErrorCode.INVALID, "文件为空", "file")
    if len(content) > max_bytes:
        raise ServiceError(ErrorCode.TOO_LONG, f"照片不能超过 {max_bytes / 1024 / 1024:g} MB", "file")
    kind = sniff_image(content)
    if kind is None:
        raise ServiceError(ErrorCode.INVALID, "只接受 JPEG、PNG 或 WebP 照片", "file")
    fmt = FORMATS[kind]
    im = _decode(content, kind, max_pixels, max_side)
    try:
        icc = im.info.get("icc_profile")
        im = _to_srgb(im, icc if isinstance(icc, bytes) else None)
        im = _normalise(im, fmt)
        if max(im.size) > max_side:
            im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        im = _pixels_only(im)
        data = _encode(im, fmt, JPEG_QUALITY)
        thumb = im.copy()
        thumb.thumbnail((thumb_side, thumb_side), Image.Resampling.LANCZOS)
        thumbnail = _encode(_pixels_only(thumb), fmt, THUMB_QUALITY)
    except Exception:  # an image Pillow opened but cannot convert or write (an exotic mode)
        raise ServiceError(ErrorCode.INVALID, "照片无法处理，请换一张 JPEG、PNG 或 WebP 图片", "file") from None
    return CleanImage(data=data, thumbnail=thumbnail, content_type=kind, width=im.width, height=im.height)


_executor: ThreadPoolExecutor | None = None


async def in_image_thread(fn: Callable[[], T]) -> T:
    """``fn()`` on one of the ``WORKERS`` image threads (never on the event loop)."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="gongzhi-photos")
    return await asyncio.get_running_loop().run_in_executor(_executor, fn)


async def clean_image_async(content: bytes, *, max_bytes: int = MAX_BYTES) -> CleanImage:
    """``clean_image`` on an image thread."""
    return await in_image_thread(lambda: clean_image(content, max_bytes=max_bytes))
