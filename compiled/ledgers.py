"""The compiled import jobs (导入任务, issue #21): ``importJobs(first:, after:)`` and ``importJob(id:)`` as the
resolvers read them — ``resolvers.ledgers.job_read_predicate`` (your own jobs; the street admin's grant reads
every job); the list newest first by id, the cursors and page of every keyset list
(``compiled.fields.connection``). The fields are the strawberry type's column declarations; kind and status
are the columns' values as the type's enums name them (the resolvers build the enum from the stored value).
reportUrl is not compiled: asked, the request runs through strawberry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select

from compiled.compiler import Compiler, FieldTable, Sel, id_arg
from compiled.fields import CONNECTION, EDGE, connection, enum_of
from compiled.sorted_lists import node_fields
from compiled.sql import gid
from models import ImportJob
from resolvers.ledgers import job_read_predicate
from schema.ledgers import ImportJob as ImportJobType
from schema.ledgers import ImportJobKind, ImportJobStatus


def import_jobs(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    stmt = select(ImportJob.__table__).where(ImportJob.tenant_id == cx.tenant_id, job_read_predicate(cx.ctx))
    return connection(cx, sel, stmt, ImportJob.id, descending=True, node_type="ImportJob")


def import_job(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.ledgers.get_job: the job by its id if job_read_predicate lets the actor read it, else null;
    an id that is not an ImportJob's is the schema's decode_id error (Unsupported: strawberry gives it)."""
    j = ImportJob.__table__
    job_id = cx.param(sel, id_arg("id", "ImportJob"), "uuid")
    return (select(cx.sub("ImportJob", sel, j))
            .where(j.c.tenant_id == cx.tenant_id, j.c.id == job_id, job_read_predicate(cx.ctx))
            .scalar_subquery())


IMPORT_JOB: FieldTable = {
    "id": lambda _cx, j, _s: gid("ImportJob", j.c.id),
    **node_fields(ImportJobType),  # fileName, total, processed, createdAt …
    "kind": enum_of("kind", ImportJobKind),
    "status": enum_of("status", ImportJobStatus),
}

TABLES: dict[str, FieldTable] = {"Query": {"importJobs": import_jobs, "importJob": import_job},
                                 "ImportJob": IMPORT_JOB, "ImportJobConnection": CONNECTION, "ImportJobEdge": EDGE}
