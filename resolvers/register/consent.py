"""Consent for partner units (PIPL art. 23, issue #24): a person's consent, recorded by the street
office, that one partner unit may receive their personal data for a stated purpose; withdrawn at any
time. A partner unit receives personal data only as ``person · read`` through an agreement, and then
only of the persons whose consent for that unit is in force (policies/filters.py::person_predicate);
granting that line or that agreement grant without any consent is refused with CONSENT_REQUIRED."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, and_, select

from models import PartnerUnit, PersonalDataConsent
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

from .personal_data import reportable_person

# What a partner unit may be given of personal data, and only with consents (resource, action).
CONSENTED_GRANT = ("person", "read")


def in_force(unit_id: uuid.UUID | None = None) -> ColumnElement[bool]:
    cond = PersonalDataConsent.withdrawn_at.is_(None)
    return cond if unit_id is None else and_(cond, PersonalDataConsent.partner_unit_id == unit_id)


async def consents_in_force(ctx: RequestContext, unit_id: uuid.UUID | None = None) -> bool:
    """Whether some person's consent (for that unit, or for any) is in force."""
    return await ctx.db.scalar(select(PersonalDataConsent.id).where(in_force(unit_id)).limit(1)) is not None


def consent_required(field: str) -> ServiceError:
    return ServiceError(ErrorCode.CONSENT_REQUIRED, t(
        "共建单位只能获得已同意的居民的个人信息：请先登记居民的同意",
        "a partner unit receives personal data only of persons who consented: record their consent first"), field)


async def require_consents(ctx: RequestContext, field: str, unit_id: uuid.UUID | None = None) -> None:
    """CONSENT_REQUIRED unless some person's consent (for that unit, or any) is in force."""
    if not await consents_in_force(ctx, unit_id):
        raise consent_required(field)


async def record_consent(ctx: RequestContext, person_id: uuid.UUID, partner_unit_id: uuid.UUID,
                         purpose: str) -> PersonalDataConsent:
    text = v.text(purpose, "purpose", max_len=200)
    p = await reportable_person(ctx, person_id, "consent", "personId")
    if await ctx.db.scalar(select(PartnerUnit.id).where(PartnerUnit.id == partner_unit_id)) is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("共建单位不存在", "partner unit not found"), "partnerUnitId")
    if await ctx.db.scalar(select(PersonalDataConsent.id).where(
            PersonalDataConsent.person_id == p.id, in_force(partner_unit_id))) is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("该居民对该共建单位的同意已登记",
                                                 "this person's consent for this unit is recorded already"),
                           "partnerUnitId")
    row = PersonalDataConsent(person_id=p.id, partner_unit_id=partner_unit_id, purpose=text, granted_at=ctx.now,
                              recorded_by=ctx.actor.user_id)
    await ctx.db.flush(row)
    return row


async def withdraw_consent(ctx: RequestContext, consent_id: uuid.UUID) -> PersonalDataConsent:
    row: PersonalDataConsent | None = await ctx.db.scalar(
        select(PersonalDataConsent).where(PersonalDataConsent.id == consent_id))
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("同意记录不存在", "consent not found"), "id")
    await reportable_person(ctx, row.person_id, "consent", "id")
    if row.withdrawn_at is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("该同意已撤回", "this consent was withdrawn already"), "id")
    row.withdrawn_at = ctx.now
    row.withdrawn_by = ctx.actor.user_id
    await ctx.db.flush(row)
    return row
