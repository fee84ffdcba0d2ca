"""Partner units (共建单位) of co-building: the unified social credit code, who manages a unit
(agreement·manage), and the tenant's directory of units (read with agreement·read)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from models import Agreement, PartnerKind, PartnerUnit, uuid7
from policies.actor import Grant
from policies.cobuilding.filters import agreement_manage_predicate
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page

# ------------------------------------------------------------------ unified social credit code

_CC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
_CC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CC_RE = re.compile(rf"^[{_CC_CHARS}]{{18}}$")


def credit_code_check_char(first17: str) -> str:
    total = sum(_CC_CHARS.index(c) * w for c, w in zip(first17, _CC_WEIGHTS, strict=True))
    return _CC_CHARS[(31 - total % 31) % 31]


def normalize_credit_code(value: str, field: str = "creditCode") -> str:
    """An 18-character unified social credit code (统一社会信用代码) with a valid check character."""
    code = value.strip().upper()
    if not _CC_RE.match(code):
        raise ServiceError(ErrorCode.INVALID, t("统一社会信用代码为 18 位，由 0-9 和 A-Y（不含 I、O、S、V、Z）组成",
                                                "the unified social credit code is 18 characters of 0-9 and "
                             "A-Y without I, O, S, V, Z"), field)
    if credit_code_check_char(code[:17]) != code[17]:
        raise ServiceError(ErrorCode.INVALID, t("统一社会信用代码的校验码不对",
                                                "the unified social credit code's check character is wrong"), field)
    return code


# ------------------------------------------------------------------ permissions


def manage_grant(ctx: RequestContext, field: str | None = None) -> Grant:
    grant = ctx.actor.grant("agreement", "manage")
    if not grant:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权管理共驻共建协议",
                                                  "you may not manage co-building agreements"), field)
    return grant


async def unit_manageable(ctx: RequestContext, unit: PartnerUnit, field: str) -> None:
    """A unit is the street admin's to change, or a party secretary's who created it or who manages
    one of its agreements."""
    grant = manage_grant(ctx, field)
    if grant.all or unit.created_by == ctx.actor.user_id:
        return
    found = await ctx.db.scalar(select(Agreement.id).where(
        Agreement.partner_unit_id == unit.id, agreement_manage_predicate(grant)).limit(1))
    if found is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("该单位的协议都不由您管理",
                                                  "you manage none of this unit's agreements"), field)


# ------------------------------------------------------------------ partner units


@dataclass
class PartnerUnitInput:
    name: str
    kind: PartnerKind
    credit_code: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    address: str | None = None


def _unit_values(data: PartnerUnitInput) -> dict[str, Any]:
    errors = FieldErrors()
    values: dict[str, Any] = {
        "name": errors.check(v.text, data.name, "name", max_len=100),
        "kind": data.kind,
        "credit_code": None if not data.credit_code else errors.check(normalize_credit_code, data.credit_code),
        "contact_name": None if data.contact_name is None else
        errors.check(v.text, data.contact_name, "contactName", max_len=50, required=False) or None,
        "contact_phone": None if not data.contact_phone else
        errors.check(v.normalize_phone, data.contact_phone, "contactPhone"),
        "address": None if data.address is None else
        errors.check(v.text, data.address, "address", max_len=200, required=False) or None,
    }
    errors.raise_if_any()
    return values


async def _unique_unit(ctx: RequestContext, values: dict[str, Any], own_id: uuid.UUID | None) -> None:
    clash = await ctx.db.scalar(select(PartnerUnit.id).where(
        PartnerUnit.name == values["name"], PartnerUnit.id != (own_id or uuid.UUID(int=0))))
    if clash is not None:
        raise ServiceError(ErrorCode.CONFLICT, t(f"已有名为 {values['name']!r} 的共建单位",
                                                 f"a partner unit named {values['name']!r} exists"), "name")
    if values["credit_code"]:
        clash = await ctx.db.scalar(select(PartnerUnit.id).where(
            PartnerUnit.credit_code == values["credit_code"], PartnerUnit.id != (own_id or uuid.UUID(int=0))))
        if clash is not None:
            raise ServiceError(ErrorCode.CONFLICT, t("已有使用该信用代码的共建单位",
                                                     "a partner unit with this credit code exists"), "creditCode")


async def create_partner_unit(ctx: RequestContext, data: PartnerUnitInput) -> PartnerUnit:
    values = _unit_values(data)
    manage_grant(ctx)
    await _unique_unit(ctx, values, None)
    unit = PartnerUnit(id=uuid7(), created_by=ctx.actor.user_id, updated_at=ctx.now, created_at=ctx.now, **values)
    try:
        async with ctx.db.savepoint():
            await ctx.db.flush(unit)
    except IntegrityError:
        raise ServiceError(ErrorCode.CONFLICT, t("已有同名或同代码的共建单位",
                                                 "a partner unit with this name or code exists"), "name") from None
    return unit


async def update_partner_unit(ctx: RequestContext, unit_id: uuid.UUID, data: PartnerUnitInput) -> PartnerUnit:
    values = _unit_values(data)
    unit = await get_partner_unit(ctx, unit_id)
    if unit is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("共建单位不存在", "partner unit not found"), "id")
    await unit_manageable(ctx, unit, "id")
    await _unique_unit(ctx, values, unit.id)
    for k, val in values.items():
        setattr(unit, k, val)
    unit.updated_at = ctx.now
    await ctx.db.flush(unit)
    return unit


def unit_read_allowed(ctx: RequestContext) -> bool:
    # The directory of partner units is the tenant's, read by whoever reads agreements.
    return bool(ctx.actor.grant("agreement", "read"))


def partner_unit_rows(ctx: RequestContext, kind: PartnerKind | None) -> Select[Any]:
    """The units of the list (and of the compiled read, compiled/cobuilding.py): none without the grant."""
    stmt = select(PartnerUnit)
    if not unit_read_allowed(ctx):
        stmt = stmt.where(PartnerUnit.id.is_(None))
    if kind is not None:
        stmt = stmt.where(PartnerUnit.kind == kind)
    return stmt


async def list_partner_units(ctx: RequestContext, *, kind: PartnerKind | None, first: int | None,
                             after: str | None) -> Page[PartnerUnit]:
    return await keyset_page(ctx.db, partner_unit_rows(ctx, kind), PartnerUnit.id, first=first, after=after)


async def get_partner_unit(ctx: RequestContext, unit_id: uuid.UUID) -> PartnerUnit | None:
    if not unit_read_allowed(ctx):
        return None
    unit: PartnerUnit | None = await ctx.db.scalar(select(PartnerUnit).where(PartnerUnit.id == unit_id))
    return unit


def may_read_unit_contact(ctx: RequestContext) -> bool:
    """The contact's phone is personal data: shown in full to those who manage agreements."""
    return bool(ctx.actor.grant("agreement", "manage"))


async def partner_unit_names(ctx: RequestContext, unit_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await ctx.db.all(select(PartnerUnit.id, PartnerUnit.name).where(PartnerUnit.id.in_(unit_ids)))
    return {i: n for i, n in rows}
