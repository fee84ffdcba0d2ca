"""Notices (通知公告) to an area and everything below it, and the problem wall (问题墙) / echo wall
(回音壁) of a compound: what residents see of their area."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, and_, literal, or_, select

from models import Area, AreaKind, Case, CaseState, Notice, uuid7
from policies.deliberation.filters import area_rows_predicate
from policies.filters import area_read_predicate
from resolvers import inserts
from resolvers import validation as v
from resolvers.cases import read_predicate as case_read_predicate
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page

from .checks import area_for_action, fail


def notice_reach_predicate(ctx: RequestContext) -> ColumnElement[bool]:
    """The notices the actor's read grant reaches, withdrawn ones included (for managing them)."""
    return area_rows_predicate(Notice.area_path, Notice.area_id, ctx.actor.grant("notice", "read"), ctx.actor,
                               ancestors=True)


def notice_read_predicate(ctx: RequestContext) -> ColumnElement[bool]:
    """What readers see: a withdrawn notice (issue #23) is on no wall, list or feed; its row stays."""
    return and_(notice_reach_predicate(ctx), Notice.withdrawn_at.is_(None))


async def get_notice(ctx: RequestContext, notice_id: uuid.UUID) -> Notice | None:
    notice: Notice | None = await ctx.db.scalar(
        select(Notice).where(Notice.id == notice_id, notice_read_predicate(ctx)))
    return notice


def notice_list_filters(ctx: RequestContext, *, area_path: str | ColumnElement[str] | None, include_expired: bool,
                        now: datetime | ColumnElement[datetime]) -> list[ColumnElement[bool]]:
    """The notices list's rows (newest first by id): readable, reaching the area's path when one is
    given, unexpired at ``now`` unless asked otherwise. The compiled read (compiled/notices.py) filters
    with this too, with the path and the clock as SQL expressions."""
    filters = [notice_read_predicate(ctx)]
    if area_path is not None:
        path = literal(area_path) if isinstance(area_path, str) else area_path
        filters.append(or_(Notice.area_path.startswith(path), path.startswith(Notice.area_path)))
    if not include_expired:
        filters.append(or_(Notice.expires_at.is_(None), Notice.expires_at > now))
    return filters


async def list_notices(ctx: RequestContext, *, area_id: uuid.UUID | None, include_expired: bool,
                       first: int | None, after: str | None) -> Page[Notice]:
    """Notices you may read; with an area, those reaching it (to it, below it, or to an area above it)."""
    path = None
    if area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
        if path is None:
            raise fail(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    stmt = select(Notice).where(*notice_list_filters(ctx, area_path=path, include_expired=include_expired,
                                                     now=ctx.now))
    return await keyset_page(ctx.db, stmt, Notice.id, first=first, after=after, descending=True)


async def publish_notice(ctx: RequestContext, *, area_id: uuid.UUID, title: str, body: str,
                         expires_at: datetime | None) -> Notice:
    errors = FieldErrors()
    clean: dict[str, str] = {}
    for name, value, limit in (("title", title, 100), ("body", body, 10000)):
        with errors.catch():
            clean[name] = v.text(value, name, max_len=limit)
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= ctx.now):
        errors.add(ErrorCode.INVALID, t("expiresAt 应为将来的时间",
                                        "expiresAt must be a moment in the future"), "expiresAt")
    errors.raise_if_any()
    area = await area_for_action(ctx, area_id, "notice", "publish", "publish notices")
    notice = Notice(id=uuid7(), area_id=area.id, area_path=area.path, title=clean["title"], body=clean["body"],
                    publisher_user_id=ctx.actor.user_id, expires_at=expires_at, created_at=ctx.now)
    await inserts.insert(ctx, notice)
    ctx.events.append({"topic": "notice", "tenant_id": str(ctx.tenant.id), "notice_id": str(notice.id),
                       "area_path": notice.area_path})
    return notice


# ================================================================= problem wall / echo wall


def wall_filters(ctx: RequestContext, compound_path: str | ColumnElement[str], *, echo: bool
                 ) -> list[ColumnElement[bool]]:
    """A wall's cases before its page filters: on the wall, in the compound, readable; on the echo wall
    answered (resolved or closed, with a resolution). The compiled walls (compiled/walls.py) use this too."""
    filters = [Case.on_wall.is_(True), Case.area_path.startswith(compound_path), case_read_predicate(ctx)]
    if echo:
        filters += [Case.resolution.is_not(None), Case.state.in_([CaseState.RESOLVED, CaseState.CLOSED])]
    return filters


async def wall(ctx: RequestContext, compound_id: uuid.UUID, *, echo: bool, first: int | None,
               after: str | None, category: str | None = None, states: list[CaseState] | None = None,
               reported_from: datetime | None = None, reported_before: datetime | None = None) -> Page[Case]:
    """A compound's problem-wall cases (问题墙), or those answered (回音壁), that the actor may read:
    residents of the compound, staff in scope. The caller shows them anonymised."""
    compound = await ctx.db.scalar(select(Area).where(
        Area.id == compound_id, Area.kind == AreaKind.COMPOUND,
        area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)))
    if compound is None:
        raise fail(ErrorCode.NOT_FOUND, t("小区不存在", "compound not found"), "compoundId")
    stmt = select(Case).where(*wall_filters(ctx, compound.path, echo=echo))
    # the filters a wall page offers (issue #23): category, state, the period it was reported in
    stmt = stmt.where(*v.period_filter(Case.created_at, reported_from, reported_before,
                                       ("reportedFrom", "reportedBefore")))
    if category is not None:
        stmt = stmt.where(Case.category_code == category)
    if states:
        stmt = stmt.where(Case.state.in_(states))
    return await keyset_page(ctx.db, stmt, Case.id, first=first, after=after, descending=True)
