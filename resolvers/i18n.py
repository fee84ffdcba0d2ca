"""The language of a request's messages (DESIGN.md §8, issue #24): Simplified Chinese by default,
English when the request asks for it with ``Accept-Language: en``. Error codes never change.

The request pipeline (``gongzhi.http.pipeline.RequestPipeline``) sets ``LANGUAGE`` from the
``Accept-Language`` header of every HTTP request and WebSocket connection and resets it after; the
command line and jobs keep the default, Chinese. A message is written at its call site in both
languages, f-strings as needed::

    raise ServiceError(ErrorCode.INVALID, t(f"最多 {n} 个", f"at most {n}"), "ids")

Both texts are built and one returned: no catalogue, no lookup, nothing per request but reading one
header.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

Language = Literal["zh", "en"]

LANGUAGE: ContextVar[Language] = ContextVar("gongzhi_language", default="zh")


def t(zh: str, en: str) -> str:
    """The message in the current request's language."""
    return en if LANGUAGE.get() == "en" else zh


def language() -> Language:
    return LANGUAGE.get()


@contextmanager
def use_language(lang: Language) -> Iterator[None]:
    """Messages in ``lang`` inside the block (tests; code outside a request)."""
    token = LANGUAGE.set(lang)
    try:
        yield
    finally:
        LANGUAGE.reset(token)


def from_accept_language(header: str | None) -> Language:
    """``en`` when English is the header's most preferred language among those served (zh, en);
    otherwise ``zh`` — also when the header is missing, malformed or names neither (RFC 9110 §12.5.4:
    the highest quality wins; among equals, the first listed)."""
    if not header:
        return "zh"
    best: tuple[float, int, Language] | None = None
    for i, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-", 1)[0]
        if primary not in ("zh", "en"):
            continue
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        lang: Language = "en" if primary == "en" else "zh"
        if best is None or (q, -i) > best[:2]:
            best = (q, -i, lang)
    return best[2] if best is not None else "zh"
