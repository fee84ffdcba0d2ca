"""The compiled policy read (权限策略, issue #21): ``policy { version rules { … } }``, the street admin's
view of the tenant's permission lines, in one statement instead of a walk of a few hundred strawberry
objects per request.

The rows are the resolvers' own (``resolvers.access.list_rules``): the tenant's ``p`` lines of
``casbin_rules`` in ``RULE_ORDER``, and the version read from the tenant row in the same transaction.
Who may read it is the resolvers' rule too (``administers_policy``); anyone else is refused by the
resolvers (FORBIDDEN), so the compiler declines them and strawberry answers.

Its answer is the tenant's policy at one version: every change of the lines bumps ``policy_version`` in the same
transaction (``resolvers.access`` grant and revoke, the migrations' ``tenants.migration_ops``), as the Casbin
decisions cached per version already require. A plan is made for the version the request's first statement read
(``compiled.plans._actor_key``); its statement yields NULL unless the tenant row still says that version (the
resolvers then answer), so an answer it gives is that version's, and a plan whose root reads nothing else
(``VERSIONED``) keeps it for the next request at that version (``compiled.plans.PlanCache.kept``, issue #21: the
≈ 250 lines sorted and written as JSON were ≈ 0.6 ms of PostgreSQL's CPU a request)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import column
from compiled.sql import EMPTY_JSON_ARRAY, enum_name, lit
from models import CasbinRule, Tenant
from policies.roles import Condition, Role
from resolvers.access import RULE_ORDER, administers_policy

# Root fields whose answer the tenant's policy version determines (with the selection), whoever reads it.
VERSIONED = frozenset({"policy"})


def policy(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    if not administers_policy(cx.ctx):
        raise Unsupported("policy: not the street admin")  # the resolvers' FORBIDDEN
    # the version the plan is made for (its key's), still the tenant's when the statement runs
    cx.guards.append(_version(cx, None, sel) == literal_column(str(int(cx.ctx.tenant.policy_version or 0)), Integer))
    return cx.sub("Policy", sel, None)


def _version(cx: Compiler, _row: None, _s: Sel) -> ColumnElement[Any]:
    """list_rules: the tenant row's version (0 when unset)."""
    t = Tenant.__table__
    return func.coalesce(select(t.c.policy_version).where(t.c.id == cx.tenant_id).scalar_subquery(), 0)


def _rules(cx: Compiler, _row: None, s: Sel) -> ColumnElement[Any]:
    r = CasbinRule.__table__
    line = cx.sub("PolicyRule", s, r)
    agg = func.json_agg(aggregate_order_by(line, *RULE_ORDER))
    return (select(func.coalesce(agg, EMPTY_JSON_ARRAY)).select_from(r)
            .where(r.c.tenant_id == cx.tenant_id, r.c.ptype == lit("p")).scalar_subquery())


POLICY: FieldTable = {"version": _version, "rules": _rules}
POLICY_RULE: FieldTable = {
    "role": column("v0"),
    "resource": column("v2"),
    "action": column("v3"),
    "condition": column("v4"),
    # null for a stored name the enum does not know, as schema.access.types._known
    "grantedRole": lambda _cx, r, _s: enum_name(r.c.v0, Role),
    "conditionKind": lambda _cx, r, _s: enum_name(r.c.v4, Condition),
}

TABLES: dict[str, FieldTable] = {"Query": {"policy": policy}, "Policy": POLICY, "PolicyRule": POLICY_RULE}
