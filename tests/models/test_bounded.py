"""models.bounded.keep — the one rule of the process's bounded dicts (issue #21), and prepared.guard made once per
kind and checks' text."""

from __future__ import annotations

from models.bounded import keep
from resolvers import prepared


def test_keep_empties_at_its_limit_only_for_a_new_key() -> None:
    kept: dict[int, str] = {}
    for i in range(3):
        assert keep(kept, i, str(i), 3) == str(i)
    assert kept == {0: "0", 1: "1", 2: "2"}
    keep(kept, 1, "one", 3)  # a key already there is replaced: nothing emptied
    assert kept == {0: "0", 1: "one", 2: "2"}
    keep(kept, 3, "3", 3)  # a new key at the limit: emptied first
    assert kept == {3: "3"}


def test_a_guard_is_made_once_per_kind_and_checks() -> None:
    made: list[str] = []

    def make(text: str) -> str:
        made.append(text)
        return text

    a = prepared.guard("test.kind", "SELECT 1", lambda: make("guard of 1"))
    b = prepared.guard("test.kind", "SELECT 1", lambda: make("another"))
    c = prepared.guard("test.other", "SELECT 1", lambda: make("other kind"))
    assert (a, b, c) == ("guard of 1", "guard of 1", "other kind")
    assert made == ["guard of 1", "other kind"]
