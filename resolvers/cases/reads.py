"""Reading cases: the read predicate (scope, own, assigned, served, problem wall), the filtered and
paged list, one case, its timeline, overdue-ness and the active categories."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, false, func, literal, or_, select

from models import Area, Case, CaseCategory, CaseEvent, CasePriority, CaseSource, CaseState, HandlerKind
from models.base import UTCDateTime
from models.cases import aware as aware  # re-exported: resolvers.cases.review reads it from here
from models.cases import is_overdue as overdue_at
from models.cases import overdue_sql
from policies.cases import case_in_area, case_predicate
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Key, ListOrder, Page, SortKey, keyset_page, ordered_page, sorted_page


def read_predicate(ctx: RequestContext, *, public: bool = True) -> ColumnElement[bool]:
    return case_predicate(ctx.actor.grant("case", "read"), ctx.actor, public=public)


class CaseOrder(enum.StrEnum):
    """The orders of the cases list (issue #23)."""

    NEWEST = "newest"  # 最新上报: by id (UUIDv7), descending — the cursors as ever
    DUE_SOONEST = "due_soonest"  # 时限最近: due time ascending; cases without one last
    OVERDUE_FIRST = "overdue_first"  # 超期优先: overdue ones, most overdue first; then the rest, newest first


# A time after every real one: the sort time of a case without one, so the keyset never compares NULL.
NO_TIME = datetime(9999, 12, 31, tzinfo=UTC)


def case_sort_key(order: CaseOrder, now: Any, cols: Any = Case, no_time: Any = None
                  ) -> tuple[ColumnElement[int], ColumnElement[Any]]:
    """The (bucket, time) of a case in ``order`` as SQL over ``cols`` (the Case entity or a table's
    columns), at the clock ``now`` (a value or a SQL expression); both ascending, then the id descending.
    :func:`case_sort_of` is the same rule in Python; the compiled reads use this one (with ``no_time``,
    NO_TIME written as their SQL)."""
    if no_time is None:
        no_time = literal(NO_TIME, UTCDateTime())
    if order is CaseOrder.DUE_SOONEST:
        return (case((cols.due_at.is_(None), 1), else_=0), func.coalesce(cols.due_at, no_time))
    late = overdue_sql(cols.state, cols.due_at, now)
    return case((late, 0), else_=1), case((late, cols.due_at), else_=no_time)


def case_sort_of(order: CaseOrder, case_row: Case, now: datetime) -> tuple[int, datetime]:
    """:func:`case_sort_key` for a loaded case: the place its cursor names."""
    due = None if case_row.due_at is None else aware(case_row.due_at)
    if order is CaseOrder.DUE_SOONEST:
        return (0, due) if due is not None else (1, NO_TIME)
    if overdue_at(case_row.state, case_row.due_at, now):
        assert due is not None
        return 0, due
    return 1, NO_TIME


@dataclass
class CaseFilter:
    area_id: uuid.UUID | None = None
    states: list[CaseState] | None = None
    category: str | None = None
    supervised: bool | None = None
    overdue: bool | None = None
    reported_by_me: bool | None = None
    assigned_to_me: bool | None = None
    closure_flagged: bool | None = None  # resolved too fast, waiting for a reviewer (issue #22)
    sources: list[CaseSource] | None = None
    external_ticket_no: str | None = None
    # what a handling desk filters by (issue #23)
    priorities: list[CasePriority] | None = None
    reported_from: datetime | None = None
    reported_before: datetime | None = None
    handler_kind: HandlerKind | None = None
    handler_firm_id: uuid.UUID | None = None
    handler_partner_unit_id: uuid.UUID | None = None  # dispatched to this partner unit's record (issue #22)
    text: str | None = None
    order: CaseOrder = CaseOrder.NEWEST


async def list_cases(ctx: RequestContext, f: CaseFilter, *, first: int | None, after: str | None) -> Page[Case]:
    stmt = select(Case).where(read_predicate(ctx))
    if f.area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == f.area_id))
        if path is None:
            raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
        stmt = stmt.where(case_in_area(path))
    if f.states:
        stmt = stmt.where(Case.state.in_(f.states))
    if f.category:
        stmt = stmt.where(Case.category_code == f.category)
    if f.supervised is not None:
        stmt = stmt.where(Case.supervised.is_(f.supervised))
    if f.overdue is not None:
        late = overdue_sql(Case.state, Case.due_at, ctx.now)
        stmt = stmt.where(late if f.overdue else ~late)
    if f.closure_flagged is not None:
        stmt = stmt.where(Case.closure_flagged.is_(f.closure_flagged))
    if f.reported_by_me:
        stmt = stmt.where(Case.reporter_user_id == ctx.actor.user_id)
    if f.assigned_to_me:
        firms = [a.firm_id for a in ctx.actor.assignments if a.firm_id is not None]
        stmt = stmt.where(or_(Case.handler_firm_id.in_(firms), Case.handler_partner_id == ctx.actor.partner_unit_id)
                          if ctx.actor.partner_unit_id is not None else Case.handler_firm_id.in_(firms))
    if f.sources:
        stmt = stmt.where(Case.source.in_(f.sources))
    if f.external_ticket_no is not None:
        # Among the cases seen in full: the number is not shown on the public wall, nor searchable there.
        stmt = stmt.where(Case.external_ticket_no == f.external_ticket_no.strip(), read_predicate(ctx, public=False))
    stmt = stmt.where(*v.period_filter(Case.created_at, f.reported_from, f.reported_before,
                                       ("reportedFrom", "reportedBefore")))
    if f.priorities:
        stmt = stmt.where(Case.priority.in_(f.priorities))
    if f.handler_kind is not None:
        stmt = stmt.where(Case.handler_kind == f.handler_kind)
    if f.handler_firm_id is not None:
        stmt = stmt.where(Case.handler_firm_id == f.handler_firm_id)
    if f.handler_partner_unit_id is not None:
        stmt = stmt.where(Case.handler_partner_id == f.handler_partner_unit_id)
    if f.text is not None:
        term = v.text(f.text, "text", max_len=50)
        # the title for everyone; the description only among the cases seen in full (the wall may hide it)
        stmt = stmt.where(or_(Case.title.contains(term, autoescape=True),
                              and_(Case.description.contains(term, autoescape=True),
                                   read_predicate(ctx, public=False))))
    if f.order is CaseOrder.NEWEST:  # keyset on the id (UUIDv7), descending
        return await keyset_page(ctx.db, stmt, Case.id, first=first, after=after, descending=True)
    # By due time or overdue first: keyset on (bucket, time, id); overdue-ness at the request's clock.
    bucket, time = case_sort_key(f.order, ctx.now)
    key = SortKey(f.order.value, bucket, time, lambda m: case_sort_of(f.order, m, ctx.now))
    return await ordered_page(ctx.db, stmt, Case.id, key, first=first, after=after)


def assigned_predicate(ctx: RequestContext) -> ColumnElement[bool]:
    """The cases of the actor's desk (assignedCases): dispatched to its partner unit or its firms, and
    readable by it — the list's rule, and the compiled list's (compiled/cobuilding.py)."""
    mine = []
    if ctx.actor.partner_unit_id is not None:
        mine.append(Case.handler_partner_id == ctx.actor.partner_unit_id)
    firms = [a.firm_id for a in ctx.actor.assignments if a.firm_id is not None]
    if firms:
        mine.append(Case.handler_firm_id.in_(firms))
    return and_(read_predicate(ctx, public=False), or_(*mine) if mine else false())


async def list_assigned_cases(ctx: RequestContext, *, states: list[CaseState] | None, first: int | None,
                              after: str | None) -> Page[Case]:
    """The cases dispatched to the actor's unit, newest first (issue #22): for a partner unit's system its
    unit's, for a firm's staff their firm's — among those the actor may read."""
    stmt = select(Case).where(assigned_predicate(ctx))
    if states:
        stmt = stmt.where(Case.state.in_(states))
    return await keyset_page(ctx.db, stmt, Case.id, first=first, after=after, descending=True)


async def get_case(ctx: RequestContext, case_id: uuid.UUID) -> Case | None:
    case: Case | None = await ctx.db.scalar(select(Case).where(Case.id == case_id, read_predicate(ctx)))
    return case


def is_overdue(case: Case, now: datetime) -> bool:
    """Case.overdue: the one rule of models.cases, for a loaded case."""
    return overdue_at(case.state, case.due_at, now)



CATEGORIES = ListOrder("caseCategories", (Key(CaseCategory.code), Key(CaseCategory.id)))


def category_rows(_ctx: RequestContext) -> Select[Any]:
    """The categories offered for new reports, to everyone: the list, its connection, the compiled read."""
    return select(CaseCategory).where(CaseCategory.active.is_(True))


async def categories(ctx: RequestContext) -> list[CaseCategory]:
    return list(await ctx.db.scalars(category_rows(ctx).order_by(*CATEGORIES.order_by())))


async def categories_page(ctx: RequestContext, *, first: int | None, after: str | None) -> Page[CaseCategory]:
    return await sorted_page(ctx.db, category_rows(ctx), CATEGORIES, first=first, after=after)


async def timeline(ctx: RequestContext, case_id: uuid.UUID) -> list[CaseEvent]:
    return list(await ctx.db.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)))
