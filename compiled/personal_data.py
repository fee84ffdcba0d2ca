"""The compiled data subject's report (个人信息查询, issue #21): ``personalDataReport(personId:)`` in one
statement, the resolvers' (resolvers.register.personal_data) read in SQL.

The person is read as ``_reportable`` reads them (under person·read); one the actor may not read, or
whose ``person·report`` grant does not reach them, is the resolvers' NOT_FOUND or FORBIDDEN: a guard
fails and strawberry answers. The records are the person's and their household's rows, then
``records_sql`` (every table naming them, the PostgreSQL text the resolvers run there too) in the resolvers' order —
by table, column and the id's text, in code-point order (COLLATE "C", as Python's sort) — each
evaluated once (a CTE) for the list and its count. The full reads are ``full_read_filters``' rows
by time and id, each with its user's name and the request's other entry: the last one with a
purpose, else the first (by id, the order the resolvers meet them), else "query".

Producing the report is audited (``report_audit``): the report object carries a first key "$report"
(the person, how many records and full reads it listed) that compiled.plans.finish takes out and turns
into the resolvers' entry, written in the read's own transaction; the person's fields are the Person
fields of compiled.fields (masking, the "$pii" markers of full reads)."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from graphql import GraphQLObjectType
from sqlalchemy import (
    CTE,
    JSON,
    ColumnElement,
    Integer,
    String,
    Text,
    Uuid,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from compiled.audit import DECLINE
from compiled.compiler import Compiler, FieldTable, Sel, Unsupported, id_arg
from compiled.sql import first_key, gid, iso, json_list, lit
from models import AuditEntry, Household, Person, PersonErasure, User
from models.base import UTCDateTime
from policies.filters import person_predicate
from resolvers.register import full_read_filters, records_sql

_read_person = id_arg("personId", "Person")  # a bad one: the resolvers give the typed error


@lru_cache(maxsize=1024)
def _decoded(value: str) -> uuid.UUID:
    return _read_person({"personId": value})


def _person_uuid(a: dict[str, Any]) -> uuid.UUID:
    """The person's uuid, decoded once per ID text (issue #21: the report's three parameters — the id, its
    JSON string, its text — each decoded the global ID on every request); a bad one raises every time."""
    return _decoded(str(a["personId"]))


def _needle(a: dict[str, Any]) -> str:
    return f'"{_person_uuid(a)}"'


def _subject(a: dict[str, Any]) -> str:
    return str(_person_uuid(a))


def personal_data_report(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    actor = cx.ctx.actor
    person_id = cx.param(sel, _person_uuid, "uuid")
    grant = actor.grant("person", "report")
    may = person_predicate(grant, actor) if grant else false()
    p = (select(Person.__table__, may.label("_may"))
         .where(Person.tenant_id == cx.tenant_id, Person.id == person_id,
                person_predicate(actor.grant("person", "read"), actor)).subquery("pdp"))
    cx.guards.append(exists(select(p.c.id).where(p.c._may)))  # else NOT_FOUND or FORBIDDEN
    tenant = f"'{cx.tenant_id}'::uuid"
    household = (f"(SELECT persons.household_id FROM persons WHERE persons.tenant_id = {tenant} "
                 f"AND persons.id = {person_id})")
    naming = (text(records_sql(tenant, str(person_id), household, postgres=True))
              .columns(t=String(), c=String(), k=String(), row_id=Uuid(), created_at=UTCDateTime())
              .subquery("pdn"))
    h = Household.__table__.alias("pdh")
    own = union_all(
        select(lit("persons").label("t"), lit("id").label("c"), lit("person").label("k"), p.c.id.label("row_id"),
               p.c.created_at, literal(0, Integer).label("g")).select_from(p),
        select(lit("households"), lit("id"), lit("household"), p.c.household_id,
               select(h.c.created_at).where(h.c.tenant_id == cx.tenant_id, h.c.id == p.c.household_id)
               .scalar_subquery(), literal(1, Integer)).select_from(p).where(p.c.household_id.is_not(None)),
        select(naming.c.t, naming.c.c, naming.c.k, naming.c.row_id, naming.c.created_at, literal(2, Integer)))
    n = len(cx.slots)  # one report per alias: CTEs of their own
    records = own.cte(f"pd_records{n}")
    a = AuditEntry.__table__
    u = User.__table__.alias("pdu")
    reads = (select(a.c.id, a.c.created_at, a.c.user_id, a.c.roles, a.c.request_id, u.c.display_name)
             .select_from(a.outerjoin(u, u.c.id == a.c.user_id))
             .where(a.c.tenant_id == cx.tenant_id, *full_read_filters(
                 cx.param(sel, _needle, "text"), cx.param(sel, _subject, "text"), cx.tenant_id))
             .cte(f"pd_reads{n}"))
    counts = func.json_build_array(cast(p.c.id, Text), select(func.count()).select_from(records).scalar_subquery(),
                                   select(func.count()).select_from(reads).scalar_subquery())
    report = first_key("$report", counts, cx.sub("PersonalDataReport", sel, _Report(p, records, reads)))
    return select(report).select_from(p).scalar_subquery()


class _Report:
    """The report's row: the person (``p``, for the Person fields), and the records' and reads' CTEs."""

    def __init__(self, p: Any, records: CTE, reads: CTE) -> None:
        self.p = p
        self.c = p.c
        self.records = records
        self.reads = reads


def _records(cx: Compiler, r: _Report, s: Sel) -> ColumnElement[Any]:
    """The records in the resolvers' order, each object's JSON text written by concatenation
    (``_record_text``): json_build_object asks the catalog for each value's type and output function
    on every row (issue #21: a subject with a few hundred records, as the portal mix's resident after
    a few runs, spent ≈ 0.7 ms of PostgreSQL's CPU per report on it, bench/RESULTS.md h-pdr)."""
    rec = r.records
    keys = [rec.c.g, rec.c.t.collate("C"), rec.c.c.collate("C"), cast(rec.c.row_id, Text).collate("C")]
    listed = func.string_agg(_record_text(cx, s, rec), aggregate_order_by(lit(", "), *keys))
    return (select(cast(lit("[") + func.coalesce(listed, lit("")) + lit("]"), JSON))
            .select_from(rec).scalar_subquery())


def _quoted(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return lit('"') + value + lit('"')


# A record's values as JSON text. Tables, columns and kinds are the metadata's names ([a-z0-9_]: no
# character JSON escapes), the row id a uuid's text, the time iso()'s — none needs escaping.
_RECORD_TEXT: dict[str, Any] = {
    "table": lambda rec: _quoted(rec.c.t),
    "column": lambda rec: _quoted(rec.c.c),
    "link": lambda rec: _quoted(func.upper(rec.c.k)),
    "rowId": lambda rec: _quoted(cast(rec.c.row_id, Text)),
    "createdAt": lambda rec: func.coalesce(_quoted(iso(rec.c.created_at)), lit("null")),
    "__typename": lambda _rec: lit('"PersonalDataRecord"'),
}


def _record_text(cx: Compiler, s: Sel, rec: Any) -> ColumnElement[Any]:
    """One record as json_build_object writes it ({"key" : value, …}), keys and aliases as selected:
    GraphQL names, which need no escaping either."""
    type_ = cx.schema.get_type("PersonalDataRecord")
    assert isinstance(type_, GraphQLObjectType)
    sels = cx.collect(type_, cx.subsets(s))
    unknown = [sel.name for sel in sels if sel.name not in _RECORD_TEXT]
    if unknown:
        raise Unsupported(f"PersonalDataRecord.{unknown[0]}")
    pairs = [lit(f'"{sel.key}" : ') + _RECORD_TEXT[sel.name](rec) for sel in sels]
    out: ColumnElement[Any] = lit("{")
    for i, pair in enumerate(pairs):
        out = out + (pair if i == 0 else lit(", ") + pair)
    return out + lit("}")


def _via(cx: Compiler, rd: Any) -> ColumnElement[Any]:
    """[action, purpose] of the request's entry the resolvers name: the last one with a purpose (a
    non-empty string; any other JSON value but null is handed to the general path), else the first."""
    sib = AuditEntry.__table__.alias("pds")
    same = (sib.c.tenant_id == cx.tenant_id, sib.c.request_id == rd.c.request_id,
            sib.c.action != lit("person.read_pii"))
    purpose = sib.c.detail.op("->")(lit("purpose"))
    kind = func.json_typeof(purpose)
    stated = case((func.json_typeof(sib.c.detail) != lit("object"), false()),
                  (kind == lit("string"), purpose.op("#>>")(literal_column("'{}'")) != lit("")),
                  (kind == lit("null"), false()), (kind.is_(None), false()), else_=null())
    with_purpose = (select(case((stated.is_(None), DECLINE), else_=func.json_build_array(
        sib.c.action, purpose.op("#>>")(literal_column("'{}'")))))
        .where(*same, stated.is_not(False)).order_by(sib.c.id.desc()).limit(1).scalar_subquery())
    first = (select(func.json_build_array(sib.c.action, null())).where(*same).order_by(sib.c.id).limit(1)
             .scalar_subquery())
    return case((func.coalesce(rd.c.request_id, lit("")) == lit(""), null()),
                else_=func.coalesce(with_purpose, first))


def _full_reads(cx: Compiler, r: _Report, s: Sel) -> ColumnElement[Any]:
    rd = r.reads
    order = func.row_number().over(order_by=[rd.c.created_at, rd.c.id])
    ranked = select(rd, _via(cx, rd).label("_via"), order.label("_rn")).subquery("pdrd")
    listed = json_list(cx.sub("PersonalDataRead", s, ranked), ranked.c._rn)
    return select(listed).select_from(ranked).scalar_subquery()


def _via_of(i: int, default: str | None) -> Any:
    """The entry's action (0) or purpose (1) as a JSON string; a "$decline" object stays one."""
    def read(_cx: Compiler, rd: Any, _s: Sel) -> ColumnElement[Any]:
        value: ColumnElement[Any] = rd.c._via.op("->>")(literal_column(str(i)))
        if default is not None:
            value = func.coalesce(value, lit(default))
        return case((func.json_typeof(rd.c._via) == lit("object"), DECLINE), else_=func.to_json(cast(value, Text)))
    return read


PERSONAL_DATA_REPORT: FieldTable = {
    "person": lambda cx, r, s: cx.sub("Person", s, r.p),
    "erased": lambda cx, r, _s: exists(select(PersonErasure.id).where(PersonErasure.tenant_id == cx.tenant_id,
                                                                       PersonErasure.person_id == r.c.id)),
    "records": _records,
    "fullReads": _full_reads,
}
PERSONAL_DATA_RECORD: FieldTable = {
    "table": lambda _cx, rec, _s: rec.c.t,
    "column": lambda _cx, rec, _s: rec.c.c,
    "link": lambda _cx, rec, _s: func.upper(rec.c.k),  # PersonalDataLink: the value's name is its upper case
    "rowId": lambda _cx, rec, _s: cast(rec.c.row_id, Text),
    "createdAt": lambda _cx, rec, _s: iso(rec.c.created_at),
}
PERSONAL_DATA_READ: FieldTable = {
    "at": lambda _cx, rd, _s: iso(rd.c.created_at),
    "userId": lambda _cx, rd, _s: case((rd.c.user_id.is_(None), null()), else_=gid("User", rd.c.user_id)),
    "userName": lambda _cx, rd, _s: rd.c.display_name,
    "roles": lambda _cx, rd, _s: rd.c.roles,
    "via": _via_of(0, "query"),
    "purpose": _via_of(1, None),
    "requestId": lambda _cx, rd, _s: rd.c.request_id,
}
TABLES: dict[str, FieldTable] = {"Query": {"personalDataReport": personal_data_report},
                                 "PersonalDataReport": PERSONAL_DATA_REPORT,
                                 "PersonalDataRecord": PERSONAL_DATA_RECORD, "PersonalDataRead": PERSONAL_DATA_READ}
