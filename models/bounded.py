"""What the process keeps in a bounded dict (issue #21): texts and values made once and used by later requests —
a guard's SQL, an area's path, an item's points. One rule for each: at its limit the dict is emptied (no ordering
kept per entry: what is used is made again at once) before a new key goes in; a key already there is replaced."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

__all__ = ["keep"]


def keep(kept: dict[K, V], key: K, value: V, limit: int) -> V:
    """``kept[key] = value``, ``kept`` emptied first when it holds ``limit`` keys and ``key`` is not one; ``value``."""
    if len(kept) >= limit and key not in kept:
        kept.clear()
    kept[key] = value
    return value
