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
(tests/schema/test_fuzz_generation.py). The same for two pure functions of the schema the sampler calls
per selection set (a type's selectable fields, the oracle's inclusion probabilities of its fields).

``install()`` puts the four memoized in the library's place (its version is pinned: constraints.txt);
``installed()`` says whether they are.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis_graphql._strategies import oracle, sampler, strategy

_REAL_WEIGHTED = sampler.weighted_boolean
_REAL_ARGUMENTS = strategy.GraphQLStrategy.list_of_arguments
_REAL_FIELDS = sampler.selectable_fields
_REAL_PROBABILITIES = oracle.Oracle.inclusion_probabilities
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


# Pure functions of the (immutable) schema the sampler calls two and one times per selection set: the
# type's selectable fields, and the oracle's inclusion probabilities of its fields (a list and a dict the
# sampler only reads). Keyed by identity; the memo keeps the schema and the oracle alive.
_FIELDS: dict[tuple[int, str], tuple[Any, list[Any]]] = {}
_PROBABILITIES: dict[tuple[int, str], tuple[Any, dict[Any, float]]] = {}


def selectable_fields(schema: Any, type_: Any) -> list[Any]:
    key = (id(schema), type_.name)
    found = _FIELDS.get(key)
    if found is None:
        found = _FIELDS[key] = (schema, _REAL_FIELDS(schema, type_))
    return found[1]


def inclusion_probabilities(self: oracle.Oracle, type_name: str) -> dict[Any, float]:
    key = (id(self), type_name)
    found = _PROBABILITIES.get(key)
    if found is None:
        found = _PROBABILITIES[key] = (self, _REAL_PROBABILITIES(self, type_name))
    return found[1]


_MEMOS = ((sampler, "weighted_boolean", weighted_boolean, _REAL_WEIGHTED),
          (strategy.GraphQLStrategy, "list_of_arguments", list_of_arguments, _REAL_ARGUMENTS),
          (sampler, "selectable_fields", selectable_fields, _REAL_FIELDS),
          (oracle.Oracle, "inclusion_probabilities", inclusion_probabilities, _REAL_PROBABILITIES))


def install() -> None:
    for owner, name, memo, _real in _MEMOS:
        setattr(owner, name, memo)


def uninstall() -> None:
    for owner, name, _memo, real in _MEMOS:
        setattr(owner, name, real)


def installed() -> bool:
    return all(getattr(owner, name) is memo for owner, name, memo, _real in _MEMOS)
