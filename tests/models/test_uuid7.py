"""uuid7 ids follow creation order within a process, also inside one millisecond (keyset pages and
'first by id' lists rely on it; tests/compiled compares persons of a household by it)."""

from __future__ import annotations

import time

from models import uuid7


def test_ids_made_in_one_millisecond_sort_in_the_order_they_were_made() -> None:
    ids = [uuid7() for _ in range(20_000)]  # thousands per millisecond on any machine
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in ids[:100])


def test_the_timestamp_is_the_clock_and_a_full_counter_moves_to_the_next_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    first = uuid7()
    assert abs((first.int >> 80) - before) <= 1_000
    many = [uuid7() for _ in range(5_000)]  # > 4,096: the 12-bit counter runs out at least once if fast
    assert many == sorted(many) and first < many[0]
