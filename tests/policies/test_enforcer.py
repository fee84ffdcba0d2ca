"""Casbin's decisions are memoised per rule set: tenants with the same rules share the answers, a
tenant whose rules differ gets its own — and every memoised answer is the one Casbin gives."""

from __future__ import annotations

import uuid

import casbin

from policies.enforcer import MODEL_TEXT, TenantPolicy, _RowsAdapter, rules_for_domain
from policies.roles import Condition

DISPATCH = ("p", "grid_leader", "case", "dispatch", "scope")


def _lines(tenant: uuid.UUID, drop: tuple[str, ...] | None = None) -> list[tuple[str, ...]]:
    return [line for line in rules_for_domain(str(tenant))
            if drop is None or (line[0], line[1], *line[3:]) != drop]


def _casbin(tenant: uuid.UUID, lines: list[tuple[str, ...]], role: str, resource: str, action: str
            ) -> frozenset[Condition]:
    e = casbin.Enforcer(casbin.Enforcer.new_model(text=MODEL_TEXT), _RowsAdapter(lines))
    return frozenset(c for c in Condition if e.enforce(role, str(tenant), resource, action, c.value))


def test_same_rules_share_answers_and_different_rules_do_not() -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert DISPATCH in {(x[0], x[1], *x[3:]) for x in _lines(a)}
    pa = TenantPolicy(a, 1, _lines(a))
    pb = TenantPolicy(b, 1, list(reversed(_lines(b))))  # order of the rows does not matter
    pc = TenantPolicy(c, 1, _lines(c, drop=DISPATCH))
    assert Condition.SCOPE in pa.conditions("grid_leader", "case", "dispatch")
    assert pa._memo is pb._memo and pa._memo is not pc._memo
    # the tenant without the rule is refused, and asking it changed nothing for the others
    assert Condition.SCOPE not in pc.conditions("grid_leader", "case", "dispatch")
    assert Condition.SCOPE in pb.conditions("grid_leader", "case", "dispatch")
    # the party secretary inherits from the grid leader: gone with the rule in tenant c only
    assert Condition.SCOPE not in pc.conditions("party_secretary", "case", "dispatch")
    assert Condition.SCOPE in pa.conditions("party_secretary", "case", "dispatch")
    for role, resource, action in [("grid_leader", "case", "dispatch"), ("party_secretary", "case", "dispatch"),
                                   ("resident", "case", "read"), ("property_firm", "person", "read"),
                                   ("street_admin", "policy", "update")]:
        assert pb.conditions(role, resource, action) == _casbin(b, _lines(b), role, resource, action)
        assert pc.conditions(role, resource, action) == _casbin(c, _lines(c, drop=DISPATCH), role, resource, action)
