"""bench.mix's measured requests on plain HTTP/1.1 connections (bench/mix_http.py, issue #21): every answer is
still checked — HTTP 200, JSON, no ``errors``, then the phase's own check — and nothing is lost or reordered
by keep-alive, Content-Length or chunked bodies. Against a small asyncio HTTP server, no gongzhi server."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bench import mix
from bench.mix_http import RawClient, _content_length
from bench.mix_ops import Fail

TOKENS = {"a": "tok-a", "b": "tok-b"}


def _answer(status: int, doc: Any, chunked: bool) -> bytes:
    raw = json.dumps(doc).encode()
    if not chunked:
        return b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
            status, len(raw), raw)
    half = len(raw) // 2
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (raw[:half], raw[half:]) if c)
    return b"HTTP/1.1 %d X\r\nTransfer-Encoding: chunked\r\n\r\n%s0\r\n\r\n" % (status, chunks)


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: list[dict[str, Any]]) -> None:
    """Echoes each request's variables as ``data``: {"n": …, "actor": the token}; ``fail`` makes an error answer."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            headers = dict(
                line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line)
            req = json.loads(await reader.readexactly(int(headers["Content-Length"])))
            seen.append(headers)
            v = req["variables"]
            chunked = v["n"] % 3 == 0
            if v.get("fail") == "status":
                writer.write(_answer(500, {"data": None}, chunked))
            elif v.get("fail") == "errors":
                writer.write(_answer(200, {"data": None, "errors": [{"message": "no"}]}, chunked))
            else:
                token = headers["Authorization"].removeprefix("Bearer ")
                writer.write(_answer(200, {"data": {"n": v["n"], "actor": token}}, chunked))
            await writer.drain()
    except asyncio.IncompleteReadError:
        writer.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[int, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    srv = await asyncio.start_server(lambda r, w: _serve(r, w, seen), "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    yield port, seen
    srv.close()
    await srv.wait_closed()


def _client(port: int) -> mix.Client:
    return mix.Client(f"http://127.0.0.1:{port}/graphql", TOKENS, RawClient("127.0.0.1", port, "/graphql", TOKENS))


async def test_every_answer_in_the_order_of_the_requests_with_its_actor(server: tuple[int, list[Any]]) -> None:
    port, seen = server
    client = _client(port)
    requests = [("ab"[i % 2], mix.body("q", {"n": i})) for i in range(200)]
    stats = mix.Stats("x")
    checked: list[int] = []

    def check(d: dict[str, Any]) -> dict[str, Any]:
        checked.append(d["n"])
        return d

    answers = await mix.drive(client, os.getpid(), stats, requests, 4, None, check)
    assert [a["n"] for a in answers] == list(range(200))  # chunked (every third) and Content-Length alike
    assert [a["actor"] for a in answers] == [TOKENS["ab"[i % 2]] for i in range(200)]
    assert sorted(checked) == list(range(200))
    assert len(stats.lat) == 200 and stats.driver_ms > 0
    assert len(seen) == 200 and {h["Content-Type"] for h in seen} == {"application/json"}
    await client.http.aclose()


@pytest.mark.parametrize("fail", ["status", "errors"])
async def test_one_bad_answer_among_many_fails_the_run(server: tuple[int, list[Any]], fail: str) -> None:
    port, _seen = server
    client = _client(port)
    requests = [("a", mix.body("q", {"n": i, **({"fail": fail} if i == 137 else {})})) for i in range(200)]
    with pytest.raises(Fail, match="HTTP 500" if fail == "status" else "no"):
        await mix.drive(client, os.getpid(), mix.Stats("x"), requests, 8, None, lambda d: d)
    await client.http.aclose()


async def test_the_phase_s_own_check_fails_the_run(server: tuple[int, list[Any]]) -> None:
    port, _seen = server
    client = _client(port)

    def check(d: dict[str, Any]) -> None:
        if d["n"] == 5:
            raise Fail("payload errors")

    with pytest.raises(Fail, match="payload errors"):
        requests = [("a", mix.body("q", {"n": i})) for i in range(20)]
        await mix.drive(client, os.getpid(), mix.Stats("x"), requests, 4, None, check)
    await client.http.aclose()


async def test_an_unknown_actor_fails() -> None:
    with pytest.raises(Fail, match="no user"):
        RawClient("127.0.0.1", 1, "/graphql", TOKENS).request("c", b"{}")


def test_content_length_or_chunked_or_nothing() -> None:
    assert _content_length(b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\nX: y\r\n\r\n") == 17
    assert _content_length(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n") is None
    with pytest.raises(Fail):
        _content_length(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
