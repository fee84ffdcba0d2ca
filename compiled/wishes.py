"""Compiled reads of the care domain's wishes (issue #21): the ``wishes`` root field as
``resolvers.care.list_wishes`` answers it — the resolvers' own predicates (``wish_read_sql``: the
wish·read grant's reach, the party community as a subquery instead of a statement of its own;
``identity_predicate``: whether the beneficiary may be known), the same filters with the same checks,
newest first by id, the same cursors and totalCount. An argument the resolvers would refuse raises
Unsupported: the general path answers with its typed error.

``TABLES`` is what ``compiled.fields`` adds to ``FIELDS`` (``extend``): the root field and the types it reaches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Text, and_, case, cast, false, func, null, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased

from compiled.case_filters import area_uuid
from compiled.compiler import Compiler, FieldTable, Sel
from compiled.fields import CONNECTION, EDGE, area_by_id, columns_of, connection, user
from compiled.sql import gid, lit
from models import Area, Person, Wish, WishState
from policies.filters import buildings_in_scope, person_predicate
from resolvers.care import identity_predicate, wish_read_sql
from schema.care import Wish as WishType


def wishes(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.care.list_wishes in SQL; each row carries _identity (the beneficiary may be known)."""
    filters: list[ColumnElement[bool]] = [Wish.tenant_id == cx.tenant_id, wish_read_sql(cx.ctx)]
    states = cx.shape(sel, lambda a: tuple(WishState(x).value for x in a.get("states") or ()))
    if states:
        filters.append(Wish.state.in_([lit(x) for x in states]))
    if cx.shape(sel, lambda a: a.get("areaId") is not None):
        ar = Area.__table__.alias("fa")
        path = (select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == cx.param(sel, area_uuid, "uuid"))
                .scalar_subquery())
        cx.guards.append(path.is_not(None))  # an unknown area is the resolvers' NOT_FOUND
        # policies.filters types the scope paths as literal strings; startswith takes an expression as well.
        filters.append(Wish.building_id.in_(buildings_in_scope((cast(path, Text),))))  # type: ignore[arg-type]
    if cx.shape(sel, lambda a: bool(a.get("claimedByMe"))):
        filters.append(Wish.claimant_user_id == cx.ctx.actor.user_id)
    # NULL (a comparison with an unclaimed wish's claimant) is "not known", as the loader's WHERE reads it
    identity = func.coalesce(identity_predicate(cx.ctx), false())
    stmt = select(Wish.__table__, identity.label("_identity")).where(*filters)
    return connection(cx, sel, stmt, Wish.id, descending=True, node_type="Wish")


def _beneficiary_name(cx: Compiler, w: Any, _s: Sel) -> ColumnElement[Any]:
    """loaders.person_name_by_id: the name only, for a wish whose identity the actor may know."""
    p = Person.__table__.alias("bn")
    name = (select(p.c.name).where(p.c.tenant_id == cx.tenant_id, p.c.id == w.c.beneficiary_person_id)
            .correlate_except(p).scalar_subquery())
    return case((w.c._identity, name), else_=null())


def _beneficiary(cx: Compiler, w: Any, s: Sel) -> ColumnElement[Any]:
    """loaders.person_by_id: the person if the actor may read them (person·read), masked as they may."""
    pa = aliased(Person, name="bp")
    p = sa_inspect(pa).selectable
    person = (select(cx.sub("Person", s, p)).select_from(p)
              .where(p.c.tenant_id == cx.tenant_id, p.c.id == w.c.beneficiary_person_id,
                     person_predicate(cx.ctx.actor.grant("person", "read"), cx.ctx.actor, pa))
              .correlate_except(p).scalar_subquery())
    return case((w.c._identity, person), else_=null())


WISH: FieldTable = {
    "id": lambda _cx, w, _s: gid("Wish", w.c.id),
    **columns_of(WishType),  # title, state, postedAt, version …: the type's column fields
    "identityHidden": lambda _cx, w, _s: ~w.c._identity,
    "beneficiaryName": _beneficiary_name,
    "beneficiary": _beneficiary,
    "building": lambda cx, w, s: case((w.c._identity, area_by_id(cx, s, w.c.building_id)), else_=null()),
    "claimant": lambda cx, w, s: case((and_(w.c._identity, w.c.claimant_user_id.is_not(None)),
                                       user(cx, s, w.c.claimant_user_id)), else_=null()),
    # NULL is not the actor: a wish nobody claimed is not claimed by them (False, as the resolver says)
    "claimedByMe": lambda cx, w, _s: w.c.claimant_user_id.is_not_distinct_from(cx.ctx.actor.user_id),
    "postedByMe": lambda cx, w, _s: w.c.poster_user_id.is_not_distinct_from(cx.ctx.actor.user_id),
}

TABLES: dict[str, FieldTable] = {
    "Query": {"wishes": wishes},
    "Wish": WISH,
    "WishConnection": CONNECTION, "WishEdge": EDGE,
}
