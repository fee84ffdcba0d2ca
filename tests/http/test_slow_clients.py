"""Slow and vanishing clients against a real `gongzhi serve` (issue #26): headers and body each have a
deadline (408 REQUEST_TIMEOUT in the one error body, connection closed), the server keeps answering
others meanwhile, and a client that hangs up is an info line, never an error with a traceback."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx

from tests.support.harness import DbEnv
from tests.support.servers import Server


async def _read_all(reader: asyncio.StreamReader, wait: float) -> bytes:
    return await asyncio.wait_for(reader.read(), wait)


def _split(raw: bytes) -> tuple[str, dict[str, str], dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return lines[0], headers, json.loads(body)


async def test_slow_headers_and_body_get_408_while_others_are_served(db: DbEnv, tmp_path: Path) -> None:
    server = Server(db, tmp_path, serve_args=[], GONGZHI_HTTP_HEADER_TIMEOUT="1",
                    GONGZHI_HTTP_BODY_TIMEOUT="1", GONGZHI_LOG_FORMAT="json")
    try:
        await server.ready()
        # 1. headers trickled a byte every 0.2 s: cut after about a second, not held for the whole trickle
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        started = time.monotonic()
        request = b"POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"

        async def trickle() -> None:
            for byte in request:
                if writer.is_closing():
                    return
                writer.write(bytes([byte]))
                try:
                    await writer.drain()
                except ConnectionError:
                    return
                await asyncio.sleep(0.2)

        trickler = asyncio.create_task(trickle())
        cut = asyncio.create_task(asyncio.wait_for(reader.read(1), 5))  # the 408's first byte, when it comes
        async with httpx.AsyncClient(base_url=server.http, timeout=5) as c:
            assert (await c.get("/healthz")).status_code == 200
            # Others are served meanwhile: answered while the trickling client is still held, before its 408
            # (an order, not a wall-clock bound: a busy test machine delays both alike).
            assert not cut.done()
        raw = await cut + await _read_all(reader, 5)
        elapsed = time.monotonic() - started
        trickler.cancel()
        writer.close()
        status, headers, body = _split(raw)
        assert status.startswith("HTTP/1.1 408"), raw
        assert 0.9 <= elapsed < 3, elapsed
        assert headers["content-type"] == "application/json"
        errors = body["errors"]
        assert isinstance(errors, list)
        assert errors[0]["extensions"]["code"] == "REQUEST_TIMEOUT"
        assert errors[0]["extensions"]["requestId"] == headers["x-request-id"]

        # 2. complete headers, a body that stops short: 408 in the error body with the client's request id
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer x\r\nX-Request-Id: slow-body-1\r\nContent-Length: 100\r\n\r\n{\"query\"")
        await writer.drain()
        started = time.monotonic()
        raw = await _read_all(reader, 5)
        elapsed = time.monotonic() - started
        writer.close()
        status, headers, body = _split(raw)
        assert status.startswith("HTTP/1.1 408"), raw
        assert 0.9 <= elapsed < 3, elapsed
        assert headers["x-request-id"] == "slow-body-1"
        errors = body["errors"]
        assert isinstance(errors, list)
        assert errors[0]["extensions"] == {"code": "REQUEST_TIMEOUT", "requestId": "slow-body-1"}

        # 3. a client that hangs up mid-body: logged at info, no traceback, the server carries on
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     b"X-Request-Id: hangs-up-1\r\nContent-Length: 100\r\n\r\n{\"q")
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.close()
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(base_url=server.http, timeout=5) as c:
            assert (await c.get("/healthz")).status_code == 200
    finally:
        server.stop()
    out = server.output()
    assert "Traceback" not in out, out
    # issue #25: with GONGZHI_LOG_FORMAT=json every line is JSON, uvicorn's own included
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    hangup = [line for line in lines if line.get("request_id") == "hangs-up-1"]
    assert any(line["level"] == "info" and "client closed" in line["msg"] for line in hangup), hangup
    assert not any(line["level"] in ("error", "critical") for line in hangup), hangup
    access = [line for line in hangup if line["msg"] == "request"]
    assert access and access[0]["outcome"] == "client_closed" and access[0]["status"] == 499, access
    slow = [line for line in lines if line.get("request_id") == "slow-body-1" and line["msg"] == "request"]
    assert slow and slow[0]["status"] == 408 and slow[0]["outcome"] == "client_timeout", slow
    assert any("request headers not received in time" in line["msg"] for line in lines)
