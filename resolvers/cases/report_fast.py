"""A report (上报) on the request's driver transaction, without the ORM (issue #21, bench.compare op 4).

The general path (``report.report_case``) sends a statement for each check (the idempotency key, the
category, the area and its reach, the stage limit) and writes the case, its first stage and its timeline
entry through the ORM's unit of work: 11 statements. Here the checks are ONE statement — the same
predicates (``report_reach``: the reporter's Casbin grant), rendered once per actor by
``resolvers.prepared`` — and the rows' values are made by the same code (``case_values``, ``event_values``,
``stage_values``: what the general path's rows are made of) and written as data-modifying CTEs ahead of the
request's audit entry (``gongzhi.http.state.AppState.commit_writes``): one statement more.

Only a report that succeeds is answered here. Anything the general path answers otherwise — invalid
input, an unknown category, a missing or unreachable area, a retry with a known idempotency key, photos
or a 12345 ticket number (their own checks and updates), a working calendar this process has not kept
yet — makes ``prepare_report`` return None before anything is written, and the request is answered by
the general path from the start, with its typed errors; so is a write that fails on a constraint (a
concurrent retry with the same key, a colliding case number): the driver transaction is rolled back.

The checks in the write (issue #21: a report was three round trips, the checks' own one of them). The rows
take two values from the checks' answer — the area's path, the category's and tier's 受理 limit (its due time,
on the working calendar, made here) — which this process keeps from the checks of earlier reports. When it
holds both, the checks' statement goes, unchanged, as the first WITH of the write (``_guard``): one row when
the report passes every check with the kept path and limit, else none, and then every row's id, the audit
entry's too, is NULL — the statement is refused by their NOT NULL before it writes anything (the audit's
INSERT, which PostgreSQL runs first, as well), COMMIT and the NOTIFY are skipped, and the general path answers
from the start as above (a retry, a category closed, an area out of reach, a path or limit changed since
kept: ``PreparedReport.refused`` forgets them, the next report is checked on its own and keeps them afresh).
The checks read in the write's own snapshot, under the tenant the request's first statement set, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import literal, literal_column, select, true
from sqlalchemy.sql import Select

from models import (
    Area,
    Case,
    CaseCategory,
    CaseEvent,
    CaseStage,
    CaseStageKind,
    CaseStageLimit,
    CaseState,
    SlaUnit,
    tier_of,
    uuid7,
)
from models.bounded import keep
from resolvers import prepared
from resolvers import validation as v
from resolvers.audit import record_mutation
from resolvers.cases import kept_cases
from resolvers.cases.machine import event_values, topic_event
from resolvers.cases.report import CheckedReport, ReportInput, case_values, check_lists, check_text, report_reach
from resolvers.cases.stages import _PLAIN, due_after, kept_calendar, stage_values
from resolvers.context import RequestContext
from resolvers.errors import FieldErrors, ServiceError
from tenants.session import fetch_first, insert_change

__all__ = ["PreparedReport", "prepare_report"]


@dataclass
class PreparedReport:
    """A checked report: its case's values (answered from), and the rows' INSERTs as CTEs to send with the audit
    entry."""

    case: dict[str, Any]
    ctes: list[str]
    args: list[Any]
    kept: tuple[tuple[Any, Any], tuple[Any, str, str]] | None = None  # checked in the write: what it was made of

    def committed(self) -> None:
        """The report is committed: its case as written is kept for its first step (resolvers.cases.kept_cases): its
        受理 stage the open and only one, no 处置 stage, no supervisor."""
        kept_cases.keep_case(self.case["tenant_id"], self.case,
                             {"open_seq": 1, "last_seq": 1, "started": None, "supervisor": None})

    @property
    def guarded(self) -> bool:
        """Whether the checks go inside the write (``_guard``), not in a statement of their own before it."""
        return self.kept is not None

    def refused(self) -> None:
        """The write was refused (a constraint met, or its guard): what was kept for it is forgotten, and the next
        report for its area and category is checked in a statement of its own again, which keeps them afresh."""
        if self.kept is not None:
            _PATHS.pop(self.kept[0], None)
            _LIMITS.pop(self.kept[1], None)


def _checks(ctx: RequestContext) -> Select[Any]:
    """One row: the reporter's case with this key (a retry), whether the category is active, the area's path
    and whether the actor's grant reaches it (``report_reach``, as the general path asks it), the 受理 limit
    for the category and tier (the category's own before the default, as ``stage_limit`` picks it)."""
    me, key, category, area_id, tier = (prepared.param(0, "uuid"), prepared.param(1, "text"),
                                        prepared.param(2, "text"), prepared.param(3, "uuid"),
                                        prepared.param(4, "text"))
    retry = select(Case.id).where(Case.reporter_user_id == me, Case.idempotency_key == key).scalar_subquery()
    active = select(literal(True)).where(CaseCategory.code == category,
                                         CaseCategory.active.is_(True)).limit(1).scalar_subquery()
    area = select(Area.path, report_reach(ctx).label("reachable")).where(Area.id == area_id).subquery()
    limit = select(CaseStageLimit.amount, CaseStageLimit.unit).where(
        CaseStageLimit.stage == literal_column(f"'{CaseStageKind.ACCEPT.value}'"), CaseStageLimit.tier == tier,
        (CaseStageLimit.category_code == category) | CaseStageLimit.category_code.is_(None),
    ).order_by(CaseStageLimit.category_code.is_(None)).limit(1).subquery()
    one = select(literal_column("1").label("one")).subquery()
    return (select(retry.label("retry"), active.label("active"), area.c.path, area.c.reachable,
                   limit.c.amount, limit.c.unit)
            .select_from(one).outerjoin(area, true()).outerjoin(limit, true()))


# What a report's rows take from its checks' answer (an area's path; a category's and tier's 受理 limit), kept
# per process from the checks of earlier reports, per tenant (issue #21): a later report for the same area and
# category sends its checks inside its write (``_guard``) and takes one round trip less. Only a hint: the
# write's guard asks the database again, in the write's own statement and snapshot.
_PATHS: dict[tuple[Any, Any], str] = {}  # (tenant, area) → path
_LIMITS: dict[tuple[Any, str, str], tuple[float | None, str | None]] = {}  # (tenant, category, tier) → limit
_KEPT = 4096


def _keep(kept: dict[Any, Any], key: Any, value: Any) -> None:
    keep(kept, key, value, _KEPT)


def _guard(checks: str, n: int) -> str:
    """The report's checks (``checks``, parameters $1 … $n) as the first WITH of its write: one row when the
    report would be checked as it was written — no retry with its key, the category active, the area there and
    reached by the actor's grant, with the kept path ($n+1) and 受理 limit ($n+2, $n+3) — else no row, and the
    rows' ids (``(SELECT $k FROM w0)``) are NULL: the write is refused by their NOT NULL, and nothing of it is
    written."""
    def make() -> str:
        return (f"SELECT true AS ok FROM ({checks}) AS c WHERE c.retry IS NULL AND c.active AND c.reachable "
                f"AND c.path = ${n + 1}::text AND c.amount IS NOT DISTINCT FROM ${n + 2}::float8 "
                f"AND CAST(c.unit AS text) IS NOT DISTINCT FROM ${n + 3}::text")

    return prepared.guard("report", checks, make)


_GUARDED = {"id": "(SELECT {} FROM w0)"}  # a row's id: NULL unless the guard (w0) answered its row


async def prepare_report(ctx: RequestContext, data: ReportInput) -> PreparedReport | None:
    """The report checked and its rows built, or None: the general path answers it. Checked in one statement
    of its own, or — when this process kept the area's path and the category's limit from an earlier report's
    checks — inside its write (``_guard``: a write the guard refuses raises as a constraint met, and
    ``PreparedReport.refused`` forgets what was kept)."""
    if data.photo_ids or data.external_ticket_no is not None or not prepared.usable(ctx):
        return None
    try:
        key = None if data.idempotency_key is None else v.text(data.idempotency_key, "idempotencyKey", max_len=64)
    except ServiceError:
        return None
    errors = FieldErrors()
    title, description, location = check_text(data, errors)
    photos, ticket = check_lists(data, errors)
    if errors.errors:
        return None

    tier = tier_of(data.priority).value
    found = prepared.statement(ctx, ("report_fast.checks",), lambda: _checks(ctx), ctx.actor.user_id, key,
                               data.category, data.area_id, tier)
    if found is None:
        return None
    sql, args = found
    tenant_id = ctx.tenant.id
    kept = (tenant_id, data.area_id), (tenant_id, data.category, tier)
    path = _PATHS.get(kept[0])
    limit = _LIMITS.get(kept[1])
    ctes: list[str] = []
    values: list[Any] = []
    guarded: dict[str, str] | None = None
    if path is not None and limit is not None:
        amount, unit = limit
        ctes.append(_guard(sql, len(args)))
        values.extend((*args, path, amount, unit))
        guarded = _GUARDED
    else:
        session = ctx.db.session
        row = await ctx.db.locked(lambda: fetch_first(session, sql, *args))
        retry, active, path, reachable, amount, unit = row
        if path is not None:
            _keep(_PATHS, kept[0], str(path))
        if active:
            _keep(_LIMITS, kept[1], (None if amount is None else float(amount), None if unit is None else str(unit)))
        if retry is not None or not active or path is None or not reachable:
            return None
    if amount is None:
        due = None
    else:
        limit_unit = SlaUnit(str(unit))
        calendar = kept_calendar(ctx.db) if limit_unit in (SlaUnit.WORKING_HOURS, SlaUnit.WORKING_DAYS) else _PLAIN
        if calendar is None:
            return None  # loaded by the general path, kept for the next report
        due = due_after(calendar, ctx.now, float(amount), limit_unit)
    checked = CheckedReport(title=title, description=description, location=location, photos=photos, ticket=ticket)
    case = case_values(ctx, data, checked, data.area_id, str(path), key)
    event = event_values(ctx, case["id"], 1, CaseState.REPORTED, "report", None, CaseState.REPORTED, note=None,
                         attachments=[])
    stage = stage_values(case["id"], 1, CaseStageKind.ACCEPT, ctx.now, due)  # 受理 is due from now (issue #22)
    changes: list[dict[str, Any]] = []
    # The order the general path's flushes write and audit them; ids as the audit hook gives them (uuid7).
    for model, row in ((Case, case), (CaseEvent, event), (CaseStage, stage)):
        if "id" not in row:  # the case's is case_values' (setdefault would make an id only to drop it)
            row["id"] = uuid7()
        change = insert_change(model, row)
        if change is not None:
            changes.append(change)
        text, more = prepared.insert_values(model, row, tenant_id, ctx.now, 1 + len(values), guarded)  # $1 … in order
        if model is Case and due is not None:  # the rate fact of its 受理 stage's due time (``_with_accept_due``)
            text, more = _with_accept_due(text, more, 1 + len(values), due)
        ctes.append(text)
        values.extend(more)
    ctx.events.append(topic_event(tenant_id, case["id"], case["area_path"], "report", CaseState.REPORTED, 1))
    await record_mutation(ctx, "reportCase", outcome="ok", changes=changes)
    case = kept_cases.case_row(case, tenant_id)  # every column, as written: kept once committed (``committed``)
    return PreparedReport(case=case, ctes=ctes, args=values, kept=kept if guarded is not None else None)


def _with_accept_due(text: str, args: list[Any], first: int, due: Any) -> tuple[str, list[Any]]:
    """The case's INSERT with its rate fact ``rate_accept_due`` (migration 0056: its first 受理 stage's due time,
    the one this report opens), so that the trigger on that stage finds it set and does not write the new row a
    second time."""
    head, tail = text.split(") VALUES (", 1)
    assert tail.endswith(")"), text
    return f"{head}, rate_accept_due) VALUES ({tail[:-1]}, ${first + len(args)}::timestamptz)", [*args, due]
