"""The case steps portals send most — accept (受理), dispatch (派单), start (开始办理), resolve (办结) and the
reporter's feedback (评价) — on the request's driver transaction, without the ORM (issue #21), as the report is
(resolvers.cases.report_fast).

The general path loads the case with its reach (``load_for``), asks the step's own checks one statement each
(the SLA rule, the handler, the closure rules, the stage limit, the supervisor …), then writes the conditional
UPDATE of the case, closes and opens stages, and flushes the timeline entry and notifications through the
unit of work: 10–12 statements and ≈ 8–12 ms of CPU. Here every read is ONE statement — the case as its
reader sees it, the same predicates (``read_predicate``, ``case_predicate`` of the step's grant), and the
step's facts as correlated subqueries — rendered once per actor (``resolvers.prepared``). The rows are made
by the general path's own functions (``transitions.planned``, ``event_values``, ``stage_values``,
``notification_values``, ``reporter_notice``, ``closure_verdict``, ``due_after``) and written as data-modifying
CTEs ahead of the request's audit entry (``AppState.commit_writes``): one statement more.

The case's UPDATE is the general path's conditional one (``WHERE state = :seen AND version = :seen``), and
the timeline entry's ``seq`` is the version that UPDATE returned: when another request moved the case
between the checks and the write, the UPDATE updates nothing, the entry's ``seq`` is NULL, the statement
fails on its NOT NULL, and nothing of it is written (the caller rolls back and the general path answers with
its typed errors: of two steps at once exactly one wins, as with two general ones).

Only a step that succeeds is answered here. Whatever the general path would answer otherwise — invalid input,
a case not found or out of reach, a state the machine refuses, a stale ``expectedVersion``, a handler other
than a community, photos, a category that needs a photo, a retry with a known idempotency key, an unsatisfied
verdict (it reopens and tells the handler), a working calendar this process has not kept yet — makes
``prepare_step`` return None before anything is written: the general path answers from the start.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import case, func, literal_column, select, true
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import outerjoin
from sqlalchemy.sql import ColumnElement, Select

from models import (
    Area,
    Case,
    CaseCategoryRule,
    CaseEvent,
    CasePriority,
    CaseStage,
    CaseStageKind,
    CaseStageLimit,
    CaseState,
    CaseWorkflowSettings,
    HandlerKind,
    Notification,
    SlaRule,
    SlaUnit,
    tier_of,
    uuid7,
)
from policies.cases import case_predicate
from resolvers import prepared
from resolvers import validation as v
from resolvers.audit import record_mutation
from resolvers.cases import kept_cases, rate_fold
from resolvers.cases.closure import closure_verdict
from resolvers.cases.handlers import NO_HANDLER
from resolvers.cases.machine import (
    CASE,
    check_note,
    event_values,
    notification_values,
    reporter_notice,
    supervisor_hears,
    supervisor_notice,
    topic_event,
)
from resolvers.cases.reads import read_predicate
from resolvers.cases.stages import _PLAIN, STAGE_OF, due_after, kept_calendar, stage_values
from resolvers.context import RequestContext
from resolvers.errors import ServiceError
from resolvers.idempotency import checked_key
from resolvers.transitions import planned
from tenants.session import fetch_first, insert_change

__all__ = ["STEPS", "PreparedStep", "StepInput", "prepare_step"]

# The mutation fields taken here, and the step (the case machine's action) each makes.
STEPS = {"acceptCase": "accept", "dispatchCase": "dispatch", "startCase": "start", "resolveCase": "resolve",
         "giveCaseFeedback": "feedback"}
# The stage a step opens whose due time is the tenant's stage limit (处置's is the case's due time).
_LIMITED = {"accept": CaseStageKind.DISPATCH, "feedback": CaseStageKind.CALLBACK}
_DIALECT = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
_WORKING = (SlaUnit.WORKING_HOURS, SlaUnit.WORKING_DAYS)
# The facts each step's checks read beside the case (``_checks``; ``allowed`` and ``retry`` are tested, not kept),
# each with the type the guard compares it as; the case's own (kept with the case) and the others (kept per
# ``_facts_key``).
_FACT_TYPES = {"open_seq": "int8", "last_seq": "int8", "started": "timestamptz", "supervisor": "uuid",
               "amount": "float8", "unit": "text", "community_path": "text", "community_name": "text",
               "needs_photo": "bool", "minimum": "int8"}
_OWN_FACTS = ("open_seq", "last_seq", "started", "supervisor")
_FACTS = {"accept": ("open_seq", "last_seq", "amount", "unit"),
          "dispatch": ("open_seq", "last_seq", "amount", "unit", "community_path", "community_name"),
          "start": ("open_seq", "last_seq", "supervisor"),
          "resolve": ("open_seq", "last_seq", "needs_photo", "minimum", "started", "supervisor"),
          "feedback": ("open_seq", "last_seq", "amount", "unit")}


@dataclass(frozen=True)
class StepInput:
    """A step's input as its mutation gives it (``gongzhi.http.fast_writes.step_input``); ``text`` is the note,
    the resolution or the comment."""

    field: str
    case_id: uuid.UUID
    expected_version: int | None = None
    text: str | None = None
    community_id: uuid.UUID | None = None  # dispatch to a community
    satisfied: bool | None = None
    idempotency_key: str | None = None


@dataclass
class PreparedStep:
    """A checked step: the case's values after it (answered from), and its writes as CTEs to send with the audit
    entry. ``guarded``: its checks go as the first of them (``_guard``), made of kept values (resolvers.cases.
    kept_cases)."""

    case: dict[str, Any]
    ctes: list[str]
    args: list[Any]
    guarded: bool = False
    facts_key: tuple[Any, ...] | None = None
    own: dict[str, Any] | None = None  # the case's own facts after the step (resolvers.cases.kept_cases)

    def committed(self) -> None:
        """The step is committed: the case as it wrote it is kept for its next step."""
        if self.own is not None:
            kept_cases.keep_case(self.case["tenant_id"], self.case, self.own)

    def refused(self) -> None:
        """The write was refused (its guard, a case moved since the checks, a constraint met): what the process kept
        of the case and of the facts it was made of is forgotten."""
        kept_cases.forget(self.case["tenant_id"], self.case["id"], self.facts_key if self.guarded else None)


_columns: list[tuple[str, Any]] = []


def _case_columns() -> list[tuple[str, Any]]:
    """The case's attributes in the checks' order, each with the ORM's conversion of the driver's value."""
    if not _columns:
        for attr in sa_inspect(Case).column_attrs:
            _columns.append((attr.key, attr.columns[0].type.result_processor(_DIALECT, None)))
    return _columns


def _text(value: str) -> ColumnElement[Any]:
    return literal_column(f"'{value}'")


def _tier() -> ColumnElement[Any]:
    """The case's urgency tier (``tier_of`` its priority) in SQL."""
    return case(*((Case.priority == _text(p.value), _text(tier_of(p).value)) for p in CasePriority))


def _checks(ctx: RequestContext, action: str) -> Select[Any]:
    """One row: the case as the actor reads it (``read_predicate``), whether the step's grant reaches it (as
    ``load_for`` asks both), its open and highest stage numbers (``close_stage``, ``open_stage``), and what the
    step itself reads."""
    case_id = prepared.param(0, "uuid")
    grant = ctx.actor.grant("case", action)
    # The open and the highest stage numbers from one aggregate of the case's stages; a limit's, a rule's and the
    # community's two values from one row each: LATERAL subqueries, not two scalar subqueries reading the same rows
    # (one scan, and its plan nodes, fewer each in every execution of the checks; bench/RESULTS.md, h-writes).
    numbers = select(func.max(CaseStage.seq).filter(CaseStage.completed_at.is_(None)).label("open_seq"),
                     func.max(CaseStage.seq).label("last_seq")).where(CaseStage.case_id == Case.id)
    stages = numbers.lateral("step_stages")
    joined: list[Any] = [stages]
    extra: list[ColumnElement[Any]] = [
        case_predicate(grant, ctx.actor, public=False).label("allowed"),
        stages.c.open_seq.label("open_seq"), stages.c.last_seq.label("last_seq"),
    ]
    stage = _LIMITED.get(action)
    if stage is not None:  # the category's own limit before the default, as stage_limit picks it
        limit = select(CaseStageLimit.amount, CaseStageLimit.unit).where(
            CaseStageLimit.stage == _text(stage.value), CaseStageLimit.tier == _tier(),
            (CaseStageLimit.category_code == Case.category_code) | CaseStageLimit.category_code.is_(None),
        ).order_by(CaseStageLimit.category_code.is_(None)).limit(1).lateral("step_limit")
        joined.append(limit)
        extra += [limit.c.amount.label("amount"), limit.c.unit.label("unit")]
    if action == "dispatch":  # the SLA rule (sla_for) and the community named (resolve_handler)
        rule = select(SlaRule.amount, SlaRule.unit).where(
            SlaRule.priority == Case.priority,
            (SlaRule.category_code == Case.category_code) | SlaRule.category_code.is_(None),
        ).order_by(SlaRule.category_code.is_(None)).limit(1).lateral("step_rule")
        community = select(Area.path, Area.name).where(Area.id == prepared.param(1, "uuid"),
                                                       Area.kind == _text("community")).lateral("step_community")
        joined += [rule, community]
        extra += [rule.c.amount.label("amount"), rule.c.unit.label("unit"),
                  community.c.path.label("community_path"), community.c.name.label("community_name")]
    if action == "resolve":  # closure_check's reads
        extra += [
            select(CaseCategoryRule.requires_photo).where(CaseCategoryRule.category_code == Case.category_code)
            .scalar_subquery().label("needs_photo"),
            select(CaseWorkflowSettings.min_handling_minutes).scalar_subquery().label("minimum"),
            select(CaseStage.started_at).where(
                CaseStage.case_id == Case.id, CaseStage.stage == _text(CaseStageKind.HANDLE.value),
                CaseStage.completed_at.is_(None)).limit(1).scalar_subquery().label("started"),
        ]
    if action in ("start", "resolve"):  # who supervises (notify_concerned)
        extra += [
            select(CaseEvent.actor_user_id).where(
                CaseEvent.case_id == Case.id, CaseEvent.action.in_(("supervise", "escalate")),
                CaseEvent.actor_user_id.is_not(None)).order_by(CaseEvent.seq.desc()).limit(1)
            .scalar_subquery().label("supervisor"),
        ]
    if action == "feedback":  # a retry: the actor's timeline entry with this key (keyed_row)
        extra.append(select(CaseEvent.id).where(
            CaseEvent.actor_user_id == prepared.param(2, "uuid"),
            CaseEvent.idempotency_key == prepared.param(1, "text")).limit(1).scalar_subquery().label("retry"))
    columns = [getattr(Case, key) for key, _p in _case_columns()]
    found: Any = Case
    for lateral in joined:
        found = outerjoin(found, lateral, true())
    return select(*columns, *extra).select_from(found).where(Case.id == case_id, read_predicate(ctx))


def _valid(data: StepInput) -> tuple[str | None, str | None] | None:
    """The step's text and idempotency key as the general path checks them; None where it would refuse them, or
    the step is one this path leaves to it."""
    action = STEPS[data.field]
    try:
        if action == "resolve":
            return v.text(data.text or "", "resolution", max_len=2000), None
        if action == "feedback":
            text = None if data.text is None else v.text(data.text, "comment", max_len=500, required=False) or None
            if data.satisfied is not True:  # not satisfied: it reopens and tells the handler (the general path)
                return None
            return text, checked_key(data.idempotency_key)
        if action == "dispatch" and data.community_id is None:
            return None
        return check_note(data.text), None
    except ServiceError:
        return None


def _fact(name: str, value: Any) -> Any:
    """A fact as the checks' row gives it, as kept and compared (``_FACT_TYPES``): a limit's amount as a float."""
    if value is None:
        return None
    return float(value) if name == "amount" else str(value) if name == "unit" else value


def _guard(action: str, checks: str, n: int) -> str:
    """The step's checks (``checks``, parameters $1 … $n) as the first WITH of its write: one row when the actor may
    read the case and take the step on it, and the case, column for column, and each fact the step reads are the
    kept ones (the parameters after $n: ``prepared.row_match``'s, then ``_FACTS[action]``'s) — else none, and every
    row's id, the audit entry's too, is NULL: the write is refused before it writes anything. The checks are fenced
    (``OFFSET 0``): the comparisons, pushed down into their scan of ``cases``, made the generic plan take a
    reporter's cases by ``uq_cases_tenant_id_reporter_user_id_idempotency_key`` rather than the one case by its
    key — 25–30 ms of PostgreSQL per feedback with 24,000 cases of one reporter (bench/RESULTS.md, h-steps)."""
    def make() -> str:
        same, plan = prepared.row_match(Case, "c", n + 1)
        m = n + 1 + len(plan)
        tests = [f"CAST(c.{name} AS {_FACT_TYPES[name]}) IS NOT DISTINCT FROM ${m + i}::{_FACT_TYPES[name]}"
                 for i, name in enumerate(_FACTS[action])]
        retry = " AND c.retry IS NULL" if action == "feedback" else ""
        return (f"SELECT true AS ok FROM ({checks} OFFSET 0) AS c WHERE c.allowed{retry} AND {same} AND "
                f"{' AND '.join(tests)}")

    return prepared.guard(f"steps_fast.{action}", checks, make)


def _held(ctx: RequestContext, action: str, data: StepInput) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The case as this process last wrote it and every fact the step reads, kept (resolvers.cases.kept_cases);
    None: not all of them are."""
    held = kept_cases.kept_case(ctx.tenant.id, data.case_id)
    if held is None:
        return None
    row, own = held
    others = kept_cases.kept_facts(_facts_key(ctx, action, row, data))
    if others is None or any(n not in own and n not in others for n in _FACTS[action]):
        return None
    return dict(row), {"allowed": True, "retry": None, **others, **own}


def _facts_key(ctx: RequestContext, action: str, case: dict[str, Any], data: StepInput) -> tuple[Any, ...]:
    """What a step's facts other than the case's own depend on: its limit or SLA rule (category, priority), the
    community named, the tenant's closure rules."""
    return ctx.tenant.id, action, case["category_code"], case["priority"], data.community_id


async def prepare_step(ctx: RequestContext, data: StepInput) -> PreparedStep | None:
    """The step checked and its writes built, or None: the general path answers it. Checked in one statement of its
    own, or — when this process holds the case as it wrote it last and the step's facts (resolvers.cases.
    kept_cases) — inside its write (``_guard``; a write the guard refuses raises as a constraint met, and
    ``PreparedStep.refused`` forgets what was kept)."""
    action = STEPS[data.field]
    if not prepared.usable(ctx):
        return None
    valid = _valid(data)
    if valid is None:
        return None
    text, key = valid
    found = prepared.statement(ctx, ("steps_fast.checks", action), lambda: _checks(ctx, action), data.case_id,
                               key if action == "feedback" else data.community_id, ctx.actor.user_id)
    if found is None:
        return None
    sql, args = found
    held = _held(ctx, action, data)
    if held is not None:
        before, facts = held
    else:
        session = ctx.db.session
        row = await ctx.db.locked(lambda: fetch_first(session, sql, *args))
        if row is None:  # not found (or not readable): NOT_FOUND
            return None
        columns = _case_columns()
        before = {k: (p(row[i]) if p is not None and row[i] is not None else row[i])
                  for i, (k, p) in enumerate(columns)}
        facts = {k: _fact(k, v) for k, v in zip(list(row.keys())[len(columns):], row[len(columns):], strict=True)}
        kept_cases.keep_facts(_facts_key(ctx, action, before, data),
                              {n: facts[n] for n in _FACTS[action] if n not in _OWN_FACTS})
    old = SimpleNamespace(**before)
    current: CaseState = old.state
    if not facts["allowed"] or not CASE.allows(action, current):  # FORBIDDEN, INVALID_TRANSITION
        return None
    if data.expected_version is not None and data.expected_version != old.version:  # CONFLICT
        return None
    step = _step(ctx, action, data, old, facts, text, key)
    if step is None:
        return None
    values, to_state, detail = step
    guard = None
    if held is not None:
        _same, plan = prepared.row_match(Case, "c", len(args) + 1)
        guard = (_guard(action, sql, len(args)),
                 [*args, *prepared.match_values(plan, before), *(facts[n] for n in _FACTS[action])])
    written = await _written(ctx, data, old, current, to_state, values, text, detail, key, facts, guard)
    if written is not None:
        written.facts_key = _facts_key(ctx, action, before, data)
    return written


def _step(ctx: RequestContext, action: str, data: StepInput, old: Any, facts: dict[str, Any], text: str | None,
          key: str | None) -> tuple[dict[str, Any], CaseState, dict[str, Any]] | None:
    """The columns the step sets, the state it leads to and its timeline detail, as its general function makes
    them (resolvers.cases.handling); None where that would refuse it."""
    now = ctx.now
    if action == "accept":
        return {"accepted_at": now}, CaseState.ACCEPTED, {}
    if action == "start":
        return {}, CaseState.IN_PROGRESS, {}
    if action == "dispatch":
        path, amount, unit = facts["community_path"], facts["amount"], facts["unit"]
        if path is None or not old.area_path.startswith(path) or amount is None:
            return None
        unit = SlaUnit(unit)
        calendar = kept_calendar(ctx.db) if unit in _WORKING else _PLAIN
        if calendar is None:
            return None  # loaded by the general path, kept for the next step
        values = dict(NO_HANDLER, handler_kind=HandlerKind.COMMUNITY) | {
            "handler_area_id": data.community_id, "handler_name": facts["community_name"]}
        values["due_at"] = due_after(calendar, now, float(amount), unit)
        values["dispatched_at"] = now
        return values, CaseState.DISPATCHED, {"handler": values["handler_name"], "due_at": values["due_at"].isoformat(),
                                              "sla": f"{float(amount):g} {unit.value}"}
    if action == "resolve":
        try:
            honest, detail = closure_verdict(old, facts["needs_photo"], 0, facts["minimum"], facts["started"], now)
        except ServiceError:  # PHOTO_REQUIRED
            return None
        return {"resolved_at": now, "resolution": text, **honest}, CaseState.RESOLVED, detail
    # feedback, satisfied: the reporter only; a retry answers the first one's case
    if facts["retry"] or old.reporter_user_id != ctx.actor.user_id:
        return None
    return {"satisfied": True, "feedback_comment": text, "closed_at": now}, CaseState.CLOSED, {"satisfied": True}


def _with_rate_facts(sql: str, args: list[Any], first: int, action: str, current: CaseState, to_state: CaseState,
                     now: Any, seq: int) -> tuple[str, list[Any]]:
    """The case's UPDATE setting, beside the step's columns, the rate facts the step changes and ``rate_seq``
    (resolvers.cases.rate_fold; migration 0057): the trigger on its timeline entry then finds them folded in and
    does not write the row a second time."""
    at = f"${first + len(args)}::timestamptz"
    sets = rate_fold.folded(action, current.value, to_state.value, at)
    if not sets:
        return sql, args
    sets["rate_seq"] = f"${first + len(args) + 1}::int8"  # an int as int8 (tenants.commit.bind_write)
    head, where = sql.split(" WHERE ", 1)
    return f"{head}, {', '.join(f'{k} = {v}' for k, v in sets.items())} WHERE {where}", [*args, now, seq]


def _stage_due(ctx: RequestContext, action: str, stage: CaseStageKind, due_at: Any, facts: dict[str, Any]
               ) -> tuple[Any, bool]:
    """The due time of the stage the step opens, as ``open_stage`` sets it, and whether it is known here (not:
    a working calendar this process has not kept, a stage whose limit the checks did not read)."""
    if stage is CaseStageKind.HANDLE:
        return due_at, True
    if _LIMITED.get(action) is not stage:
        return None, False
    if facts["amount"] is None:
        return None, True
    unit = SlaUnit(facts["unit"])
    calendar = kept_calendar(ctx.db) if unit in _WORKING else _PLAIN
    if calendar is None:
        return None, False
    return due_after(calendar, ctx.now, float(facts["amount"]), unit), True


async def _written(ctx: RequestContext, data: StepInput, old: Any, current: CaseState, to_state: CaseState,
                   values: dict[str, Any], text: str | None, detail: dict[str, Any], key: str | None,
                   facts: dict[str, Any], guard: tuple[str, list[Any]] | None) -> PreparedStep | None:
    """The step's rows, in the order the general path writes and audits them: the case's conditional UPDATE,
    its stages (``after_move``), its timeline entry, the notifications (``notify_concerned``, then the step's
    own); their CTEs and parameters, the events queued and the audit entry recorded."""
    action, now, tenant_id = STEPS[data.field], ctx.now, ctx.tenant.id
    changes, _changed, entry = planned(CASE, old, current, to_state, values, old.version, now)
    after = vars(old) | changes
    new = SimpleNamespace(**after)
    ctes: list[str] = []
    args: list[Any] = []
    audited: list[dict[str, Any]] = [entry]

    def write(sql_values: tuple[str, list[Any]]) -> None:
        ctes.append(sql_values[0])
        args.extend(sql_values[1])

    if guard is not None:  # w0: the checks, with what was kept (``_guard``)
        write(guard)
    update = f"w{len(ctes)}"
    # the case's own facts after the step, kept with it for the next (resolvers.cases.kept_cases)
    own = {n: facts[n] for n in _OWN_FACTS if n in facts}
    # w0 (w1 after a guard): the case, only from the state and version read (of two steps at once, one updates it)
    sql, more = prepared.update_values(Case, changes, {"tenant_id": tenant_id, "id": old.id, "state": current,
                                                       "version": old.version}, 1 + len(args), returning="version")
    write(_with_rate_facts(sql, more, 1 + len(args), action, current, to_state, now, new.version))
    rows: list[tuple[type, dict[str, Any]]] = []
    before_stage, after_stage = STAGE_OF.get(current), STAGE_OF.get(to_state)
    if before_stage is not after_stage:
        sql, more = prepared.update_values(CaseStage, {"completed_at": now, "outcome": action,
                                                       "requested_due_at": None},
                                           {"tenant_id": tenant_id, "case_id": old.id}, 1 + len(args))
        write((sql + " AND completed_at IS NULL", more))
        if after_stage is not None:
            due, known = _stage_due(ctx, action, after_stage, after["due_at"], facts)
            if not known:
                return None
            last = facts["open_seq"] if facts["open_seq"] is not None else facts["last_seq"] or 0
            rows.append((CaseStage, stage_values(old.id, int(last) + 1, after_stage, now, due)))
            own["open_seq"] = own["last_seq"] = int(last) + 1
        else:
            own["open_seq"] = None
        own["started"] = now if after_stage is CaseStageKind.HANDLE else None  # the open 处置 stage's start
    event = event_values(ctx, old.id, new.version, to_state, action, current,
                         None if to_state is current else to_state, note=text, attachments=[], detail=detail,
                         idempotency_key=key)
    ctx.events.append(topic_event(tenant_id, old.id, old.area_path, action, to_state, new.version))
    notices = []
    said = reporter_notice(ctx, new, action)
    if said is not None:
        notices.append(notification_values(ctx, new, "progress", said[0], user_id=said[1]))
    if supervisor_hears(new, action):
        said = supervisor_notice(ctx, new, action, prepared.uid(facts.get("supervisor")))
        if said is not None:
            notices.append(notification_values(ctx, new, "supervision_update", said[0], user_id=said[1]))
    if action == "dispatch":
        notices.append(notification_values(ctx, new, "dispatched", f"事件 {new.number} 已派给您办理：{new.title}",
                                           area_id=data.community_id))
    # The timeline entry first: the general path's first flush after the UPDATE writes it (audited so).
    ordered = [(CaseEvent, event), *rows, *((Notification, n) for n in notices if n is not None)]
    for model, row in ordered:
        row.setdefault("id", uuid7())
        change = insert_change(model, row)
        if change is not None:
            audited.append(change)
        # the entry's seq is the version the UPDATE returned: NULL (refused by its NOT NULL) when it updated nothing
        write(prepared.insert_values(model, row, tenant_id, now, 1 + len(args),
                                     guarded={"seq": f"(SELECT version FROM {update} WHERE version = {{}})"}
                                     if model is CaseEvent else None))
    await record_mutation(ctx, data.field, outcome="ok", changes=audited, path=old.area_path)
    return PreparedStep(case=after, ctes=ctes, args=args, guarded=guard is not None, own=own)
