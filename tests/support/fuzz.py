"""hypothesis-graphql's generation without a new strategy per draw (CI time, issue #21).

Its selection sampler (``hypothesis_graphql._strategies.sampler``) draws every candidate field of every
selection set as ``draw(weighted_boolean(p))``, and every chosen field's arguments as
``draw(gql.list_of_arguments(field.args))``: a new strategy object each time, ≈ 120,000 in one test of
tests/schema/test_fuzz.py. hypothesis validates every strategy it has not drawn from before and works
out whether it is empty (``validate``, ``is_empty``: recursive properties, computed afresh for a new
object) — more than half of the draws' time. Both strategies depend on their arguments only (the
probability; the field's arguments, objects of the immutable schema), so the same object serves every
draw with the same arguments: validated once, the same choices drawn from the same data, hence the
same examples of a derandomized test — the same queries, checked the same way, as many of them
(tests/schema/test_fuzz.py::test_the_generation_draws_the_same_queries).

``install()`` puts the memoized two in the library's place; the versions are pinned (constraints.txt)
and ``installed()`` says whether it took.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis_graphql._strategies import sampler, strategy

_REAL_WEIGHTED = sampler.weighted_boolean
_REAL_ARGUMENTS = strategy.GraphQLStrategy.list_of_arguments
WEIGHTED: dict[float, st.SearchStrategy[bool]] = {}


def weighted_boolean(p: float) -> st.SearchStrategy[bool]:
    """The library's weighted boolean, one object per probability."""
    made = WEIGHTED.get(p)
    if made is None:
        made = WEIGHTED[p] = _REAL_WEIGHTED(p)
    return made


def list_of_arguments(self: strategy.GraphQLStrategy, arguments: dict[str, Any]) -> st.SearchStrategy[Any]:
    """The library's strategy of a field's arguments, one object per GraphQLStrategy and arguments (names
    and the schema's argument objects). The memo keeps those objects alive: no identity in a key is
    ever another object's."""
    memo: dict[tuple[tuple[str, int], ...], tuple[tuple[Any, ...], st.SearchStrategy[Any]]]
    memo = self._cache.setdefault(list_of_arguments, {})
    key = tuple((name, id(a)) for name, a in arguments.items())
    found = memo.get(key)
    if found is None:
        found = memo[key] = (tuple(arguments.values()), _REAL_ARGUMENTS(self, arguments))
    return found[1]


def install() -> None:
    sampler.weighted_boolean = weighted_boolean  # type: ignore[assignment]
    strategy.GraphQLStrategy.list_of_arguments = list_of_arguments  # type: ignore[method-assign]


def uninstall() -> None:
    sampler.weighted_boolean = _REAL_WEIGHTED  # type: ignore[assignment]
    strategy.GraphQLStrategy.list_of_arguments = _REAL_ARGUMENTS  # type: ignore[method-assign]


def installed() -> bool:
    return sampler.weighted_boolean is weighted_boolean and \
        strategy.GraphQLStrategy.list_of_arguments is list_of_arguments  # type: ignore[comparison-overlap]
