"""The portal mix's measured requests on plain HTTP/1.1 keep-alive connections (issue #21).

bench.mix drove everything with an httpx AsyncClient, in a Python process on the same 2-core machine as the
server and PostgreSQL: httpx cost the driver ≈ 0.8–0.95 ms of CPU per mutation request (its own process CPU
time over a phase, 2026-12-06) — as much as the server's own 0.6–1.1 ms, on the same two cores. Here each
worker of a run owns one connection (asyncio streams) and writes each request's bytes as one buffer (the
request line and headers made once per actor); it reads the status line and headers up to the blank line and
then exactly Content-Length bytes (or the chunks of a chunked answer). Every answer is still parsed and checked
as before: status 200, JSON, no ``errors`` (``Fail`` otherwise, with the answer's start), then the phase's own
check of ``data``. Set-up and look-ups keep the httpx client (bench.mix ``Client``); only ``drive`` uses this.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bench.mix_ops import TENANT, Fail

_END = b"\r\n\r\n"


class RawClient:
    """Makes the connections of a run; the request bytes of an actor's header block made once."""

    def __init__(self, host: str, port: int, path: str, tokens: dict[str, str]) -> None:
        self.host, self.port, self.path, self.tokens = host, port, path, tokens
        self._heads: dict[str, bytes] = {}

    def head(self, actor: str) -> bytes:
        h = self._heads.get(actor)
        if h is None:
            if actor not in self.tokens:
                raise Fail(f"no user {actor!r} in tenant {TENANT}")
            h = self._heads[actor] = (
                f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Authorization: Bearer {self.tokens[actor]}\r\nContent-Type: application/json\r\n"
                "Accept: application/json\r\nContent-Length: "
            ).encode()
        return h

    def request(self, actor: str, payload: bytes) -> bytes:
        return b"%s%d\r\n\r\n%s" % (self.head(actor), len(payload), payload)

    async def connect(self) -> RawConnection:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return RawConnection(self, reader, writer)


def _content_length(head: bytes) -> int | None:
    """The Content-Length of a header block (None: chunked); Fail for anything else."""
    lower = head.lower()
    i = lower.find(b"\r\ncontent-length:")
    if i >= 0:
        end = lower.find(b"\r\n", i + 2)
        return int(lower[i + 17 : end if end >= 0 else None])
    if b"\r\ntransfer-encoding: chunked" in lower:
        return None
    raise Fail(f"an answer with neither Content-Length nor chunked: {head[:300]!r}")


class RawConnection:
    """One keep-alive connection: one request at a time."""

    def __init__(self, client: RawClient, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.client, self.reader, self.writer = client, reader, writer

    async def _body(self, head: bytes) -> bytes:
        n = _content_length(head)
        if n is not None:
            return await self.reader.readexactly(n)
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n"))[:-2].split(b";", 1)[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")  # no trailers are sent: the last chunk's blank line
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    async def post(self, actor: str, payload: bytes) -> dict[str, Any]:
        """``data`` of the answer; Fail unless HTTP 200 with no ``errors`` (as bench.mix ``Client.post``)."""
        self.writer.write(self.client.request(actor, payload))
        try:
            head = await self.reader.readuntil(_END)
        except asyncio.IncompleteReadError as e:
            raise Fail(f"{actor}: the server closed the connection: {e.partial[:300]!r}") from e
        raw = await self._body(head)
        status = head[9:12]
        try:
            doc: dict[str, Any] = json.loads(raw)
        except ValueError as e:
            raise Fail(f"{actor}: HTTP {status.decode()}: not JSON: {raw[:300]!r}") from e
        if status != b"200" or not isinstance(doc, dict) or doc.get("errors") or "data" not in doc:
            raise Fail(f"{actor}: HTTP {status.decode()}: {json.dumps(doc, ensure_ascii=False)[:600]}")
        return doc["data"]  # type: ignore[no-any-return]

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass
