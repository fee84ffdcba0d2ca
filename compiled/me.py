"""The compiled ``me`` (当前用户, issue #21): the field every portal sends at start, in one statement.

The resolver (schema.register.query ``Query.me``) answers from what the request's first statement
already read — the user, the tenant and the actor's assignments in force — and loads one row, the
actor's own person (``loaders.person_by_id``: under the person read predicate). Here the same: the
user's and tenant's names are parameters, the assignments the actor's own values (a plan is kept per
actor and the texts its rows were read from, ``compiled.plans._actor_key``: they are inlined, as the
grants are), in id order as the resolver sorts them, with ``revoked_at`` NULL as it sets it; the
person by id under ``person_predicate``, masked and audited as every compiled Person
(compiled.fields.PERSON). The role assignment's fields are compiled/access.py's."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, Select, literal_column, null, select, union_all
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased

from compiled.compiler import Compiler, FieldTable, Sel
from compiled.sql import EMPTY_JSON_ARRAY, json_list
from models import Person
from policies.actor import Assignment
from policies.filters import person_predicate

_UUID_NULL = "NULL::uuid"
_TS_NULL = "NULL::timestamptz"


def _row(a: Assignment, user_id: Any) -> Select[Any]:
    """One assignment as the resolver's transient row: the actor's own values (from the database,
    uuids and ISO timestamps only: nothing a quote could be in), never revoked."""
    def ts(value: Any) -> str:
        return _TS_NULL if value is None else f"'{value.isoformat()}'::timestamptz"

    role = a.role.value
    assert "'" not in role
    cols: dict[str, str] = {
        "id": f"'{a.id}'::uuid", "role": f"'{role}'::text", "scope_area_id": f"'{a.scope_area_id}'::uuid",
        "firm_id": _UUID_NULL if a.firm_id is None else f"'{a.firm_id}'::uuid", "user_id": f"'{user_id}'::uuid",
        "valid_from": ts(a.valid_from), "valid_until": ts(a.valid_until), "revoked_at": _TS_NULL}
    return cast(Select[Any], select(*(literal_column(sql).label(name) for name, sql in cols.items())))


def _roles(cx: Compiler, _me: None, s: Sel) -> ColumnElement[Any]:
    actor = cx.ctx.actor
    rows = [_row(a, actor.user_id) for a in sorted(actor.assignments, key=lambda a: a.id)]
    if not rows:
        return EMPTY_JSON_ARRAY  # strawberry's [] whatever the sub-selection
    ra = (rows[0] if len(rows) == 1 else union_all(*rows)).subquery("ra")
    return select(json_list(cx.sub("RoleAssignment", s, ra), ra.c.id)).select_from(ra).scalar_subquery()


def _person(cx: Compiler, _me: None, s: Sel) -> ColumnElement[Any]:
    """loaders.person_by_id of the actor's own person: under the person read predicate."""
    if cx.ctx.actor.person_id is None:
        return null()
    pa = aliased(Person, name="mp")
    p = sa_inspect(pa).selectable
    person_id = cx.slot(lambda b: b.ctx.actor.person_id, "uuid")
    return (select(cx.sub("Person", s, p)).select_from(p)
            .where(p.c.tenant_id == cx.tenant_id, p.c.id == person_id,
                   person_predicate(cx.ctx.actor.grant("person", "read"), cx.ctx.actor, pa))
            .scalar_subquery())


def me(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    return cx.sub("Me", sel, None)


ME: FieldTable = {
    "username": lambda cx, _me, _s: cx.slot(lambda b: b.ctx.actor.username, "text"),
    "displayName": lambda cx, _me, _s: cx.slot(lambda b: b.ctx.actor.display_name, "text"),
    "tenant": lambda cx, _me, s: cx.sub("Tenant", s, None),
    "roles": _roles,
    "person": _person,
}

TENANT: FieldTable = {
    "slug": lambda cx, _t, _s: cx.slot(lambda b: b.ctx.tenant.slug, "text"),
    "name": lambda cx, _t, _s: cx.slot(lambda b: b.ctx.tenant.name, "text"),
}

TABLES: dict[str, FieldTable] = {"Query": {"me": me}, "Me": ME, "Tenant": TENANT}
