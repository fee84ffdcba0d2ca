"""The driver's fast paths (compiled reads, gongzhi/http/fast_writes.py, fast_moves.py, fast_inserts.py,
fast_ballot.py, fast_notifications.py) switched off for a test whose subject is the general path: the documents it
sends would take a fast path otherwise (each fast path is compared with the general path in its own tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.harness import Api


@contextmanager
def general_path(api: Api) -> Iterator[None]:
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        yield
    finally:
        state.compiled_reads = True
