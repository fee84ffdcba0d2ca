"""The compiled persons list (居民, issue #21): ``persons(areaId:, householdId:, careTag:, partyMember:,
search:, archived:, first:, after:)`` in one statement, like the notices list (compiled/notices.py).

The rows are the resolvers' own: ``resolvers.register.person_list_filters`` (readable by the grant,
current or archived, in the area's subtree, of the household, of the care group among persons read in
full, party members or not, by part of the name), here with the area's path read by a subquery and the
other values parameters; by id, with the cursors and page of every other keyset list. The fields are
the Person table of compiled.fields (masking of ID numbers and phones, audited full reads), and the
person's household, read under the household predicate as the household loader reads it.
A lookup by ID number or phone is audited by the resolvers (``person.lookup``): it is not compiled."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Text, cast, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased

from compiled.case_filters import area_uuid
from compiled.compiler import Compiler, FieldTable, Sel, Unsupported, given_id
from compiled.fields import CONNECTION, EDGE, connection
from compiled.pii import readable_columns
from models import Area, Household, Person
from policies.actor import Actor
from policies.filters import household_predicate, kept_predicate, person_household_ids, person_predicate
from resolvers import validation as v
from resolvers.errors import ServiceError
from resolvers.register import person_list_filters


def _search_term(a: dict[str, Any]) -> str:
    try:
        return v.text(a["search"], "search", max_len=50)
    except ServiceError:
        raise Unsupported("bad search") from None  # the resolvers give the typed error


def _readable(actor: Actor) -> ColumnElement[bool]:
    """The persons the actor reads, as ``household_id IN (own UNION ALL reach …)`` where the read predicate is
    an OR of household sets (policies.filters.person_household_ids): the count and the rows then read the
    households' persons through ix_persons_household, not every person of the tenant (issue #21). The
    predicate itself keeps its OR: the households page's persons of each household plan better with it."""
    grant = actor.grant("person", "read")

    def build() -> ColumnElement[bool]:
        ids = person_household_ids(grant, actor)
        return person_predicate(grant, actor) if ids is None else Person.household_id.in_(ids)
    return kept_predicate("person_by_household", grant, actor, build)


def persons(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    if cx.shape(sel, lambda a: a.get("idCardNo") is not None or a.get("phone") is not None):
        raise Unsupported("persons by identifier")  # audited by the resolvers (person.lookup)
    path = None
    if cx.shape(sel, lambda a: a.get("areaId") is not None):
        ar = Area.__table__.alias("pa")
        found = (select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == cx.param(sel, area_uuid, "uuid"))
                 .scalar_subquery())
        cx.guards.append(found.is_not(None))  # an unknown area is the resolvers' NOT_FOUND
        path = cast(found, Text)
    household_id = given_id(cx, sel, "householdId", "Household")
    care_tag = None
    if cx.shape(sel, lambda a: a.get("careTag") is not None):
        care_tag = cx.param(sel, lambda a: a["careTag"], "text")
    search = None
    if cx.shape(sel, lambda a: bool(a.get("search"))):
        search = cx.param(sel, _search_term, "text")
    stmt = select(Person.__table__).where(
        Person.tenant_id == cx.tenant_id,
        *person_list_filters(cx.ctx, archived=cx.shape(sel, lambda a: bool(a.get("archived"))), area_path=path,
                             household_id=household_id, care_tag=care_tag,
                             party_member=cx.shape(sel, lambda a: a.get("partyMember")), search=search,
                             readable=_readable(cx.ctx.actor)))
    # the check of a full read as a column of the page's rows: each field that is personal data reads it (compiled.pii)
    return connection(cx, sel, stmt, Person.id, descending=False, node_type="Person",
                      columns=tuple(readable_columns(cx, Person.__table__)))


def _household(cx: Compiler, p: Any, s: Sel) -> ColumnElement[Any]:
    """Person.household as the household loader reads it: by id, under the household read predicate."""
    ha = aliased(Household, name="ph")
    h = sa_inspect(ha).selectable
    pred = household_predicate(cx.ctx.actor.grant("household", "read"), cx.ctx.actor, ha)
    return (select(cx.sub("Household", s, h)).select_from(h)
            .where(h.c.tenant_id == cx.tenant_id, h.c.id == p.c.household_id, pred)
            .correlate_except(h).scalar_subquery())


# What compiled.fields adds to its FIELDS: the Query field, the person's household, the connection types.
TABLES: dict[str, FieldTable] = {"Query": {"persons": persons}, "Person": {"household": _household},
                                 "PersonConnection": CONNECTION, "PersonEdge": EDGE}
