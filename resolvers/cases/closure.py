"""Honest closure (issue #22): what a resolution must carry and when it waits for a reviewer.

- A category the tenant marks ``requires_photo`` (``case_category_rules``) is resolved only with at
  least one photo of the result: PHOTO_REQUIRED otherwise, and nothing is written.
- A resolution sooner after the start of 处置 (the dispatch, a transfer or a rework) than the tenant's
  ``min_handling_minutes`` (``case_workflow_settings``) is flagged (``cases.closure_flagged``): the
  case stays resolved, and reviewers find it with ``cases(closureFlagged: true)`` until someone closes
  it after the check, sends it back for rework, or records the 回访.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from models import Case, CaseCategoryRule, CaseStage, CaseStageKind, CaseWorkflowSettings
from models.cases import aware
from resolvers.context import Db
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

__all__ = ["DEFAULT_MIN_HANDLING_MINUTES", "closure_check", "closure_verdict"]

DEFAULT_MIN_HANDLING_MINUTES = 30  # for a tenant without a settings row (tenants.provisioning has the same)


async def closure_check(db: Db, case: Case, photo_count: int, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """The values a resolution of ``case`` adds (the flag) and its timeline detail; PHOTO_REQUIRED when the
    category needs a photo and none is given."""
    needs_photo = await db.scalar(select(CaseCategoryRule.requires_photo)
                                  .where(CaseCategoryRule.category_code == case.category_code))
    if needs_photo and photo_count == 0:  # refused before the other reads, as ever
        closure_verdict(case, needs_photo, photo_count, None, None, now)
    minimum = await db.scalar(select(CaseWorkflowSettings.min_handling_minutes))
    started = await db.scalar(select(CaseStage.started_at).where(
        CaseStage.case_id == case.id, CaseStage.stage == CaseStageKind.HANDLE, CaseStage.completed_at.is_(None)))
    return closure_verdict(case, needs_photo, photo_count, minimum, started, now)


def closure_verdict(case: Any, needs_photo: bool | None, photo_count: int, minimum: int | None,
                    started: datetime | None, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """``closure_check`` on what it reads: whether the category needs a photo, the tenant's minimum handling
    minutes, when the open 处置 stage started (a step on the driver reads them in its checks,
    resolvers.cases.steps_fast)."""
    if needs_photo and photo_count == 0:
        raise ServiceError(ErrorCode.PHOTO_REQUIRED, t("该类别的事件办结时须上传现场照片",
                                                       "this category is resolved only with a photo of the result"),
                           "photoIds")
    minimum = DEFAULT_MIN_HANDLING_MINUTES if minimum is None else int(minimum)
    started = started or case.dispatched_at
    if started is None or minimum <= 0:
        return {}, {}
    minutes = (now - aware(started)).total_seconds() / 60
    if minutes >= minimum:
        return {}, {}
    return {"closure_flagged": True}, {"flagged": "fast_closure", "handling_minutes": round(minutes, 1),
                                       "minimum_minutes": minimum}
