"""The connections a pool has handed out and not taken back while a block runs (the tests of a request's or a
subscription event's session closing under a cancelled field's statement)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def checked_out(pool: Any) -> Iterator[set[int]]:
    """The ids of the DBAPI connections ``pool`` checked out since the block began and has not had back."""
    out: set[int] = set()

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        out.add(id(dbapi_connection))

    def checkin(dbapi_connection: Any, record: Any) -> None:
        out.discard(id(dbapi_connection))

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    try:
        yield out
    finally:
        event.remove(pool, "checkout", checkout)
        event.remove(pool, "checkin", checkin)
