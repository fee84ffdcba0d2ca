"""Per-tenant Casbin enforcers and the decision table built from them.

Casbin is asked once per (role, resource, action, condition) and the answer memoised for the
tenant's policy version; a request then asks the table once per (resource, action), never per row.
Tenants whose rules are the same (most keep the defaults) share the memo: the answers depend only on
the rules, so Casbin decides once per rule set, not once per tenant.
"""

from __future__ import annotations

import csv
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
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


def _shared_memo(domain: str, lines: list[list[str]]) -> dict[tuple[str, str, str], frozenset[Condition]]:
    """The decision memo of every tenant whose rules, with the tenant's domain taken out, are these."""
    key = tuple(sorted(tuple("\0" if v == domain else v for v in line) for line in lines))
    with _shared_lock:
        memo = _shared.get(key)
        if memo is None:
            memo = _shared[key] = {}
            while len(_shared) > _SHARED_CAPACITY:
                _shared.popitem(last=False)
        else:
            _shared.move_to_end(key)
        return memo


class TenantPolicy:
    """A tenant's enforcer at one policy version, with memoised decisions."""

    def __init__(self, tenant_id: uuid.UUID, version: int, lines: Iterable[Sequence[str]]) -> None:
        self.tenant_id = tenant_id
        self.version = version
        self.domain = str(tenant_id)
        adapter = _RowsAdapter(lines)
        model = casbin.Enforcer.new_model(text=MODEL_TEXT)
        self._enforcer = casbin.Enforcer(model, adapter)
        self._memo = _shared_memo(self.domain, adapter.lines)
        self._lock = threading.Lock()

    def conditions(self, role: str, resource: str, action: str) -> frozenset[Condition]:
        """The conditions under which ``role`` may do ``action`` on ``resource`` (empty: never)."""
        key = (role, resource, action)
        found = self._memo.get(key)
        if found is None:
            with self._lock:
                found = frozenset(
                    c for c in Condition if self._enforcer.enforce(role, self.domain, resource, action, c.value)
                )
            self._memo[key] = found
        return found

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
