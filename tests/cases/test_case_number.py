"""A case's number (resolvers.cases.report._case_number): the local (Asia/Shanghai) date and 8 Crockford base32
characters of 40 random bits, most significant first — the same number for the same bits as the former
computation, digit by digit (issue #21 made it with one base32 call and no WorkCalendar)."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta

import pytest

from resolvers.cases import report

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def _former(raw: bytes, now: datetime) -> str:
    from zoneinfo import ZoneInfo

    bits = int.from_bytes(raw, "big")
    suffix = "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(7, -1, -1))
    return f"{now.astimezone(ZoneInfo('Asia/Shanghai')):%Y%m%d}-{suffix}"


def test_the_number_is_the_local_date_and_the_bits_in_crockford_base32(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(21)
    cases = [bytes(5), b"\xff" * 5, b"\x84\x21\x08\x42\x10", *(rng.randbytes(5) for _ in range(3000))]
    # 15:59:59 UTC is 23:59:59 in Shanghai; 16:00 is the next local day.
    times = [datetime(2026, 12, 6, 15, 59, 59, tzinfo=UTC), datetime(2026, 12, 6, 16, 0, tzinfo=UTC),
             datetime(2027, 1, 1, 3, 0, tzinfo=UTC) - timedelta(days=rng.randint(0, 400))]
    for i, raw in enumerate(cases):
        now = times[i % len(times)]
        monkeypatch.setattr(report.os, "urandom", lambda n, raw=raw: raw[:n])
        number = report._case_number(now)
        assert number == _former(raw, now), raw
        assert len(number) == 17 and set(number[9:]) <= set(ALPHABET)
    monkeypatch.setattr(report.os, "urandom", os.urandom)
    assert report._case_number(times[0]).startswith("20261206-")
    assert report._case_number(times[1]).startswith("20261207-")
