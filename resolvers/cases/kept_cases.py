"""Cases as this process last wrote them, for the next step's checks inside its write (issue #21).

A case step on the driver (resolvers.cases.steps_fast) reads the case and the step's facts in a statement of its
own, because its rows are made of them: the audit entry's old values, the answer, the notifications' texts, the
stage's number, the due time. When this process wrote the case last — it reported it (report_fast) or made its
last step (steps_fast) — it holds that row already, column for column, and the case's own facts (its open and
highest stage numbers, the open 处置 stage's start, its supervisor); the step's other facts (a limit, an SLA rule,
the community named, the closure rules) are kept per (tenant, step, category, priority, community) from an
earlier step's checks. With both, the step's checks go, unchanged, as the first WITH of its write
(``steps_fast._guard``), with every kept value compared there: one row when the case and every fact are still
what was kept, else none, and the write is refused before it writes anything (as a report's is). The kept
values are only hints: the database answers in the write's own snapshot.

Whatever changed a case since — a step of the general path here (``forget_case`` in ``machine.apply``), another
process, a job — makes the guard refuse: the endpoint forgets what was kept and runs the step once more with its
checks in their own statement (``GraphQLEndpoint._write_on_driver``).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.schema import ColumnDefault

from models import Case
from models.bounded import keep

__all__ = ["case_row", "forget", "forget_case", "keep_case", "keep_facts", "kept_case", "kept_facts"]

# (tenant, case) → (the case's columns as the ORM holds them, the case's own facts)
_CASES: dict[tuple[Any, Any], tuple[dict[str, Any], dict[str, Any]]] = {}
# (tenant, step, category, priority, community) → the step's facts other than the case's own
_FACTS: dict[tuple[Any, ...], dict[str, Any]] = {}
_KEPT = 2048  # cases of ≈ 45 values each: a few MB at most
_defaults: list[tuple[str, Any]] = []


def case_row(values: dict[str, Any], tenant_id: uuid.UUID) -> dict[str, Any]:
    """Every column of a new case as ``prepared.insert_values`` writes ``values``: what they leave unset (or None) is
    the column's default value, the tenant's id, or NULL."""
    if not _defaults:
        for attr in sa_inspect(Case).column_attrs:
            default = attr.columns[0].default
            plain = isinstance(default, ColumnDefault) and not default.is_clause_element and not default.is_callable
            _defaults.append((attr.key, default.arg if plain else None))
    row = {}
    for key, default in _defaults:
        value = values.get(key)
        row[key] = value if value is not None else tenant_id if key == "tenant_id" else default
    return row


def kept_case(tenant_id: uuid.UUID, case_id: uuid.UUID) -> tuple[dict[str, Any], dict[str, Any]] | None:
    return _CASES.get((tenant_id, case_id))


def keep_case(tenant_id: uuid.UUID, row: dict[str, Any], facts: dict[str, Any]) -> None:
    keep(_CASES, (tenant_id, row["id"]), (row, facts), _KEPT)


def forget_case(tenant_id: uuid.UUID, case_id: uuid.UUID) -> None:
    _CASES.pop((tenant_id, case_id), None)


def kept_facts(key: tuple[Any, ...]) -> dict[str, Any] | None:
    return _FACTS.get(key)


def keep_facts(key: tuple[Any, ...], facts: dict[str, Any]) -> None:
    keep(_FACTS, key, facts, _KEPT)


def forget(tenant_id: uuid.UUID, case_id: uuid.UUID, facts: tuple[Any, ...] | None) -> None:
    """A write made of kept values was refused: the case and the facts are forgotten."""
    forget_case(tenant_id, case_id)
    if facts is not None:
        _FACTS.pop(facts, None)
