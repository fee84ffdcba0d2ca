"""The audit log: what each mutation changed (and what was refused), every full read of personal
data; read by the party secretary for their scope and by the street admin."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, inspect, or_, select, true
from sqlalchemy.orm.util import identity_key

from models import Area, AuditEntry, Case, Household, Person, RoleAssignment, User
from resolvers.context import RequestContext, audit_entry
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page


async def _path_of_area(ctx: RequestContext, id_: uuid.UUID) -> str | None:
    path: str | None = await ctx.db.scalar(select(Area.path).where(Area.id == id_))
    return path


async def _path_of_case(ctx: RequestContext, id_: uuid.UUID) -> str | None:
    # A case the mutation loaded in this transaction (every step of the case machine does): its path as
    # read then, without a statement (issue #21). A case never changes area; the one writer of
    # cases.area_path, an area move, transitions no case.
    loaded = ctx.db.session.sync_session.identity_map.get(identity_key(Case, (ctx.tenant.id, id_)))
    if loaded is not None:
        known = inspect(loaded).dict.get("area_path")  # absent when expired (a lost idempotent race)
        if isinstance(known, str):
            return known
    path: str | None = await ctx.db.scalar(select(Case.area_path).where(Case.id == id_))
    return path


async def _path_of_household(ctx: RequestContext, id_: uuid.UUID) -> str | None:
    path: str | None = await ctx.db.scalar(
        select(Area.path).join(Household, and_(Household.tenant_id == Area.tenant_id,
                                               Household.building_id == Area.id)).where(Household.id == id_))
    return path


async def _path_of_person(ctx: RequestContext, id_: uuid.UUID) -> str | None:
    hh = await ctx.db.scalar(select(Person.household_id).where(Person.id == id_))
    return None if hh is None else await _path_of_household(ctx, hh)


async def _path_of_assignment(ctx: RequestContext, id_: uuid.UUID) -> str | None:
    scope = await ctx.db.scalar(select(RoleAssignment.scope_area_id).where(RoleAssignment.id == id_))
    return None if scope is None else await _path_of_area(ctx, scope)


# Where a changed row lies in the area tree, by table; modules register their own tables.
AREA_PATH_OF: dict[str, Callable[[RequestContext, uuid.UUID], Awaitable[str | None]]] = {
    "areas": _path_of_area,
    "cases": _path_of_case,
    "households": _path_of_household,
    "persons": _path_of_person,
    "role_assignments": _path_of_assignment,
}


# The column that holds a row's own area path, by table, when the change recorded it.
PATH_COLUMN_OF = {"cases": "area_path", "areas": "path"}


def _path_in_change(change: dict[str, Any]) -> str | None:
    column = PATH_COLUMN_OF.get(change["table"])
    after = (change.get("fields") or {}).get(column) if column else None
    return after[1] if isinstance(after, list) and isinstance(after[1], str) else None


async def record_mutation(ctx: RequestContext, action: str, *, outcome: str, changes: list[dict[str, Any]],
                          errors: list[str] | None = None, path: str | None = None) -> None:
    """Queue the audit entry of one mutation (appended in the request's commit). ``path``: the area path of the
    first change's row as the caller read it (a case step on the driver, resolvers.cases.steps_fast), where
    ``AREA_PATH_OF`` would find the same with a statement."""
    for change in ([] if path is not None else changes):
        known = _path_in_change(change)
        if known is not None:  # an insert, or an update of the path: no statement (issue #21)
            path = known
            break
        finder = AREA_PATH_OF.get(change["table"])
        if finder is not None:
            path = await finder(ctx, uuid.UUID(change["id"]))
            if path is not None:
                break
    first = changes[0]["table"] if changes else ""
    ctx.audit.append(audit_entry(
        user_id=ctx.actor.user_id,
        roles=",".join([r.value for r in ctx.actor.roles]),
        action=action,
        object_type=first,
        object_ids=list(dict.fromkeys(c["id"] for c in changes)),
        detail={"outcome": outcome, "errors": errors or [], "changes": changes},
        request_id=ctx.request_id,
        client_addr=ctx.client_addr,
        area_path=path,
        created_at=ctx.now,
    ))


def audit_predicate(ctx: RequestContext) -> ColumnElement[bool] | None:
    """The entries the actor may read (all, or those under their scope's areas); None: none at all."""
    grant = ctx.actor.grant("audit_log", "read")
    if not grant:
        return None
    return true() if grant.all else or_(*(AuditEntry.area_path.startswith(p) for p in grant.scope_paths))


async def get_audit_entry(ctx: RequestContext, entry_id: uuid.UUID) -> AuditEntry | None:
    """One entry by id, if the actor may read it (node(id:))."""
    pred = audit_predicate(ctx)
    if pred is None:
        return None
    found: AuditEntry | None = await ctx.db.scalar(select(AuditEntry).where(AuditEntry.id == entry_id, pred))
    return found


def object_id_needle(object_id: uuid.UUID) -> str:
    """What an entry's ids hold, as JSON text, when they name the row: its uuid as a JSON string."""
    return f'"{object_id}"'


def audit_list_filters(ctx: RequestContext, *, action: str | ColumnElement[str] | None, by_user: bool,
                       user_id: uuid.UUID | ColumnElement[uuid.UUID] | None,
                       object_id: uuid.UUID | ColumnElement[str] | None,
                       since: datetime | ColumnElement[datetime] | None,
                       until: datetime | ColumnElement[datetime] | None) -> list[ColumnElement[bool]] | None:
    """The audit log list's rows, newest first by id: readable (None: the actor may read none), of the
    action, of the user when ``by_user`` (a username no user has is None: the entries without a user,
    as the list has always answered it), naming the object (a uuid, or its ``object_id_needle`` as an
    expression), in the window. The compiled read (compiled/audit.py) filters with this too, with the
    values as parameters."""
    pred = audit_predicate(ctx)
    if pred is None:
        return None
    filters: list[ColumnElement[bool]] = [pred]
    if action is not None:
        filters.append(AuditEntry.action == action)
    if by_user:
        filters.append(AuditEntry.user_id.is_not_distinct_from(user_id))
    if object_id is not None:
        # The ids' JSON text holds the uuid as a JSON string (both backends). JSON has no LIKE (issue #21):
        # ``object_ids.contains`` was a deprecated operator on the JSON type (SADeprecationWarning, an
        # error under the tests) and on PostgreSQL ``json ~~ text``, which does not exist: INTERNAL.
        needle = object_id_needle(object_id) if isinstance(object_id, uuid.UUID) else object_id
        filters.append(cast(AuditEntry.object_ids, Text).contains(needle))
    if since is not None:
        filters.append(AuditEntry.created_at >= since)
    if until is not None:
        filters.append(AuditEntry.created_at < until)
    return filters


async def list_audit(
    ctx: RequestContext, *, action: str | None, username: str | None, object_id: uuid.UUID | None,
    since: datetime | None, until: datetime | None, first: int | None, after: str | None,
) -> Page[AuditEntry]:
    if audit_predicate(ctx) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权查看审计日志", "you may not read the audit log"), "auditLog")
    uid = await ctx.db.scalar(select(User.id).where(User.username == username)) if username else None
    filters = audit_list_filters(ctx, action=action or None, by_user=bool(username), user_id=uid,
                                 object_id=object_id, since=since, until=until)
    assert filters is not None
    stmt = select(AuditEntry).where(*filters)
    return await keyset_page(ctx.db, stmt, AuditEntry.id, first=first, after=after, descending=True)
