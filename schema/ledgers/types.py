"""Ledgers (台账, issue #11) in GraphQL: the progress of household register imports. The files
themselves travel over HTTP (``/ledgers/...``, see gongzhi/http/ledgers.py)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from models import ImportJob as ImportJobRow
from models import ImportStatus as _ImportStatus
from resolvers.ids import decode_id, encode_global_id
from resolvers.ledgers import register_jobs as jobs
from resolvers.pagination import keyset_page
from schema.columns import column_field
from schema.common import Connection, Node, connection, context, field, query_call


@strawberry.enum(name="ImportJobStatus", description="Where an import job stands (导入任务状态).")
class ImportJobStatus(enum.Enum):
    PENDING = strawberry.enum_value(_ImportStatus.PENDING.value, description="Waiting to start (排队).")
    VALIDATING = strawberry.enum_value(_ImportStatus.VALIDATING.value,
                                       description="Reading and checking every row (校验中).")
    IMPORTING = strawberry.enum_value(_ImportStatus.IMPORTING.value,
                                      description="Writing, in one transaction (导入中).")
    SUCCEEDED = strawberry.enum_value(_ImportStatus.SUCCEEDED.value,
                                      description="Done; a dry run that found no error ends here too (已完成).")
    REJECTED = strawberry.enum_value(_ImportStatus.REJECTED.value, description=(
        "Bad rows or an unreadable file: nothing written; see the report (校验未通过)."))
    FAILED = strawberry.enum_value(_ImportStatus.FAILED.value,
                                   description="The database refused the import: nothing written (导入失败).")


@strawberry.enum(name="ImportJobKind", description="What an import job imports (导入类型).")
class ImportJobKind(enum.Enum):
    REGISTER = strawberry.enum_value("register", description="A household register file (户籍登记).")
    ONBOARDING = strawberry.enum_value("onboarding", description="The onboarding workbook: areas, firms and "
                                                                 "contracts (区域与物业).")


@strawberry.type(description="An import job (导入任务): of a household register file, or of the onboarding "
                             "workbook (区域与物业导入: areas, firms, contracts); its progress and outcome.")
class ImportJob(Node):
    _m: strawberry.Private[ImportJobRow]

    @field(description="What is imported (导入类型): a register file or the onboarding workbook.")
    def kind(self) -> ImportJobKind:
        return ImportJobKind(self._m.kind)

    file_name = column_field("file_name", str, description="The uploaded file's name (文件名).")

    file_sha256 = column_field(
        "file_sha256", str, description="SHA-256 of the uploaded file (文件摘要): the same file sent twice "
                                        "has the same.")

    dry_run = column_field("dry_run", bool, description="A dry run (试运行): checked and reported, nothing written.")

    create_areas = column_field(
        "create_areas", bool, description="Missing communities, compounds and buildings may be created (允许新建区域).")

    @field(description="Status (状态).")
    def status(self) -> ImportJobStatus:
        return ImportJobStatus(self._m.status.value)

    total = column_field("total", int, description="Data rows in the file (总行数); 0 until the file is read.")

    processed = column_field("processed", int, description="Rows checked or imported so far (已处理).")

    error_rows = column_field("errors", int,
                              description="Rows with an error (错误行数): any makes the whole import write nothing.")

    created_areas = column_field("created_areas", int,
                                 description="Areas created (新建区域数); on a dry run, those that would be.")

    created_firms = column_field(
        "created_firms", int, description="Property firms created by an onboarding workbook (新建物业公司数); on a "
                                          "dry run, those that would be; 0 for a register import.")

    created_contracts = column_field(
        "created_contracts", int, description="Service contracts created by an onboarding workbook (新建服务合同数); "
                                              "on a dry run, those that would be; 0 for a register import.")

    created_households = column_field("created_households", int, description="Households created (新建住户数).")

    created_persons = column_field("created_persons", int, description="Persons created (新增人员数).")

    unchanged = column_field("unchanged", int,
                             description="Rows already on the register with the same name and household, left "
                                         "unchanged (已登记未变更).")

    message = column_field("message", str | None,
                           description="Summary of the outcome or why the file was refused (结果说明).")

    @field(description="Path of the per-row report (校验报告): the file's layout plus 错误原因/error; "
                                  "GET it with the same bearer token.")
    def report_url(self) -> str | None:
        if self._m.report_key is None:
            return None
        base = "/onboarding/imports" if self._m.kind == "onboarding" else "/ledgers/register-imports"
        return f"{base}/{encode_global_id('ImportJob', self._m.id)}/report"

    created_at = column_field("created_at", datetime, description="Started at (创建时间).")

    finished_at = column_field("finished_at", datetime | None,
                               description="Finished at (完成时间); null while it runs.")


@strawberry.type
class LedgerQuery:
    @field(description="An import job (导入任务) you started; the street admin reads every job "
                                  "of the tenant.")
    async def import_job(
        self, info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global ID of the import job.")],
    ) -> ImportJob | None:
        job = await query_call(jobs.get_job(context(info), decode_id(id, "ImportJob")))
        return None if job is None else ImportJob(_m=job)

    @field(description="Import jobs (导入任务), newest first: your own; the street admin reads all "
                                  "of the tenant's.")
    async def import_jobs(self, info: Info, first: int | None = None, after: str | None = None
                          ) -> Connection[ImportJob]:
        ctx = context(info)
        page = await query_call(keyset_page(ctx.db, select(ImportJobRow).where(jobs.job_read_predicate(ctx)),
                                            ImportJobRow.id, first=first, after=after, descending=True))
        return connection(page, lambda m: ImportJob(_m=m))  # type: ignore[no-any-return]


NODE_TYPES = (ImportJob,)
