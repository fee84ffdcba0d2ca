"""Personal data at rest: ID numbers and phones are sealed with AES-256-GCM before they reach the
database, and found again through a keyed hash (a blind index) — a dump alone reveals neither.

Keys come from configuration (``GONGZHI_DATA_KEYS``: ``kid:base64key,…``, the first one seals;
all of them open, so keys rotate by adding a new first key and re-sealing — ``gongzhi rotate-keys``).
The blind-index key (``GONGZHI_INDEX_KEY``) does not rotate with them: changing it means re-hashing.
A stored value reads ``v1:<kid>:<base64(nonce ‖ ciphertext)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Iterable, Sequence
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Dialect, Text, TypeDecorator

from models.bounded import keep

# Development keys: used only when none are configured (the demo and the tests); the app logs a
# warning when it runs outside the demo with them. Production sets GONGZHI_DATA_KEYS and
# GONGZHI_INDEX_KEY.
DEV_DATA_KEY = ("dev", base64.b64decode("ZGV2LWtleS1mb3ItZ29uZ3poaS1kZW1vLTAxMjM0NTY="))
DEV_INDEX_KEY = b"dev-index-key-for-gongzhi-demo"


class SealError(ValueError):
    pass


class Keyring:
    """The data keys (the first seals, all open) and the blind-index key.

    Each key's cipher and associated data are made when the keys are set, once per process and key set
    (issue #21: a page of 20 persons read in full opens 40 values; finding the key and building its cipher
    per value cost more than the decryption itself). Never the plaintexts: every value is opened anew."""

    def __init__(self, keys: Sequence[tuple[str, bytes]] | None = None, index_key: bytes = DEV_INDEX_KEY) -> None:
        self.keys = [DEV_DATA_KEY] if keys is None else keys
        self.index_key = index_key

    @property
    def keys(self) -> Sequence[tuple[str, bytes]]:
        """A tuple: keys change by assignment (configure, rotation), which makes their ciphers anew."""
        return self._keys

    @keys.setter
    def keys(self, keys: Sequence[tuple[str, bytes]]) -> None:
        self._keys = tuple(keys)
        # by key id, the last of a repeated id winning, as dict(keys) did
        self._openers = {kid: (_aead(key).decrypt, kid.encode()) for kid, key in self._keys}

    @property
    def current(self) -> tuple[str, bytes]:
        return self._keys[0]

    def seal(self, plaintext: str) -> str:
        kid, key = self.current
        nonce = os.urandom(12)
        ct = _aead(key).encrypt(nonce, plaintext.encode(), kid.encode())
        return f"v1:{kid}:{base64.b64encode(nonce + ct).decode()}"

    def open(self, stored: str) -> str:
        return self.open_many((stored,))[0]

    def open_many(self, stored: Iterable[str]) -> list[str]:
        """Each value opened, in order: what ``open`` gives for each, one call for a request's values
        (compiled.plans.finish) with the per-value work kept to splitting, decoding and decrypting."""
        openers = self._openers
        a2b = binascii.a2b_base64
        out = []
        for value in stored:
            try:
                version, kid, blob = value.split(":", 2)
            except ValueError:
                raise SealError("not a sealed value") from None
            opener = openers.get(kid)
            if version != "v1" or opener is None:
                raise SealError(f"no key {kid!r} to open this value")
            decrypt, aad = opener
            raw = a2b(blob)  # base64.b64decode's own step: its errors, non-alphabet characters discarded
            out.append(decrypt(raw[:12], raw[12:], aad).decode())
        return out

    def kid_of(self, stored: str) -> str:
        return stored.split(":", 2)[1]

    def blind_index(self, value: str) -> str:
        return hmac.new(self.index_key, value.encode(), hashlib.sha256).hexdigest()


_AEADS: dict[bytes, AESGCM] = {}


def _aead(key: bytes) -> AESGCM:
    """The cipher of a key, made once per process (issue #21: a page of 20 persons opens 40 values;
    building the cipher for each was a third of opening one; an import seals two values per row).
    Keyed by the key itself, so a key configured anew never meets another's cipher."""
    aead = _AEADS.get(key)
    if aead is None:
        aead = keep(_AEADS, key, AESGCM(key), 64)
    return aead


KEYRING = Keyring()


def configure(data_keys: str | None, index_key: str | None) -> None:
    """Install keys from configuration (``kid:base64key,…``; each key 32 bytes)."""
    if data_keys:
        keys: list[tuple[str, bytes]] = []
        for part in data_keys.split(","):
            kid, _, b64 = part.strip().partition(":")
            key = base64.b64decode(b64)
            if not kid or len(key) != 32:
                raise ValueError("each GONGZHI_DATA_KEYS entry is kid:base64 of 32 bytes")
            keys.append((kid, key))
        KEYRING.keys = keys
    if index_key:
        KEYRING.index_key = base64.b64decode(index_key)


class Sealed(TypeDecorator[str]):
    """A string column stored sealed; reads give the plaintext back."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else KEYRING.seal(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else KEYRING.open(value)
