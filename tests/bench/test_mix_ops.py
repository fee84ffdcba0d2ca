"""bench/mix_ops.py against the schema, without a server (issue #21): the portal mix drives every root
query field, so a field added to the schema without an entry fails here, before anyone runs the bench."""

from __future__ import annotations

import re
from typing import Any

import pytest
from graphql import FieldNode, OperationDefinitionNode, parse, validate

from bench.mix_ops import LOOKUPS, MAY_BE_EMPTY, MUTATIONS, PARTNER, PARTNER_DESK, QUERIES, Ref
from gongzhi.demo.specs import STREETS
from gongzhi.modules import schema

SCHEMA = schema()._schema
assert SCHEMA.query_type is not None and SCHEMA.mutation_type is not None
ROOTS, MUTATION_FIELDS = set(SCHEMA.query_type.fields), set(SCHEMA.mutation_type.fields)
# Accounts the demo makes besides its streets' users: owners (yanquan.dongwan1 …), volunteers (youth1 …).
MADE = re.compile(r"(dongwan|youth)\d+")


def _refs(value: Any) -> list[str]:
    if isinstance(value, Ref):
        return [value.name]
    if isinstance(value, list):
        return [n for v in value for n in _refs(v)]
    return []


def test_every_root_query_field_has_an_entry_and_every_entry_a_field() -> None:
    assert sorted(ROOTS - set(QUERIES)) == [], "root query fields without an entry in bench/mix_ops.py QUERIES"
    assert sorted(set(QUERIES) - ROOTS) == [], "entries of bench/mix_ops.py QUERIES that are no root query field"


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_an_entry_is_a_valid_document_that_selects_its_field(name: str) -> None:
    q = QUERIES[name]
    document = parse(q.document)
    assert [e.message for e in validate(SCHEMA, document)] == []
    (operation,) = document.definitions
    assert isinstance(operation, OperationDefinitionNode)
    roots = [s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)]
    assert roots == [name]  # one root field, the entry's own: the table's line is that field's cost
    declared = {v.variable.name.value for v in operation.variable_definitions or ()}
    assert declared == set(q.variables)
    for ref in (r for v in q.variables.values() for r in _refs(v)):
        assert ref in LOOKUPS


def test_actors_are_the_demo_s_accounts_or_the_partner_clients() -> None:
    users = {f"{s.slug}.{u.suffix}" for s in STREETS for u in s.users}
    slugs = {s.slug for s in STREETS}
    actors = {q.actor for q in QUERIES.values()} | {actor for actor, _doc, _path in LOOKUPS.values()}
    for actor in actors - {PARTNER, PARTNER_DESK}:
        slug, _, suffix = actor.partition(".")
        assert actor in users or (slug in slugs and MADE.fullmatch(suffix)), actor


def test_lookups_are_valid_and_the_lists_name_known_operations() -> None:
    for name, (_actor, document, _path) in LOOKUPS.items():
        assert [e.message for e in validate(SCHEMA, parse(document))] == [], name
    assert MAY_BE_EMPTY <= set(QUERIES)
    assert set(MUTATIONS) <= MUTATION_FIELDS
    assert len(MUTATIONS) == len(set(MUTATIONS)) == 15
