"""Recategorising a case (改类, issue #23): a dispatcher (case · recategorise: the grid leader in
scope, inherited by the party secretary; the street admin everywhere — DESIGN.md §4's accept and
dispatch row) moves an open case to another active category. The state does not change; the
version moves on, the timeline gets a ``recategorise`` entry (from → to, the note) and the audit log
the changed field. A due time already set by the SLA stays: it was promised at dispatch.

Kept in a module of its own, with a machine of one move beside the case machine (machine.py), whose
timeline it shares."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from models import OPEN_STATES, Case, CaseCategory
from policies.cases import case_predicate
from resolvers.cases import kept_cases
from resolvers.cases.machine import CASE, check_note
from resolvers.cases.reads import get_case
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.transitions import StateMachine, transition

RECATEGORISE: StateMachine = StateMachine(  # type: ignore[type-arg]
    noun="case", noun_zh="事件", model=Case, moves={"recategorise": (OPEN_STATES, None)}, timeline=CASE.timeline,
    lost=CASE.lost, refused=("事件当前为 {state}，已办结的事件不能改类",
                             "the case is {state}; a case no longer open keeps its category"))


async def recategorise_case(ctx: RequestContext, case_id: uuid.UUID, *, category: str, note: str | None,
                            expected_version: int | None) -> Case:
    errors = FieldErrors()
    with errors.catch():
        text = check_note(note)
    code = category.strip()
    if await ctx.db.scalar(select(CaseCategory.id).where(CaseCategory.code == code,
                                                         CaseCategory.active.is_(True))) is None:
        errors.add(ErrorCode.INVALID, t(f"没有事件类别 {category!r}", f"unknown case category {category!r}"),
                   "category")
    errors.raise_if_any()
    case = await get_case(ctx, case_id)
    if case is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("事件不存在", "case not found"), "id")
    grant = ctx.actor.grant("case", "recategorise")
    if await ctx.db.scalar(select(Case.id).where(Case.id == case.id,
                                                 case_predicate(grant, ctx.actor, public=False))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权为该事件改类", "you may not recategorise this case"), "id")
    RECATEGORISE.check(case, "recategorise")
    if case.category_code == code:
        raise ServiceError(ErrorCode.INVALID, t("事件已属该类别", "the case is already in that category"), "category")
    kept_cases.forget_case(ctx.tenant.id, case.id)  # the steps' fast path reads it afresh
    await transition(ctx, RECATEGORISE, case, "recategorise", expected_version=expected_version,
                     values={"category_code": code},
                     timeline={"note": text, "detail": {"from": case.category_code, "to": code}})
    return case
