"""models.base.uuid7 (issue #21): ids made from a pool of random bytes read 4 KiB at a time, and built without
``uuid.UUID``'s argument checks — the same UUIDs as ``uuid.UUID(int=…)`` makes, version 7, in creation order,
never the same twice (across a refill, between threads, in a forked child)."""

from __future__ import annotations

import os
import pickle
import threading
import time
import uuid

import pytest

import models.base as base
from models.base import uuid7


def test_an_id_is_the_uuid_that_uuid_UUID_makes_of_its_int() -> None:
    for _ in range(2_000):
        made = uuid7()
        plain = uuid.UUID(int=made.int)
        assert type(made) is uuid.UUID
        assert made == plain and hash(made) == hash(plain) and str(made) == str(plain) and made.bytes == plain.bytes
        assert made.is_safe is plain.is_safe is uuid.SafeUUID.unknown
        assert made.version == 7 and made.variant == uuid.RFC_4122
        assert pickle.loads(pickle.dumps(made)) == made
        assert uuid.UUID(str(made)) == made


def test_ids_are_ordered_and_distinct_across_refills_of_the_random_pool() -> None:
    many = [uuid7() for _ in range(3 * base._RANDOM // 10 + 7)]  # three refills and more
    assert many == sorted(many) and len(set(many)) == len(many)
    assert abs((many[-1].int >> 80) - time.time_ns() // 1_000_000) < 5_000  # the millisecond is now's
    # the random bits are the pool's, not a constant: the 62 low bits differ
    assert len({m.int & ((1 << 62) - 1) for m in many}) == len(many)


def test_threads_never_take_the_same_random_bytes() -> None:
    made: list[uuid.UUID] = []

    def make() -> None:
        made.extend(uuid7() for _ in range(3_000))

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == len(made) == 12_000
    assert len({m.int & ((1 << 62) - 1) for m in made}) == 12_000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_child_does_not_make_its_parents_next_ids() -> None:
    uuid7()  # the pool is filled
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids' random bits, to the parent
        try:
            os.write(write, b"".join((uuid7().int & ((1 << 62) - 1)).to_bytes(8, "big") for _ in range(20)))
        finally:
            os._exit(0)
    os.close(write)
    child = b""
    while chunk := os.read(read, 4096):
        child += chunk
    os.close(read)
    os.waitpid(pid, 0)
    parents = b"".join((uuid7().int & ((1 << 62) - 1)).to_bytes(8, "big") for _ in range(20))
    assert len(child) == 160
    assert not {child[i:i + 8] for i in range(0, 160, 8)} & {parents[i:i + 8] for i in range(0, 160, 8)}
