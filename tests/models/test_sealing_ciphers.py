"""The keyring's ciphers are made once per key, not per value (issue #21), and opening a request's values
in one call gives what opening each gives, with the same errors; keys set anew are the ones that open."""

from __future__ import annotations

import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from models import sealing


def test_a_key_s_cipher_is_made_once_for_every_value_it_seals_and_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[bytes] = []

    def counted(key: bytes) -> AESGCM:
        made.append(key)
        return AESGCM(key)

    monkeypatch.setattr(sealing, "AESGCM", counted)
    key = os.urandom(32)  # a key no cipher of this process was made for yet
    ring = sealing.Keyring(keys=[("c", key)])
    stored = [ring.seal(f"1380000{i:04d}") for i in range(5)]
    assert [ring.open(s) for s in stored] == [f"1380000{i:04d}" for i in range(5)]
    assert made == [key]


def test_opening_many_gives_what_opening_each_gives() -> None:
    old, new = ("a", os.urandom(32)), ("b", os.urandom(32))
    ring = sealing.Keyring(keys=[old])
    values = ["11010519491231002X", "", "张三 \"引号\" \\ 13800001111"]
    stored = [ring.seal(v) for v in values]
    ring.keys = [new, old]  # rotation: the new key seals, both open
    stored += [ring.seal(v) for v in values]
    assert ring.open_many(stored) == [ring.open(s) for s in stored] == values * 2
    assert ring.open_many([]) == []
    for bad in ("13800001111", "v2:a:AAAA", "v1:z:" + stored[0].split(":", 2)[2]):
        with pytest.raises(sealing.SealError):
            ring.open(bad)
        with pytest.raises(sealing.SealError):
            ring.open_many([stored[0], bad])
    tampered = stored[0][:-4] + ("AAAA" if not stored[0].endswith("AAAA") else "BBBB")
    with pytest.raises(InvalidTag):
        ring.open_many([tampered])


def test_keys_set_anew_are_the_keys_that_open() -> None:
    ring = sealing.Keyring(keys=[("a", os.urandom(32))])
    stored = ring.seal("13800001111")
    ring.keys = [("a", os.urandom(32))]  # the same key id, another key
    with pytest.raises(InvalidTag):
        ring.open(stored)
    ring.keys = [("b", os.urandom(32))]
    with pytest.raises(sealing.SealError):
        ring.open_many([stored])
