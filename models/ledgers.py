"""Spreadsheet imports (issue #11): one row per import of a household register file (or, issue #23, of
the onboarding workbook: areas, firms, contracts), tenant-scoped.

The row is written before the import starts and updated as it goes (status, processed, errors) in
transactions of its own, so a client polls progress while the import's one transaction is open."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped
from models.base import enum_column as _enum


class ImportStatus(enum.StrEnum):
    PENDING = "pending"  # 排队
    VALIDATING = "validating"  # 校验中
    IMPORTING = "importing"  # 导入中
    SUCCEEDED = "succeeded"  # 已完成 (a dry run that found no error ends here too)
    REJECTED = "rejected"  # 校验未通过: nothing written, the report names the rows
    FAILED = "failed"  # 出错: nothing written


class ImportJob(TenantScoped, Base):
    __tablename__ = "import_jobs"
    __audit__ = False
    __table_args__ = (Index("ix_import_jobs_user", "tenant_id", "user_id"),)

    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32), default="register")
    file_name: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    create_areas: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[ImportStatus] = mapped_column(_enum(ImportStatus, 16))
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    created_areas: Mapped[int] = mapped_column(Integer, default=0)
    created_households: Mapped[int] = mapped_column(Integer, default=0)
    created_persons: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    # The onboarding workbook's jobs (kind "onboarding", issue #23): firms and service contracts.
    created_firms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_contracts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    message: Mapped[str | None] = mapped_column(String(1000))
    # Where the per-row report (the file's layout plus 错误原因/error) is kept (under the upload dir).
    report_key: Mapped[str | None] = mapped_column(String(200))
    finished_at: Mapped[datetime | None]
