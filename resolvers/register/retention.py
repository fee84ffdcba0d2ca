"""Retention of closed matters (PIPL art. 19 and 47): a tenant keeps the personal details of a closed
matter for ``privacy_settings.retention_months`` months after its closure (default 36, at least 12),
then a periodic job removes them; the matter itself — its number, category, area, dates, state,
answer, satisfaction — stays for the statistics and ledgers. What each kind loses (docs/personal-data.md):

- a closed case: location text, coordinates, the reporter's feedback comment, its photos' link (and,
  after the job commits, their stored files);
- a visit (a visit is finished when recorded): what was found and the needs noted;
- a confirmed or cancelled wish: its description and the fulfilment note;
- a care service record: its note.

Idempotent: a row is touched only while it still holds a detail; each run is audited with the ids
it cleaned."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update

from models import (
    DEFAULT_RETENTION_MONTHS,
    MIN_RETENTION_MONTHS,
    Attachment,
    AuditEntry,
    CareServiceRecord,
    Case,
    CaseState,
    PrivacySettings,
    Visit,
    Wish,
    WishState,
)
from resolvers.context import Db, RequestContext
from resolvers.discarded_files import discard_after_commit
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

CLEARED = "（已按保存期限清除）"


def months_before(when: datetime, months: int) -> datetime:
    """The same moment ``months`` calendar months earlier (the day capped at the month's end)."""
    y, m = divmod(when.year * 12 + when.month - 1 - months, 12)
    m += 1
    day = when.day
    while True:
        try:
            return when.replace(year=y, month=m, day=day)
        except ValueError:
            day -= 1


async def retention_months(db: Db) -> int:
    months = await db.scalar(select(PrivacySettings.retention_months))
    return DEFAULT_RETENTION_MONTHS if months is None else int(months)


async def set_retention_months(ctx: RequestContext, months: int) -> PrivacySettings:
    if not ctx.actor.grant("privacy", "manage").all:
        raise ServiceError(ErrorCode.FORBIDDEN, t("只有街道管理员可以设置个人信息保存期限",
                                                  "only the street admin sets the retention of personal data"),
                           "months")
    if months < MIN_RETENTION_MONTHS or months > 600:
        raise ServiceError(ErrorCode.INVALID, t(f"保存期限应在 {MIN_RETENTION_MONTHS} 到 600 个月之间",
                                                f"months must be between {MIN_RETENTION_MONTHS} and 600"), "months")
    row: PrivacySettings | None = await ctx.db.scalar(select(PrivacySettings))
    if row is None:
        row = PrivacySettings(retention_months=months, updated_by=ctx.actor.user_id)
    else:
        row.retention_months = months
        row.updated_by = ctx.actor.user_id
    await ctx.db.flush(row)
    return row


async def _ids(db: Db, column: Any, *where: ColumnElement[bool]) -> list[uuid.UUID]:
    return list(await db.scalars(select(column).where(*where)))


async def apply_retention(db: Db, now: datetime) -> int:
    """Clear the personal details of the tenant's matters closed before the retention cutoff; the
    number of rows cleaned (0 on a second run)."""
    cutoff = months_before(now, await retention_months(db))
    cleaned: dict[str, list[str]] = {}

    cases = await _ids(db, Case.id, Case.state == CaseState.CLOSED, Case.closed_at.is_not(None),
                       Case.closed_at < cutoff,
                       or_(Case.location_text.is_not(None), Case.latitude.is_not(None),
                           Case.longitude.is_not(None), Case.feedback_comment.is_not(None)))
    photo_cases = await _ids(db, Attachment.id, Attachment.case_id.in_(
        select(Case.id).where(Case.state == CaseState.CLOSED, Case.closed_at.is_not(None), Case.closed_at < cutoff)))
    visits = await _ids(db, Visit.id, Visit.visited_at < cutoff,
                        or_(Visit.findings != CLEARED, Visit.needs.is_not(None)))
    wishes = await _ids(db, Wish.id, Wish.state.in_((WishState.CONFIRMED, WishState.CANCELLED)),
                        Wish.updated_at < cutoff, or_(Wish.description != "", Wish.fulfil_note.is_not(None)))
    records = await _ids(db, CareServiceRecord.id, CareServiceRecord.provided_at < cutoff,
                         CareServiceRecord.note.is_not(None))
    plan = (
        ("cases", Case, cases, {"location_text": None, "latitude": None, "longitude": None, "feedback_comment": None}),
        ("attachments", Attachment, photo_cases, {"case_id": None}),
        ("visits", Visit, visits, {"findings": CLEARED, "needs": None}),
        ("wishes", Wish, wishes, {"description": "", "fulfil_note": None}),
        ("care_service_records", CareServiceRecord, records, {"note": None}),
    )
    for name, model, ids, values in plan:
        if not ids:
            continue
        stmt = update(model).where(model.id.in_(ids)).values(**values).execution_options(synchronize_session=False)
        if model is Attachment:  # PIPL: the unlinked photos' files go too, once the job's transaction commits
            files = (await db.execute(stmt.returning(Attachment.storage_key, Attachment.thumbnail_key))).all()
            discard_after_commit(db.session, (k for row in files for k in row))
        else:
            await db.execute(stmt)
        cleaned[name] = sorted(str(i) for i in ids)
    total = sum(len(v) for v in cleaned.values())
    if total:
        await db.flush(AuditEntry(user_id=None, roles="system", action="system.applyRetention",
                                  object_type="retention", object_ids=[i for v in cleaned.values() for i in v],
                                  detail={"cutoff": cutoff.isoformat(), **{k: len(v) for k, v in cleaned.items()}},
                                  created_at=now))
    return total
