"""The decision table a rule set's memo is filled with (issue #21) gives, key by key, Casbin's own
answer: every (role, resource, action) of the default rules and of a tenant whose rules differ, and
nothing for what no line names. ``warm_defaults`` makes the defaults' table before the first request."""

from __future__ import annotations

import itertools
import time
import uuid

from policies.enforcer import TenantPolicy, default_rules, rules_for_domain, warm_defaults
from policies.roles import Condition, Role

DISPATCH = ("p", "grid_leader", "case", "dispatch", "scope")


def _keys() -> list[tuple[str, str, str]]:
    roles = sorted({r.value for r in Role} | {x for line in default_rules() for x in line[1:3]
                                              if line[0] == "g"} | {"nobody"})
    pairs = sorted({(line[2], line[3]) for line in default_rules() if line[0] == "p"} | {("case", "nothing")})
    return [(role, obj, act) for role, (obj, act) in itertools.product(roles, pairs)]


def test_the_table_is_casbins_answer_for_every_key() -> None:
    tenant = uuid.uuid4()
    default = TenantPolicy(tenant, 1, rules_for_domain(str(tenant)))
    # a tenant without one line that another role inherits (party_secretary ← grid_leader)
    other_id = uuid.uuid4()
    other = TenantPolicy(other_id, 1, [line for line in rules_for_domain(str(other_id))
                                       if (line[0], line[1], *line[3:]) != DISPATCH])
    keys = _keys()
    assert len(keys) > 500
    # Casbin's answer on a sample (each costs tens of ms; CI time is short): every role for dispatch
    sample = keys[::40] + [k for k in keys if k[1:] == ("case", "dispatch")]
    granted = 0
    for key in sample:
        assert default.conditions(*key) == default.enforce(*key), key
        assert other.conditions(*key) == other.enforce(*key), key
        granted += bool(default.conditions(*key))
    assert granted > 5  # the sample holds granted keys, not only refusals
    assert Condition.SCOPE in default.conditions("party_secretary", "case", "dispatch")
    assert Condition.SCOPE not in other.conditions("party_secretary", "case", "dispatch")
    assert not default.conditions("nobody", "case", "read")


def test_warm_defaults_fills_the_memo_a_provisioned_tenant_finds() -> None:
    started = time.process_time()
    warm = warm_defaults()
    assert time.process_time() - started < 2.0  # not a timing test: ~0.05 s; the cold way took ~20 s
    tenant = uuid.uuid4()
    # casbin_rules rows as a tenant reads them: ptype and six values, "" where unused, any order
    rows = [(*line, *[""] * (7 - len(line))) for line in reversed(rules_for_domain(str(tenant)))]
    policy = TenantPolicy(tenant, 3, rows)
    assert policy._memo is warm._memo
    assert len(warm._memo) > 100
