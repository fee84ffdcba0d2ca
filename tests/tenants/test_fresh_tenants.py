"""The ``fresh`` fixture builds its second tenant only for a test that can reach it (tests/support/fresh.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.fresh import NotBuilt, _body_reaches_b


def helper(world: Any) -> Any:
    return world


def only_a(fresh: Any) -> Any:
    return fresh.a.slug, fresh.a.users["admin"]


def names_b(fresh: Any) -> Any:
    return fresh.b.slug


def passes_it_whole(fresh: Any) -> Any:
    return helper(fresh)


def aliases_it(fresh: Any) -> Any:
    w = fresh
    return w.b


def iterates(fresh: Any) -> Any:
    return [tw.slug for tw in (fresh.a, fresh.b)]


def a_and_attributes(fresh: Any) -> Any:
    return fresh.ab, fresh.a_


def test_only_a_test_that_names_fresh_a_alone_goes_without_b() -> None:
    assert _body_reaches_b(only_a) is False
    for reaches in (names_b, passes_it_whole, aliases_it, iterates, a_and_attributes):
        assert _body_reaches_b(reaches) is True, reaches.__name__


def test_the_unbuilt_tenant_fails_loudly() -> None:
    with pytest.raises(RuntimeError, match="not built"):
        _ = NotBuilt().slug
