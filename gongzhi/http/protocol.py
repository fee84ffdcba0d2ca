"""uvicorn's HTTP protocol with a deadline for a request's headers (issue #26: slow clients).

uvicorn has no timeout covering request transmission: ``timeout_keep_alive`` applies only between
requests and is reset by every byte, so a client trickling its request line and headers one byte a
second holds a connection (and, before this, was held for its full 60 s). ASGI middleware cannot
help: the app runs only once the headers are complete. This protocol arms a timer when a connection
opens and when a new request begins, disarms it when the headers are complete (the body has its own
deadline, ``gongzhi.http.pipeline``), and when it fires answers 408 in the one error body (GraphQL
shape, code ``REQUEST_TIMEOUT``, a request id) and closes the connection. Logged at info: a slow
client is not a server error.

``gongzhi serve`` passes this class to uvicorn (``http=``); the deadline is
``GONGZHI_HTTP_HEADER_TIMEOUT`` seconds (0: off), read from the environment in each worker.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("gongzhi")

DEFAULT_HEADER_TIMEOUT = 10.0


def header_timeout() -> float:
    """The worker's header deadline in seconds (the setting, read once per process)."""
    global _timeout
    if _timeout is None:
        from gongzhi.settings import Settings

        try:
            _timeout = float(Settings.from_env().http_header_timeout)
        except Exception:  # a bad setting is refused at start-up by the master; be safe here
            _timeout = DEFAULT_HEADER_TIMEOUT
    return _timeout


_timeout: float | None = None


def timeout_response(request_id: str) -> bytes:
    body = orjson.dumps({"errors": [{"message": "请求头未在时限内收齐，连接已关闭",
                                     "extensions": {"code": "REQUEST_TIMEOUT", "requestId": request_id}}]})
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
            b"x-request-id: " + request_id.encode() + b"\r\ncontent-length: " + str(len(body)).encode()
            + b"\r\n\r\n" + body)


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose request line and headers must arrive within ``header_timeout()``."""

    _header_timer: asyncio.TimerHandle | None = None
    _headers_done = True

    def _arm(self) -> None:
        seconds = header_timeout()
        if seconds <= 0 or self._header_timer is not None:
            return
        self._headers_done = False
        self._header_timer = self.loop.call_later(seconds, self._header_deadline)

    def _disarm(self) -> None:
        self._headers_done = True
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle between requests is the keep-alive timeout's; the next request's first byte re-arms.
        self._disarm()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    def _header_deadline(self) -> None:
        self._header_timer = None
        if self._headers_done or self.transport.is_closing():
            return
        rid = uuid.uuid4().hex
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
        log.info("request headers not received in time; connection closed",
                 extra={"fields": {"client": client, "request_id": rid, "timeout_s": header_timeout(),
                                   "outcome": "client_timeout"}})
        self.transport.write(timeout_response(rid))
        self.transport.close()


def reset_for_tests() -> None:
    """Forget the cached setting (tests change GONGZHI_HTTP_HEADER_TIMEOUT)."""
    global _timeout
    _timeout = None
