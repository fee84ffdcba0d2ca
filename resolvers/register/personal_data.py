"""A data subject's report (PIPL art. 44–45): every record that names a person — derived from the
tables' columns, so a new table with a person, household or user reference is in it without anyone
remembering — and every full (unmasked) read of their data from the audit log, with who, when and
why. The street admin produces it; producing it is audited."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    String,
    Table,
    TextualSelect,
    Uuid,
    bindparam,
    cast,
    exists,
    false,
    literal_column,
    select,
    text,
)

from models import AuditEntry, AuditPiiRead, Base, Household, Person, PersonErasure, User
from models.base import UTCDateTime
from policies.filters import person_predicate
from resolvers.context import RequestContext, audit_entry
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

# What a reference names: the person, their household (dwelling), or a login account linked to them.
PERSON, HOUSEHOLD, USER = "person", "household", "user"
_TARGET_KIND = {"persons": PERSON, "households": HOUSEHOLD, "users": USER}
# Columns that name a user (an account, hence maybe the subject) without a foreign key saying so.
USER_NAME = re.compile(r"(^|_)user_id$|_by$")
PERSON_NAME = re.compile(r"(^|_)person_id$")
HOUSEHOLD_NAME = re.compile(r"(^|_)household_id$")

# Tables left out of the walk, each with the reason; the test of the walk fails on anything else.
NOT_WALKED: dict[str, str] = {
    "persons": "the person's own row: the report's first record",
    "audit_log": "append-only; the report lists the full reads of the person from it (fullReads)",
    "audit_pii_reads": "the ids each full read of audit_log named, how the report finds those reads (fullReads)",
    "person_erasures": "the erasure list keeps no personal data, only that the person was erased",
    "privacy_settings": "a tenant setting (who changed it last)",
    "casbin_rules": "policy lines, no person in them",
    "audit_chain_heads": "the audit chain's head, no person in it",
    "audit_checkpoints": "the audit chain's checkpoints, no person in them",
}


@dataclass(frozen=True)
class Reference:
    table: str
    column: str
    kind: str  # PERSON, HOUSEHOLD or USER


def _kind(col: Column[Any]) -> str | None:
    for fk in col.foreign_keys:
        target = fk.column
        if target.name == "id" and target.table.name in _TARGET_KIND:
            return _TARGET_KIND[target.table.name]
    if not isinstance(col.type, Uuid):
        return None
    if PERSON_NAME.search(col.name):
        return PERSON
    if HOUSEHOLD_NAME.search(col.name):
        return HOUSEHOLD
    if USER_NAME.search(col.name):
        return USER
    return None


def tenant_tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if "tenant_id" in t.c]


def references() -> tuple[Reference, ...]:
    """Every (table, column) of a tenant table that names a person, a household or a user."""
    out: list[Reference] = []
    for table in tenant_tables():
        if table.name in NOT_WALKED:
            continue
        for col in table.c:
            kind = _kind(col)
            if kind is not None:
                out.append(Reference(table.name, col.name, kind))
    return tuple(out)


@dataclass(frozen=True)
class Record:
    table: str
    column: str
    kind: str
    row_id: uuid.UUID
    created_at: datetime | None


@dataclass(frozen=True)
class FullRead:
    at: datetime
    user_id: uuid.UUID | None
    user_name: str | None
    roles: str
    action: str  # what read it: the query, or the full export
    purpose: str | None
    request_id: str | None


@dataclass(frozen=True)
class Report:
    person: Person
    erased: bool
    records: list[Record]
    full_reads: list[FullRead]


async def _reportable(ctx: RequestContext, person_id: uuid.UUID, action: str, field: str,
                      *extra: ColumnElement[Any]) -> tuple[Person, tuple[Any, ...]]:
    """reportable_person in one statement: the person under the read predicate, whether the
    ``person · <action>`` grant reaches them as a column beside it, and ``extra`` columns of theirs."""
    grant = ctx.actor.grant("person", action)
    may = person_predicate(grant, ctx.actor) if grant else false()
    row: Any = (await ctx.db.execute(
        select(Person, may.label("may"), *extra)
        .where(Person.id == person_id, person_predicate(ctx.actor.grant("person", "read"), ctx.actor)))).first()
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), field)
    if not row[1]:  # NULL (a comparison with no household) is no reach, as in a WHERE
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权处理该居民的个人信息请求",
                                                  "you may not handle this person's personal-data requests"), field)
    return row[0], tuple(row[2:])


async def reportable_person(ctx: RequestContext, person_id: uuid.UUID, action: str, field: str) -> Person:
    """The person, if the actor's ``person · <action>`` grant reaches them (NOT_FOUND otherwise: a
    person the actor cannot read is not told apart from one that does not exist)."""
    return (await _reportable(ctx, person_id, action, field))[0]


def records_sql(tenant_id: str, person_id: str, household_id: str, *, postgres: bool = False) -> str:
    """Every row of every tenant table that names a subject: columns t, c, k, row_id, created_at, with
    the tenant, the person and the household as the SQL given (parameters, or the compiled read's,
    compiled/personal_data.py) and the accounts read from ``members``. A NULL household matches no row,
    as it named none. The names are the metadata's own (tables and columns of ``references()``), never
    input. A row naming the subject in two columns is two records; the order of the rows is not given.

    Portable (SQLite): a UNION ALL of a SELECT per referencing column. ``postgres``: one scan per table
    instead (issue #21: 69 columns in 40 tables; the per-column text cost PostgreSQL ≈ 0.9 ms a run and
    ≈ 6 ms a plan, nearly all of it per scan — bench/RESULTS.md, h-pdr): the accounts and the household
    read once, each table's columns tested in one WHERE (its indexes as before), and a matching row's
    referencing values then unnested and matched, column by column, once for all tables. Both give the
    same rows (tests/register/test_personal_data_shape.py)."""
    if postgres:
        return _records_sql_pg(tenant_id, person_id, household_id)
    parts = []
    for ref in references():
        col = f"{ref.table}.{ref.column}"
        match = (f"{col} = {person_id}" if ref.kind == PERSON else f"{col} = {household_id}" if ref.kind == HOUSEHOLD
                 else f"{col} IN (SELECT members.user_id FROM members WHERE members.tenant_id = {tenant_id} "
                      f"AND members.person_id = {person_id})")
        parts.append(f"SELECT '{ref.table}' AS t, '{ref.column}' AS c, '{ref.kind}' AS k, {ref.table}.id AS row_id, "
                     f"{ref.table}.created_at AS created_at FROM {ref.table} "
                     f"WHERE {ref.table}.tenant_id = {tenant_id} AND {match}")
    return "\nUNION ALL\n".join(parts)


def _records_sql_pg(tenant_id: str, person_id: str, household_id: str) -> str:
    # The subject (household, accounts) read once and joined once, LATERAL, to the scans that use it (issue #21:
    # joined to each of the 35 tables naming a household or an account, the plan had a join and a scan of the
    # subject per table: ≈ 120 plan nodes more to start and end on every report; bench/RESULTS.md, h-pdr, fifth).
    by_table: dict[str, list[Reference]] = {}
    for ref in references():
        by_table.setdefault(ref.table, []).append(ref)
    scans, columns = [], []
    for table, refs in by_table.items():
        def match(ref: Reference, table: str = table) -> str:
            col = f"{table}.{ref.column}"
            return (f"{col} = {person_id}" if ref.kind == PERSON else f"{col} = pd_subject.household_id"
                    if ref.kind == HOUSEHOLD else f"{col} = ANY(pd_subject.user_ids)")
        values = ", ".join(f"{table}.{r.column}" for r in refs)
        scans.append(f"SELECT '{table}' AS t, {table}.id AS row_id, {table}.created_at AS created_at, "
                     f"ARRAY[{values}]::uuid[] AS refs FROM {table} "
                     f"WHERE {table}.tenant_id = {tenant_id} AND ({' OR '.join(match(r) for r in refs)})")
        columns += [f"('{table}', {i}, '{r.column}', '{r.kind}')" for i, r in enumerate(refs, 1)]
    # Each matching row's referencing values, by position, against its table's columns and what each names.
    return (f"WITH pd_subject AS MATERIALIZED (SELECT CAST({household_id} AS uuid) AS household_id, "
            f"ARRAY(SELECT members.user_id FROM members WHERE members.tenant_id = {tenant_id} "
            f"AND members.person_id = {person_id}) AS user_ids)\n"
            f"SELECT pd_row.t, pd_col.c, pd_col.k, pd_row.row_id, pd_row.created_at FROM pd_subject "
            f"CROSS JOIN LATERAL (\n"
            + "\nUNION ALL\n".join(scans) +
            f"\n) AS pd_row CROSS JOIN LATERAL unnest(pd_row.refs) WITH ORDINALITY AS pd_ref(v, i) "
            f"JOIN (VALUES {', '.join(columns)}) AS pd_col(t, i, c, k) ON pd_col.t = pd_row.t AND pd_col.i = pd_ref.i "
            f"WHERE CASE pd_col.k WHEN '{PERSON}' THEN pd_ref.v = {person_id} "
            f"WHEN '{HOUSEHOLD}' THEN pd_ref.v = pd_subject.household_id ELSE pd_ref.v = ANY(pd_subject.user_ids) END")


@lru_cache(maxsize=2)
def _records_statement(postgres: bool) -> TextualSelect:
    """``records_sql`` with the tenant, the person and the household as parameters, written once per
    process and dialect (issue #21: building it as a SQLAlchemy statement per request cost milliseconds,
    and even a cached one a cache key over a few hundred elements)."""
    return (text(records_sql(":tenant_id", ":person_id", ":household_id", postgres=postgres))
            .bindparams(bindparam("tenant_id", type_=Uuid()), bindparam("person_id", type_=Uuid()),
                        bindparam("household_id", type_=Uuid()))
            .columns(t=String(), c=String(), k=String(), row_id=Uuid(), created_at=UTCDateTime()))


async def records_naming(ctx: RequestContext, person_id: uuid.UUID, household_id: uuid.UUID | None) -> list[Record]:
    """Every row of every tenant table that names the person, their household or their accounts —
    one statement, however many tables there are."""
    params = {"tenant_id": ctx.tenant.id, "person_id": person_id, "household_id": household_id}
    statement = _records_statement(ctx.db.session.get_bind().dialect.name == "postgresql")
    result = await ctx.db.locked(lambda: ctx.db.session.execute(statement, params))
    rows: list[Any] = list(result.all())
    out = [Record(r[0], r[1], r[2], r[3], r[4]) for r in rows]
    out.sort(key=lambda r: (r.table, r.column, str(r.row_id)))
    return out


def full_read_filters(needle: str | ColumnElement[str], subject: str | ColumnElement[str],
                      tenant_id: uuid.UUID | ColumnElement[uuid.UUID]) -> list[ColumnElement[bool]]:
    """The audit rows of full reads naming the person: ``needle`` is their uuid as a JSON string, as the
    ids' JSON text holds it, ``subject`` the uuid's text. The compiled report (compiled/personal_data.py)
    filters with this too.

    The rows are looked up in ``audit_pii_reads`` (the ids of each full read, written with it; migration
    0049) by the id's text — an equality, which row-level security lets an index serve — so a report
    reads the person's full reads, not the tenant's every one (issue #21: in the portal mix each register
    page writes one, and at 5,700 of them the scan was 16 of the report's 20 ms of PostgreSQL CPU). The
    filters on the row itself stay as they were: the action (in the text, not a parameter: it let a plan
    prove 0047's partial index, which 0051 dropped as unused since 0049) and the id in its JSON text."""
    reads = AuditPiiRead.__table__
    return [AuditEntry.id.in_(select(reads.c.id).where(reads.c.tenant_id == tenant_id, reads.c.object_id == subject)),
            AuditEntry.action == literal_column("'person.read_pii'"),
            cast(AuditEntry.object_ids, String).contains(needle)]


async def full_reads(ctx: RequestContext, person_id: uuid.UUID) -> list[FullRead]:
    """Every audited full read of the person (``person.read_pii``), with the request's stated purpose
    where it had one (a full export's)."""
    found: list[Any] = list((await ctx.db.execute(
        select(AuditEntry, User.display_name).outerjoin(User, User.id == AuditEntry.user_id)
        .where(*full_read_filters(f'"{person_id}"', str(person_id), ctx.tenant.id))
        .order_by(AuditEntry.created_at, AuditEntry.id))).all())
    rows = [f[0] for f in found]
    names = {f[0].user_id: f[1] for f in found if f[0].user_id is not None and f[1] is not None}
    request_ids = {r.request_id for r in rows if r.request_id}
    why: dict[str, tuple[str, str | None]] = {}
    if request_ids:
        # the action in the text, not a parameter: a generic plan then still proves the request index's predicate
        # (migration 0063: it leaves the full reads' own entries out)
        for sib in await ctx.db.scalars(select(AuditEntry).where(
                AuditEntry.request_id.in_(request_ids), AuditEntry.action != literal_column("'person.read_pii'"))):
            purpose = sib.detail.get("purpose") if isinstance(sib.detail, dict) else None
            if sib.request_id and (sib.request_id not in why or purpose):
                why[sib.request_id] = (sib.action, str(purpose) if purpose else None)
    out = []
    for r in rows:
        action, purpose = why.get(r.request_id or "", ("query", None))
        out.append(FullRead(r.created_at, r.user_id, names.get(r.user_id) if r.user_id else None, r.roles, action,
                            purpose, r.request_id))
    return out


async def personal_data_report(ctx: RequestContext, person_id: uuid.UUID) -> Report:
    household_created = (select(Household.created_at).where(Household.id == Person.household_id)
                         .correlate(Person).scalar_subquery())
    erased = exists(select(PersonErasure.id).where(PersonErasure.person_id == Person.id).correlate(Person))
    p, (household_created_at, is_erased) = await _reportable(ctx, person_id, "report", "personId",
                                                             household_created, erased)
    records = [Record("persons", "id", PERSON, p.id, p.created_at)]
    if p.household_id is not None:
        records.append(Record("households", "id", HOUSEHOLD, p.household_id, household_created_at))
    records += await records_naming(ctx, p.id, p.household_id)
    reads = await full_reads(ctx, p.id)
    report_audit(ctx, p.id, len(records), len(reads))
    return Report(p, bool(is_erased), records, reads)


def report_audit(ctx: RequestContext, person_id: uuid.UUID, records: int, reads: int) -> None:
    """The report's own audit entry (appended in the request's commit); the compiled report's too."""
    ctx.audit.append(report_entry(ctx, person_id, records, reads))


REPORTED = "person.report"  # the report's entry's action


def report_entry(ctx: RequestContext, person_id: uuid.UUID, records: int, reads: int) -> AuditEntry:
    """The report's audit entry: the person, how many records and full reads it listed (a compiled read's own
    statement may fill those in: gongzhi.http.read_audit). Made without the ORM's instrumented constructor
    (``audit_entry``; issue #21: ≈ 0.1 ms of a report's server CPU), the same values."""
    return audit_entry(
        user_id=ctx.actor.user_id, roles=",".join(r.value for r in ctx.actor.roles), action=REPORTED,
        object_type="person", object_ids=[str(person_id)], detail={"records": records, "fullReads": reads},
        request_id=ctx.request_id, client_addr=ctx.client_addr, created_at=ctx.now)
