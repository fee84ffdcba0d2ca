"""Typed forms of strawberry's resolver decorators, for mypy --strict.

``@strawberry.field(description=...)`` is typed ``Any`` (the overload without a resolver), which
strict mode refuses as an untyped decorator. Strawberry types the ``resolver=`` overload as the
resolver's return type, and builds the same field either way (``strawberry.field(resolver=f, …)``
is ``strawberry.field(…)(f)``), so these pass the resolver that way."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import strawberry

T = TypeVar("T")


def field(*, description: str) -> Callable[[Callable[..., T]], T]:
    """``@strawberry.field(description=...)`` on a resolver method."""
    def declare(resolver: Callable[..., T]) -> T:
        return strawberry.field(resolver=resolver, description=description)

    return declare


def mutation(*, description: str) -> Callable[[Callable[..., T]], T]:
    """``@strawberry.mutation(description=...)`` on a resolver method."""
    def declare(resolver: Callable[..., T]) -> T:
        return strawberry.mutation(resolver=resolver, description=description)

    return declare
