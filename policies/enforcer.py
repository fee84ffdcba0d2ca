"""Per-tenant Casbin enforcers and the decision table built from them.

Casbin is asked once per (role, resource, action, condition) and the answer memoised for the
tenant's policy version; a request then asks the table once per (resource, action), never per row.
Tenants whose rules are the same (most keep the defaults) share the memo: the answers depend only on
the rules, so Casbin decides once per rule set, not once per tenant.

The memo of a rule set is filled whole when the rule set is first seen (issue #21): asking ``enforce``
for one (role, resource, action) cost ≈ 25–45 ms (every condition × every rule through the matcher), so
the first requests of a process paid seconds. The table reads the same lines through the enforcer's own
model and role manager — the answer of ``model.conf``'s matcher: a policy line of the role or of a role it
inherits in the tenant's domain, for that resource, action and condition — in a few milliseconds for every
key; tests/policies/test_decision_table.py holds it to ``enforce`` key by key. ``warm_defaults`` builds the
default rule set's table at start-up.
"""

from __future__ import annotations

import csv
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from importlib import resources
from typing import Any

import casbin
from casbin import persist
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CasbinRule
from policies.roles import Condition

MODEL_TEXT = resources.files("policies").joinpath("model.conf").read_text(encoding="utf-8")


def _rows(text: str) -> list[tuple[str, ...]]:
    lines = (line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return [tuple(cell.strip() for cell in raw) for raw in csv.reader(lines)]


def policy_files() -> dict[str, str]:
    """Each domain's default policy lines (``policies/<domain>/policy.csv``) by domain name."""
    root = resources.files("policies")
    return {d.name: d.joinpath("policy.csv").read_text(encoding="utf-8")
            for d in sorted(root.iterdir(), key=lambda d: d.name)
            if d.is_dir() and d.joinpath("policy.csv").is_file()}


@cache
def default_rules() -> tuple[tuple[str, ...], ...]:
    """The default policy lines of a new tenant, without the tenant: the role chain
    (``policies/roles.csv``), then every domain's lines."""
    rows = _rows(resources.files("policies").joinpath("roles.csv").read_text(encoding="utf-8"))
    for text in policy_files().values():
        rows.extend(_rows(text))
    return tuple(rows)


def rules_for_domain(domain: str, rules: Iterable[Sequence[str]] | None = None) -> list[tuple[str, ...]]:
    """Policy lines with the tenant's domain in place: p, role, dom, obj, act, cond / g, role, role, dom."""
    out: list[tuple[str, ...]] = []
    for ptype, *rest in rules if rules is not None else default_rules():
        if ptype == "g":
            out.append((ptype, rest[0], rest[1], domain))
        else:
            out.append((ptype, rest[0], domain, *rest[1:]))
    return out


class _RowsAdapter(persist.Adapter):  # type: ignore[misc]
    """Feeds rules already read from the tenant's casbin_rules rows into an enforcer."""

    def __init__(self, lines: Iterable[Sequence[str]]) -> None:
        self.lines = [[str(v) for v in line] for line in lines]

    def load_policy(self, model: Any) -> None:
        for line in self.lines:
            persist.load_policy_line(", ".join(v for v in line if v != ""), model)


_SHARED_CAPACITY = 64
_shared: OrderedDict[tuple[tuple[str, ...], ...], dict[tuple[str, str, str], frozenset[Condition]]] = OrderedDict()
_shared_lock = threading.Lock()


Memo = dict[tuple[str, str, str], frozenset[Condition]]


def _shared_memo(domain: str, lines: list[list[str]], build: Callable[[], Memo]) -> Memo:
    """The decision memo of every tenant whose rules, with the tenant's domain taken out, are these
    (``build`` makes it the first time)."""
    key = tuple(sorted(tuple("\0" if v == domain else v for v in line) for line in lines))
    with _shared_lock:
        memo = _shared.get(key)
        if memo is None:
            memo = _shared[key] = build()
            while len(_shared) > _SHARED_CAPACITY:
                _shared.popitem(last=False)
        else:
            _shared.move_to_end(key)
        return memo


_NEVER: frozenset[Condition] = frozenset()


class TenantPolicy:
    """A tenant's enforcer at one policy version, with memoised decisions."""

    def __init__(self, tenant_id: uuid.UUID, version: int, lines: Iterable[Sequence[str]]) -> None:
        self.tenant_id = tenant_id
        self.version = version
        self.domain = str(tenant_id)
        adapter = _RowsAdapter(lines)
        model = casbin.Enforcer.new_model(text=MODEL_TEXT)
        self._enforcer = casbin.Enforcer(model, adapter)
        self._memo = _shared_memo(self.domain, adapter.lines, self._table)

    def _table(self) -> Memo:
        """Every (role, resource, action) of these rules with the conditions ``enforce`` grants it.
        A key not in it is granted nothing: ``enforce`` matches only policy lines, and a role named in
        none and linked to none has no line of its own or inherited."""
        domain = self.domain
        conditions = {c.value: c for c in Condition}
        granted: dict[str, dict[tuple[str, str], set[Condition]]] = {}
        for sub, dom, obj, act, cond, *_ in self._enforcer.get_policy():
            if dom == domain and cond in conditions:
                granted.setdefault(sub, {}).setdefault((obj, act), set()).add(conditions[cond])
        roles = {p[0] for p in self._enforcer.get_policy()}
        roles.update(v for g in self._enforcer.get_grouping_policy() if g[2:3] == [domain] for v in g[:2])
        table: Memo = {}
        for role in roles:
            merged: dict[tuple[str, str], set[Condition]] = {}
            for r in (role, *self._enforcer.get_implicit_roles_for_user(role, domain)):
                for pair, conds in granted.get(r, {}).items():
                    merged.setdefault(pair, set()).update(conds)
            for (obj, act), conds in merged.items():
                table[(role, obj, act)] = frozenset(conds)
        return table

    def conditions(self, role: str, resource: str, action: str) -> frozenset[Condition]:
        """The conditions under which ``role`` may do ``action`` on ``resource`` (empty: never)."""
        return self._memo.get((role, resource, action), _NEVER)

    def enforce(self, role: str, resource: str, action: str) -> frozenset[Condition]:
        """The same answer asked of Casbin's matcher itself, condition by condition (slow: for tests)."""
        return frozenset(c for c in Condition if self._enforcer.enforce(role, self.domain, resource, action, c.value))

    def rules(self) -> list[list[str]]:
        return [list(r) for r in self._enforcer.get_policy()]


class PolicyCache:
    """Enforcers by (tenant, policy version); a version bump makes the next request reload."""

    def __init__(self, capacity: int = 256) -> None:
        self._items: OrderedDict[tuple[uuid.UUID, int], TenantPolicy] = OrderedDict()
        self._capacity = capacity
        self.loads = 0

    async def get(self, session: AsyncSession, tenant_id: uuid.UUID, version: int) -> TenantPolicy:
        key = (tenant_id, version)
        policy = self._items.get(key)
        if policy is not None:
            self._items.move_to_end(key)
            return policy
        rows = (
            await session.execute(
                select(CasbinRule.ptype, CasbinRule.v0, CasbinRule.v1, CasbinRule.v2, CasbinRule.v3,
                       CasbinRule.v4, CasbinRule.v5).order_by(CasbinRule.id)
            )
        ).all()
        policy = TenantPolicy(tenant_id, version, [tuple(r) for r in rows])
        self.loads += 1
        self._items[key] = policy
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)
        return policy


_WARM_TENANT = uuid.UUID(int=0)


def warm_defaults() -> TenantPolicy:
    """The default rule set's decision table, built before the first request (issue #21): the lines as a
    provisioned tenant's ``casbin_rules`` rows read them (ptype and six values, ``""`` where unused), so
    every tenant that keeps the defaults finds it made."""
    lines = [(*line, *[""] * (7 - len(line))) for line in rules_for_domain(str(_WARM_TENANT))]
    return TenantPolicy(_WARM_TENANT, 0, lines)
