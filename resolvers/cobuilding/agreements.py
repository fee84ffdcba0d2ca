"""Co-building agreements (共驻共建协议): the 六联创 areas and shareable grants they name, their
state machine, and their writes and reads (agreement·manage in scope, agreement·read)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, delete, select

from models import Agreement, AgreementCommunity, AgreementStatus, Area, AreaKind, uuid7
from policies.actor import Grant
from policies.cobuilding.filters import agreement_manage_predicate, agreement_read_predicate, local_date
from resolvers import register as register_service
from resolvers import validation as v
from resolvers.cobuilding.units import get_partner_unit, manage_grant
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page
from resolvers.transitions import StateMachine, transition

# 六联创: the six areas of joint work a co-building agreement names.
LIANCHUANG: dict[str, str] = {
    "organization": "组织联建",
    "members": "党员联管",
    "activities": "活动联办",
    "resources": "资源联享",
    "services": "服务联做",
    "civility": "文明联创",
}
# What an agreement may share with a partner's system (resource.action). Casbin's partner_unit
# lines must allow each too; an agreement never widens the policy.
# "person.read": the personal data of the persons whose consent for the unit is in force (PIPL art. 23;
# refused with CONSENT_REQUIRED while there is none).
SHAREABLE: tuple[str, ...] = ("activity.read", "wish.read", "wish.claim", "statistics.read", "person.read")

TRANSITIONS: dict[AgreementStatus, frozenset[AgreementStatus]] = {
    AgreementStatus.DRAFT: frozenset({AgreementStatus.ACTIVE, AgreementStatus.TERMINATED}),
    AgreementStatus.ACTIVE: frozenset({AgreementStatus.SUSPENDED, AgreementStatus.EXPIRED,
                                       AgreementStatus.TERMINATED}),
    AgreementStatus.SUSPENDED: frozenset({AgreementStatus.ACTIVE, AgreementStatus.EXPIRED,
                                          AgreementStatus.TERMINATED}),
    AgreementStatus.EXPIRED: frozenset(),
    AgreementStatus.TERMINATED: frozenset(),
}


# As a state machine: one action per status it leads to (named by it), plus "update", which keeps
# the status and is refused once the agreement has ended.
AGREEMENT: StateMachine[AgreementStatus] = StateMachine(
    noun="agreement", noun_zh="共驻共建协议", model=Agreement, column="status",
    moves={"update": (frozenset(s for s, targets in TRANSITIONS.items() if targets), None)}
    | {to.value: (frozenset(s for s, targets in TRANSITIONS.items() if to in targets), to) for to in AgreementStatus},
    refused=("协议当前为 {state}，不能变为 {to}", "an agreement that is {state} cannot become {to}"),
    refused_field="status",
    refusals={"update": (("协议当前为 {state}，不能再修改",
                          "an agreement that is {state} is no longer changed"), "id")},
    stale=("协议已有变动（当前版本 {version}），请重新加载", "the agreement changed (version {version}); reload"),
    lost=("协议已被他人修改，请重新加载", "the agreement was changed by someone else; reload"),
)


# ------------------------------------------------------------------ agreements


@dataclass
class Signatory:
    name: str
    side: str  # "partner" or "community"
    title: str | None = None


@dataclass
class AgreementInput:
    partner_unit_id: uuid.UUID
    title: str
    community_party: str
    community_ids: list[uuid.UUID]
    areas: list[str]
    grants: list[str]
    valid_from: date
    valid_until: date | None
    signatories: list[Signatory]
    note: str | None = None


async def _agreement_values(ctx: RequestContext, data: AgreementInput, grant: Grant
                            ) -> tuple[dict[str, Any], list[tuple[uuid.UUID, str]]]:
    errors = FieldErrors()
    values: dict[str, Any] = {
        "title": errors.check(v.text, data.title, "title", max_len=100),
        "community_party": errors.check(v.text, data.community_party, "communityParty", max_len=100),
        "note": "" if data.note is None else
        (errors.check(v.text, data.note, "note", max_len=2000, required=False) or ""),
        "valid_from": data.valid_from,
        "valid_until": data.valid_until,
    }
    bad_areas = [a for a in data.areas if a not in LIANCHUANG]
    if bad_areas:
        errors.add(ErrorCode.INVALID, f"unknown 六联创 areas {bad_areas}; use "
                   f"{', '.join(LIANCHUANG)}", "areas")
    values["areas"] = list(dict.fromkeys(data.areas))
    bad_grants = [g for g in data.grants if g not in SHAREABLE]
    if bad_grants:
        errors.add(ErrorCode.INVALID, t(f"这些权限不能共享：{bad_grants}；可用的有 " f"{'、'.join(SHAREABLE)}",
                                        f"grants that cannot be shared {bad_grants}; use "
                     f"{', '.join(SHAREABLE)}"), "grants")
    elif "wish.claim" in data.grants and "wish.read" not in data.grants:
        errors.add(ErrorCode.INVALID, t("wish.claim 需要 wish.read：共建单位只认领它能看到的微心愿",
                                        "wish.claim needs wish.read: a partner claims the wishes it "
                     "sees"), "grants")
    elif ".".join(register_service.CONSENTED_GRANT) in data.grants and not await register_service.consents_in_force(
            ctx, data.partner_unit_id):
        # personal data goes to a partner unit only with consents for that unit (PIPL art. 23)
        err = register_service.consent_required("grants")
        errors.add(err.code, err.message, "grants")
    values["grants"] = list(dict.fromkeys(data.grants))
    if data.valid_until is not None and data.valid_until < data.valid_from:
        errors.add(ErrorCode.INVALID, t("validUntil 早于 validFrom", "validUntil comes before validFrom"), "validUntil")
    signatories: list[dict[str, str]] = []
    for i, s in enumerate(data.signatories):
        name = errors.check(v.text, s.name, f"signatories[{i}].name", max_len=50)
        if s.side not in ("partner", "community"):
            errors.add(ErrorCode.INVALID, t("签署方应为 partner（共建单位）或 community（社区）",
                                            "a signatory's side is partner or community"),
                       f"signatories[{i}].side")
        title = None if s.title is None else errors.check(v.text, s.title, f"signatories[{i}].title",
                                                         max_len=50, required=False)
        entry = {"name": name or "", "side": s.side}
        if title:
            entry["title"] = title
        signatories.append(entry)
    values["signatories"] = signatories
    ids = list(dict.fromkeys(data.community_ids))
    if not ids:
        errors.add(ErrorCode.INVALID, t("请至少指定一个协议覆盖的社区",
                                        "name at least one community the agreement covers"),
                   "communityIds")
    errors.raise_if_any()
    rows = (await ctx.db.all(select(Area.id, Area.path, Area.kind).where(Area.id.in_(ids)))) if ids else []
    found = {r.id: r for r in rows}
    communities: list[tuple[uuid.UUID, str]] = []
    for cid in ids:
        row = found.get(cid)
        if row is None or row.kind is not AreaKind.COMMUNITY:
            raise ServiceError(ErrorCode.NOT_FOUND, "every id must name a community (社区)", "communityIds")
        if not grant.all and not any(row.path.startswith(p) for p in grant.scope_paths):
            raise ServiceError(ErrorCode.FORBIDDEN, t("协议覆盖的某个社区超出您的管辖范围",
                                                      "a community the agreement covers lies outside your scope"),
                               "communityIds")
        communities.append((cid, row.path))
    return values, communities


async def create_agreement(ctx: RequestContext, data: AgreementInput) -> Agreement:
    grant = manage_grant(ctx, "communityIds")
    values, communities = await _agreement_values(ctx, data, grant)
    unit = await get_partner_unit(ctx, data.partner_unit_id)
    if unit is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("共建单位不存在", "partner unit not found"), "partnerUnitId")
    agreement = Agreement(id=uuid7(), partner_unit_id=unit.id, status=AgreementStatus.DRAFT, version=1,
                          created_by=ctx.actor.user_id, updated_at=ctx.now, created_at=ctx.now, **values)
    await ctx.db.flush(agreement)
    await ctx.db.flush(*(AgreementCommunity(agreement_id=agreement.id, community_id=cid, community_path=path,
                                            created_at=ctx.now) for cid, path in communities))
    return agreement


async def _manageable_agreement(ctx: RequestContext, agreement_id: uuid.UUID) -> Agreement:
    agreement = await get_agreement(ctx, agreement_id)
    if agreement is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("共驻共建协议不存在", "agreement not found"), "id")
    grant = manage_grant(ctx, "id")
    if await ctx.db.scalar(select(Agreement.id).where(Agreement.id == agreement.id,
                                                      agreement_manage_predicate(grant))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("协议覆盖的社区超出您的管辖范围",
                                                  "the agreement covers communities outside your scope"), "id")
    return agreement


async def _bump(ctx: RequestContext, agreement: Agreement, action: str, expected_version: int | None,
                values: dict[str, Any]) -> Agreement:
    """Write by ``UPDATE … WHERE version = :seen``: a concurrent change makes this one a CONFLICT."""
    await transition(ctx, AGREEMENT, agreement, action, expected_version=expected_version, values=values)
    return agreement


async def update_agreement(ctx: RequestContext, agreement_id: uuid.UUID, data: AgreementInput,
                           expected_version: int | None) -> Agreement:
    grant = manage_grant(ctx, "id")
    values, communities = await _agreement_values(ctx, data, grant)
    agreement = await _manageable_agreement(ctx, agreement_id)
    AGREEMENT.check(agreement, "update")
    if data.partner_unit_id != agreement.partner_unit_id:
        raise ServiceError(ErrorCode.INVALID, t("协议的共建单位不能更改",
                                                "an agreement's partner unit does not change"), "partnerUnitId")
    agreement = await _bump(ctx, agreement, "update", expected_version, values)
    current = {r.community_id: r for r in await ctx.db.scalars(
        select(AgreementCommunity).where(AgreementCommunity.agreement_id == agreement.id))}
    wanted = dict(communities)
    stale = [row for cid, row in current.items() if cid not in wanted]
    if stale:
        await ctx.db.execute(delete(AgreementCommunity).where(
            AgreementCommunity.id.in_([r.id for r in stale])).execution_options(synchronize_session=False))
    await ctx.db.flush(*(AgreementCommunity(agreement_id=agreement.id, community_id=cid, community_path=path,
                                            created_at=ctx.now) for cid, path in communities if cid not in current))
    return agreement


async def set_agreement_status(ctx: RequestContext, agreement_id: uuid.UUID, status: AgreementStatus,
                               expected_version: int | None) -> Agreement:
    agreement = await _manageable_agreement(ctx, agreement_id)
    AGREEMENT.check(agreement, status.value)
    today = local_date(ctx.now)
    if status is AgreementStatus.ACTIVE:
        if agreement.valid_until is not None and agreement.valid_until < today:
            raise ServiceError(ErrorCode.INVALID, t("协议已过有效期，不能生效",
                                                    "the agreement's validity has ended; it cannot be activated"),
                               "status")
        if not agreement.signatories:
            raise ServiceError(ErrorCode.INVALID, t("协议签署后才能生效：请添加签署方",
                                                    "an agreement is activated once signed: add its signatories"),
                               "status")
    return await _bump(ctx, agreement, status.value, expected_version, {})


async def list_agreements(ctx: RequestContext, *, partner_unit_id: uuid.UUID | None, community_id: uuid.UUID | None,
                          statuses: list[AgreementStatus] | None, active_on: date | None, first: int | None,
                          after: str | None) -> Page[Agreement]:
    stmt = select(Agreement).where(agreement_read_predicate(ctx.actor.grant("agreement", "read")))
    if partner_unit_id is not None:
        stmt = stmt.where(Agreement.partner_unit_id == partner_unit_id)
    if community_id is not None:
        stmt = stmt.where(Agreement.id.in_(select(AgreementCommunity.agreement_id)
                                           .where(AgreementCommunity.community_id == community_id)))
    if statuses:
        stmt = stmt.where(Agreement.status.in_(statuses))
    if active_on is not None:
        from policies.cobuilding.filters import active_on as _active

        stmt = stmt.where(_active(active_on))
    return await keyset_page(ctx.db, stmt, Agreement.id, first=first, after=after, descending=True)


async def get_agreement(ctx: RequestContext, agreement_id: uuid.UUID) -> Agreement | None:
    agreement: Agreement | None = await ctx.db.scalar(select(Agreement).where(
        Agreement.id == agreement_id, agreement_read_predicate(ctx.actor.grant("agreement", "read"))))
    return agreement


async def agreement_communities(ctx: RequestContext, agreement_ids: list[uuid.UUID]
                                ) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    """(community id, name) of each agreement, in one query."""
    rows = await ctx.db.all(
        select(AgreementCommunity.agreement_id, Area.id, Area.name)
        .join(Area, and_(Area.tenant_id == AgreementCommunity.tenant_id, Area.id == AgreementCommunity.community_id))
        .where(AgreementCommunity.agreement_id.in_(agreement_ids)).order_by(Area.name))
    out: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {i: [] for i in agreement_ids}
    for aid, cid, name in rows:
        out[aid].append((cid, name))
    return out
