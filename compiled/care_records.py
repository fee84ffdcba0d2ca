"""The compiled service records (服务记录, issue #21): ``careServiceRecords(personId:, serviceId:, first:,
after:)`` in one statement, like the notices list (compiled/notices.py).

The rows are the resolvers' own: ``resolvers.care.service_record_filters`` (of persons the actor may read
in full, of the person, of the service), newest first by id. Every record on the page is a full read of
its person, whatever fields were selected (``list_service_records`` records them for the audit): the
page's persons come as a "$reads" key (compiled.sql.reads_marker) that compiled.plans.finish takes out
and records, so the audit entry is the one the resolvers write, in the read's own transaction. The
record's service is read as the service loader reads it (care_service·read), its person as the person
loader (person·read) and then by the compiled Person fields (masking, audited full reads)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased

from compiled.compiler import Compiler, FieldTable, Sel, given_id
from compiled.fields import CONNECTION, EDGE, column, connection, timestamp
from compiled.sql import gid
from models import CareService, CareServiceRecord, Person
from policies.care import care_service_predicate
from policies.filters import person_predicate
from resolvers.care import service_record_filters


def care_service_records(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    filters = service_record_filters(cx.ctx, person_id=given_id(cx, sel, "personId", "Person"),
                                     service_id=given_id(cx, sel, "serviceId", "CareService"))
    stmt = select(CareServiceRecord.__table__).where(CareServiceRecord.tenant_id == cx.tenant_id, *filters)
    return connection(cx, sel, stmt, CareServiceRecord.id, descending=True, node_type="CareServiceRecord",
                      reads="person_id")


def _service(cx: Compiler, r: Any, s: Sel) -> ColumnElement[Any]:
    """care_service_by_id: the service by id, under the service lists' read predicate."""
    sa = aliased(CareService, name="rs")
    t = sa_inspect(sa).selectable
    return (select(cx.sub("CareService", s, t)).select_from(t)
            .where(t.c.tenant_id == cx.tenant_id, t.c.id == r.c.service_id,
                   care_service_predicate(cx.ctx.actor.grant("care_service", "read"), sa))
            .correlate_except(t).scalar_subquery())


def _person(cx: Compiler, r: Any, s: Sel) -> ColumnElement[Any]:
    """loaders.person_by_id: the person if the actor may read them (person·read)."""
    pa = aliased(Person, name="rp")
    p = sa_inspect(pa).selectable
    return (select(cx.sub("Person", s, p)).select_from(p)
            .where(p.c.tenant_id == cx.tenant_id, p.c.id == r.c.person_id,
                   person_predicate(cx.ctx.actor.grant("person", "read"), cx.ctx.actor, pa))
            .correlate_except(p).scalar_subquery())


CARE_SERVICE_RECORD: FieldTable = {
    "id": lambda _cx, r, _s: gid("CareServiceRecord", r.c.id),
    "service": _service,
    "person": _person,
    "providedAt": timestamp("provided_at"),
    "providedBy": column("provided_by"),
    "note": column("note"),
}
TABLES: dict[str, FieldTable] = {"Query": {"careServiceRecords": care_service_records},
                                 "CareServiceRecord": CARE_SERVICE_RECORD,
                                 "CareServiceRecordConnection": CONNECTION, "CareServiceRecordEdge": EDGE}
