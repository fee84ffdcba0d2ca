"""Co-building (共驻共建, issue #7): partner units, agreements, partner API clients, what an
agreement shares with a partner's system, and in-service party members (双报到).

agreement·manage is the party secretary's in their scope (every community an agreement covers
must lie in it) and the street admin's everywhere. A partner actor (see
``policies.cobuilding.filters``) reads only shared views built here — activities, open wishes
without the beneficiary's identity, aggregate figures — never the staff types with personal data.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Activity,
    ActivityState,
    Agreement,
    AgreementCommunity,
    AgreementStatus,
    Area,
    AreaKind,
    InServiceMember,
    InServiceRecord,
    PartnerClient,
    PartnerKind,
    PartnerUnit,
    Person,
    ServiceKind,
    User,
    Wish,
    WishState,
    uuid7,
)
from policies.actor import Grant
from policies.cobuilding.filters import (
    agreement_manage_predicate,
    agreement_reach,
    agreement_read_predicate,
    inservice_predicate,
    local_date,
    shared_building_predicate,
    under,
)
from policies.filters import person_predicate
from resolvers import cases as case_service
from resolvers import validation as v
from resolvers.care import WISH
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError
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
SHAREABLE: tuple[str, ...] = ("activity.read", "wish.read", "wish.claim", "statistics.read")

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
    noun="agreement", model=Agreement, column="status",
    moves={"update": (frozenset(s for s, targets in TRANSITIONS.items() if targets), None)}
    | {to.value: (frozenset(s for s, targets in TRANSITIONS.items() if to in targets), to) for to in AgreementStatus},
    refused="an agreement that is {state} cannot become {to}", refused_field="status",
    refusals={"update": ("an agreement that is {state} is no longer changed", "id")},
    stale="the agreement changed (version {version}); reload",
    lost="the agreement was changed by someone else; reload",
)

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
        raise ServiceError(ErrorCode.INVALID, "the unified social credit code is 18 characters of 0-9 and "
                           "A-Y without I, O, S, V, Z", field)
    if credit_code_check_char(code[:17]) != code[17]:
        raise ServiceError(ErrorCode.INVALID, "the unified social credit code's check character is wrong", field)
    return code


# ------------------------------------------------------------------ permissions


def _manage_grant(ctx: RequestContext, field: str | None = None) -> Grant:
    grant = ctx.actor.grant("agreement", "manage")
    if not grant:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not manage co-building agreements", field)
    return grant


async def _unit_manageable(ctx: RequestContext, unit: PartnerUnit, field: str) -> None:
    """A unit is the street admin's to change, or a party secretary's who created it or who manages
    one of its agreements."""
    grant = _manage_grant(ctx, field)
    if grant.all or unit.created_by == ctx.actor.user_id:
        return
    found = await ctx.db.scalar(select(Agreement.id).where(
        Agreement.partner_unit_id == unit.id, agreement_manage_predicate(grant)).limit(1))
    if found is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "you manage none of this unit's agreements", field)


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
        raise ServiceError(ErrorCode.CONFLICT, f"a partner unit named {values['name']!r} exists", "name")
    if values["credit_code"]:
        clash = await ctx.db.scalar(select(PartnerUnit.id).where(
            PartnerUnit.credit_code == values["credit_code"], PartnerUnit.id != (own_id or uuid.UUID(int=0))))
        if clash is not None:
            raise ServiceError(ErrorCode.CONFLICT, "a partner unit with this credit code exists", "creditCode")


async def create_partner_unit(ctx: RequestContext, data: PartnerUnitInput) -> PartnerUnit:
    values = _unit_values(data)
    _manage_grant(ctx)
    await _unique_unit(ctx, values, None)
    unit = PartnerUnit(id=uuid7(), created_by=ctx.actor.user_id, updated_at=ctx.now, created_at=ctx.now, **values)
    try:
        async with ctx.db.savepoint():
            await ctx.db.flush(unit)
    except IntegrityError:
        raise ServiceError(ErrorCode.CONFLICT, "a partner unit with this name or code exists", "name") from None
    return unit


async def update_partner_unit(ctx: RequestContext, unit_id: uuid.UUID, data: PartnerUnitInput) -> PartnerUnit:
    values = _unit_values(data)
    unit = await get_partner_unit(ctx, unit_id)
    if unit is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "partner unit not found", "id")
    await _unit_manageable(ctx, unit, "id")
    await _unique_unit(ctx, values, unit.id)
    for k, val in values.items():
        setattr(unit, k, val)
    unit.updated_at = ctx.now
    await ctx.db.flush(unit)
    return unit


def _unit_read_allowed(ctx: RequestContext) -> bool:
    # The directory of partner units is the tenant's, read by whoever reads agreements.
    return bool(ctx.actor.grant("agreement", "read"))


async def list_partner_units(ctx: RequestContext, *, kind: PartnerKind | None, first: int | None,
                             after: str | None) -> Page[PartnerUnit]:
    stmt = select(PartnerUnit)
    if not _unit_read_allowed(ctx):
        stmt = stmt.where(PartnerUnit.id.is_(None))
    if kind is not None:
        stmt = stmt.where(PartnerUnit.kind == kind)
    return await keyset_page(ctx.db, stmt, PartnerUnit.id, first=first, after=after)


async def get_partner_unit(ctx: RequestContext, unit_id: uuid.UUID) -> PartnerUnit | None:
    if not _unit_read_allowed(ctx):
        return None
    return await ctx.db.scalar(select(PartnerUnit).where(PartnerUnit.id == unit_id))


def may_read_unit_contact(ctx: RequestContext) -> bool:
    """The contact's phone is personal data: shown in full to those who manage agreements."""
    return bool(ctx.actor.grant("agreement", "manage"))


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
        errors.add(ErrorCode.INVALID, f"grants that cannot be shared {bad_grants}; use "
                   f"{', '.join(SHAREABLE)}", "grants")
    elif "wish.claim" in data.grants and "wish.read" not in data.grants:
        errors.add(ErrorCode.INVALID, "wish.claim needs wish.read: a partner claims the wishes it "
                   "sees", "grants")
    values["grants"] = list(dict.fromkeys(data.grants))
    if data.valid_until is not None and data.valid_until < data.valid_from:
        errors.add(ErrorCode.INVALID, "validUntil comes before validFrom", "validUntil")
    signatories: list[dict[str, str]] = []
    for i, s in enumerate(data.signatories):
        name = errors.check(v.text, s.name, f"signatories[{i}].name", max_len=50)
        if s.side not in ("partner", "community"):
            errors.add(ErrorCode.INVALID, "a signatory's side is partner or community",
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
        errors.add(ErrorCode.INVALID, "name at least one community the agreement covers",
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
            raise ServiceError(ErrorCode.FORBIDDEN, "a community the agreement covers lies outside your scope",
                               "communityIds")
        communities.append((cid, row.path))
    return values, communities


async def create_agreement(ctx: RequestContext, data: AgreementInput) -> Agreement:
    grant = _manage_grant(ctx, "communityIds")
    values, communities = await _agreement_values(ctx, data, grant)
    unit = await get_partner_unit(ctx, data.partner_unit_id)
    if unit is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "partner unit not found", "partnerUnitId")
    agreement = Agreement(id=uuid7(), partner_unit_id=unit.id, status=AgreementStatus.DRAFT, version=1,
                          created_by=ctx.actor.user_id, updated_at=ctx.now, created_at=ctx.now, **values)
    await ctx.db.flush(agreement)
    await ctx.db.flush(*(AgreementCommunity(agreement_id=agreement.id, community_id=cid, community_path=path,
                                            created_at=ctx.now) for cid, path in communities))
    return agreement


async def _manageable_agreement(ctx: RequestContext, agreement_id: uuid.UUID) -> Agreement:
    agreement = await get_agreement(ctx, agreement_id)
    if agreement is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "agreement not found", "id")
    grant = _manage_grant(ctx, "id")
    if await ctx.db.scalar(select(Agreement.id).where(Agreement.id == agreement.id,
                                                      agreement_manage_predicate(grant))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "the agreement covers communities outside your scope", "id")
    return agreement


async def _bump(ctx: RequestContext, agreement: Agreement, action: str, expected_version: int | None,
                values: dict[str, Any]) -> Agreement:
    """Write by ``UPDATE … WHERE version = :seen``: a concurrent change makes this one a CONFLICT."""
    await transition(ctx, AGREEMENT, agreement, action, expected_version=expected_version, values=values)
    return agreement


async def update_agreement(ctx: RequestContext, agreement_id: uuid.UUID, data: AgreementInput,
                           expected_version: int | None) -> Agreement:
    grant = _manage_grant(ctx, "id")
    values, communities = await _agreement_values(ctx, data, grant)
    agreement = await _manageable_agreement(ctx, agreement_id)
    AGREEMENT.check(agreement, "update")
    if data.partner_unit_id != agreement.partner_unit_id:
        raise ServiceError(ErrorCode.INVALID, "an agreement's partner unit does not change", "partnerUnitId")
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
            raise ServiceError(ErrorCode.INVALID, "the agreement's validity has ended; it cannot be activated",
                               "status")
        if not agreement.signatories:
            raise ServiceError(ErrorCode.INVALID, "an agreement is activated once signed: add its signatories",
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
    return await ctx.db.scalar(select(Agreement).where(
        Agreement.id == agreement_id, agreement_read_predicate(ctx.actor.grant("agreement", "read"))))


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


async def partner_unit_names(ctx: RequestContext, unit_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await ctx.db.all(select(PartnerUnit.id, PartnerUnit.name).where(PartnerUnit.id.in_(unit_ids)))
    return {i: n for i, n in rows}


# ------------------------------------------------------------------ partner API clients

SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_secret(secret: str, salt: str) -> str:
    return hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), **SCRYPT).hex()  # type: ignore[arg-type]


def _new_secret() -> tuple[str, str, str]:
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    return secret, salt, hash_secret(secret, salt)


async def create_partner_client(ctx: RequestContext, partner_unit_id: uuid.UUID, label: str
                                ) -> tuple[PartnerClient, str]:
    """New credentials for a unit's system. The secret is returned once and kept only hashed."""
    text = v.text(label, "label", max_len=100)
    unit = await get_partner_unit(ctx, partner_unit_id)
    if unit is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "partner unit not found", "partnerUnitId")
    await _unit_manageable(ctx, unit, "partnerUnitId")
    secret, salt, digest = await asyncio.to_thread(_new_secret)
    client_id = f"{ctx.tenant.slug}.{secrets.token_hex(10)}"
    user = User(id=uuid7(), username=f"partner-client-{uuid.uuid4().hex[:20]}",
                display_name=f"{unit.name} · {text}"[:100], created_at=ctx.now)
    await ctx.db.flush(user)
    client = PartnerClient(id=uuid7(), partner_unit_id=unit.id, client_id=client_id, label=text, user_id=user.id,
                           secret_salt=salt, secret_hash=digest, secret_version=1, created_by=ctx.actor.user_id,
                           created_at=ctx.now)
    await ctx.db.flush(client)
    return client, secret


async def _manageable_client(ctx: RequestContext, client_id: uuid.UUID) -> PartnerClient:
    client = await get_partner_client(ctx, client_id)
    if client is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "partner client not found", "id")
    unit = await ctx.db.scalar(select(PartnerUnit).where(PartnerUnit.id == client.partner_unit_id))
    assert unit is not None
    await _unit_manageable(ctx, unit, "id")
    if client.revoked_at is not None:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, "the client is revoked", "id")
    return client


async def rotate_partner_client_secret(ctx: RequestContext, client_id: uuid.UUID) -> tuple[PartnerClient, str]:
    """A new secret; the old one gets no token from now on."""
    client = await _manageable_client(ctx, client_id)
    secret, salt, digest = await asyncio.to_thread(_new_secret)
    client.secret_salt, client.secret_hash = salt, digest
    client.secret_version += 1
    client.rotated_at = ctx.now
    await ctx.db.flush(client)
    return client, secret


async def revoke_partner_client(ctx: RequestContext, client_id: uuid.UUID) -> PartnerClient:
    """Revoked: no token from now on, and tokens already issued stop working on the next request."""
    client = await _manageable_client(ctx, client_id)
    client.revoked_at = ctx.now
    await ctx.db.flush(client)
    return client


async def get_partner_client(ctx: RequestContext, client_id: uuid.UUID) -> PartnerClient | None:
    if not ctx.actor.grant("agreement", "manage"):
        return None
    return await ctx.db.scalar(select(PartnerClient).where(PartnerClient.id == client_id))


_DUMMY_SALT = secrets.token_hex(16)


async def verify_client_secret(session: AsyncSession, client_id: str, secret: str) -> PartnerClient | None:
    """The client whose id and secret these are, not revoked (None otherwise). The session must be
    bound to the client id's tenant. A hash is computed either way, so timing tells nothing."""
    client = await session.scalar(select(PartnerClient).where(PartnerClient.client_id == client_id))
    salt = client.secret_salt if client is not None else _DUMMY_SALT
    digest = await asyncio.to_thread(hash_secret, secret, salt)
    if client is None or not hmac.compare_digest(digest, client.secret_hash) or client.revoked_at is not None:
        return None
    return client


# ------------------------------------------------------------------ what partners see


def _partner_only(ctx: RequestContext) -> None:
    if ctx.actor.partner_unit_id is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "shared views are for partner units' systems")


async def my_agreements(ctx: RequestContext) -> list[Agreement]:
    """The partner's own agreements in force now (what it is granted, where, until when)."""
    _partner_only(ctx)
    from policies.cobuilding.filters import active_on

    return list(await ctx.db.scalars(select(Agreement).where(
        Agreement.partner_unit_id == ctx.actor.partner_unit_id, active_on(local_date(ctx.now)))
        .order_by(Agreement.id)))


async def shared_activities(ctx: RequestContext, *, first: int | None, after: str | None) -> Page[Activity]:
    """Published activities in the communities whose agreements share activity·read."""
    _partner_only(ctx)
    paths = agreement_reach(ctx.actor, "activity", "read")
    stmt = select(Activity).where(under(Activity.area_path, paths), Activity.state != ActivityState.CANCELLED)
    return await keyset_page(ctx.db, stmt, Activity.id, first=first, after=after, descending=True)


def _shared_wish_predicate(ctx: RequestContext) -> Any:
    """Open wishes in communities sharing wish·read, and those this partner claimed there."""
    paths = agreement_reach(ctx.actor, "wish", "read")
    return and_(shared_building_predicate(Wish.building_id, paths),
                or_(Wish.state == WishState.OPEN, Wish.claimant_user_id == ctx.actor.user_id))


async def shared_wishes(ctx: RequestContext, *, first: int | None, after: str | None) -> Page[Wish]:
    _partner_only(ctx)
    stmt = select(Wish).where(_shared_wish_predicate(ctx))
    return await keyset_page(ctx.db, stmt, Wish.id, first=first, after=after, descending=True)


async def claim_shared_wish(ctx: RequestContext, wish_id: uuid.UUID, expected_version: int | None) -> Wish:
    """A partner claims an open wish where an active agreement shares wish·claim (the claimant is
    the client's account; the beneficiary stays hidden from it)."""
    _partner_only(ctx)
    wish = await ctx.db.scalar(select(Wish).where(Wish.id == wish_id, _shared_wish_predicate(ctx)))
    if wish is None:
        gone = await ctx.db.scalar(select(Wish.id).where(
            Wish.id == wish_id, shared_building_predicate(Wish.building_id, agreement_reach(ctx.actor, "wish",
                                                                                              "read"))))
        if gone is not None:
            raise ServiceError(ErrorCode.CONFLICT, "the wish has been claimed by someone else", "id")
        raise ServiceError(ErrorCode.NOT_FOUND, "wish not found", "id")
    if await ctx.db.scalar(select(Wish.id).where(
            Wish.id == wish.id, shared_building_predicate(Wish.building_id,
                                                          agreement_reach(ctx.actor, "wish", "claim")))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "no active agreement lets you claim wishes there", "id")
    await transition(ctx, WISH, wish, "claim", expected_version=expected_version,
                     values={"claimant_user_id": ctx.actor.user_id, "claimed_at": ctx.now},
                     stale="the wish changed (version {version}); reload",
                     lost="the wish has been claimed by someone else")
    return wish


async def fulfil_shared_wish(ctx: RequestContext, wish_id: uuid.UUID, note: str | None,
                             expected_version: int | None) -> Wish:
    """The partner that claimed a wish reports it fulfilled (the beneficiary or staff confirm it),
    while an agreement in force still shares wish·claim there."""
    _partner_only(ctx)
    text = None if note is None else v.text(note, "note", max_len=1000, required=False) or None
    paths = agreement_reach(ctx.actor, "wish", "fulfil")
    wish = await ctx.db.scalar(select(Wish).where(
        Wish.id == wish_id, Wish.claimant_user_id == ctx.actor.user_id,
        shared_building_predicate(Wish.building_id, paths)))
    if wish is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "no wish claimed by your unit with that id is shared now", "id")
    await transition(ctx, WISH, wish, "fulfil", expected_version=expected_version,
                     values={"fulfilled_at": ctx.now, "fulfil_note": text},
                     stale="the wish changed (version {version}); reload",
                     lost="the wish was changed by someone else; reload")
    return wish


@dataclass
class ActivityFigures:
    total: int
    by_state: dict[str, int]
    places: int
    signed_up: int


@dataclass
class SharedStatistics:
    community_id: uuid.UUID
    community_name: str
    cases: case_service.CaseStatistics
    activities: ActivityFigures


async def shared_statistics(ctx: RequestContext, community_id: uuid.UUID, start: date, end: date
                            ) -> SharedStatistics:
    """Aggregate figures of a covered community where an agreement shares statistics·read: the
    cases' review figures (as resolvers.cases computes them) and the activities held."""
    _partner_only(ctx)
    paths = agreement_reach(ctx.actor, "statistics", "read")
    row = (await ctx.db.all(select(Area.path, Area.name).where(Area.id == community_id,
                                                              Area.kind == AreaKind.COMMUNITY)))
    if not row or row[0].path not in paths:
        raise ServiceError(ErrorCode.FORBIDDEN, "no active agreement shares this community's statistics",
                           "communityId")
    path, name = row[0]
    # The figures are computed as for anyone holding statistics·read with this community as scope;
    # only aggregates leave this function.
    reach = dataclasses.replace(ctx.actor, assignments=[], _grants={("statistics", "read"): Grant(
        scope_paths=(path,))})
    cases = await case_service.statistics(dataclasses.replace(ctx, actor=reach), community_id, start, end)
    lo, hi = case_service.local_bounds(start, end)
    acts = await ctx.db.all(
        select(Activity.state, func.count(), func.coalesce(func.sum(Activity.capacity), 0),
               func.coalesce(func.sum(Activity.signed_up), 0))
        .where(Activity.area_path.startswith(path), Activity.starts_at >= lo, Activity.starts_at < hi)
        .group_by(Activity.state))
    by_state = {s.value: int(n) for s, n, _c, _u in acts}
    return SharedStatistics(
        community_id=community_id, community_name=name, cases=cases,
        activities=ActivityFigures(total=sum(by_state.values()), by_state=by_state,
                                   places=sum(int(c) for _s, _n, c, _u in acts),
                                   signed_up=sum(int(u) for _s, _n, _c, u in acts)),
    )


# ------------------------------------------------------------------ in-service party members (双报到)


@dataclass
class RegisterInServiceInput:
    person_id: uuid.UUID
    community_id: uuid.UUID
    partner_unit_id: uuid.UUID | None
    work_unit_name: str | None
    registered_on: date


async def register_inservice_member(ctx: RequestContext, data: RegisterInServiceInput) -> InServiceMember:
    """A party member from a work unit registers with the community where they live or serve."""
    grant = ctx.actor.grant("inservice", "register")
    if not grant:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not register in-service party members", "communityId")
    person = await ctx.db.scalar(select(Person).where(
        Person.id == data.person_id, person_predicate(ctx.actor.grant("person", "read"), ctx.actor)))
    if person is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "person not found", "personId")
    if not person.party_member:
        raise ServiceError(ErrorCode.INVALID, "only party members register back (双报到)", "personId")
    community = (await ctx.db.all(select(Area.path).where(Area.id == data.community_id,
                                                          Area.kind == AreaKind.COMMUNITY)))
    if not community:
        raise ServiceError(ErrorCode.NOT_FOUND, "community not found", "communityId")
    path = community[0].path
    if not grant.all and not any(path.startswith(p) for p in grant.scope_paths):
        raise ServiceError(ErrorCode.FORBIDDEN, "the community lies outside your scope", "communityId")
    unit_name: str | None = None
    if data.partner_unit_id is not None:
        unit = await ctx.db.scalar(select(PartnerUnit).where(PartnerUnit.id == data.partner_unit_id))
        if unit is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "partner unit not found", "partnerUnitId")
        unit_name = unit.name
    elif data.work_unit_name:
        unit_name = v.text(data.work_unit_name, "workUnitName", max_len=100)
    if not unit_name:
        raise ServiceError(ErrorCode.INVALID, "name the work unit, or give its partner unit", "workUnitName")
    clash = await ctx.db.scalar(select(InServiceMember.id).where(
        InServiceMember.person_id == person.id, InServiceMember.community_id == data.community_id))
    if clash is not None:
        raise ServiceError(ErrorCode.CONFLICT, "already registered with this community", "personId")
    member = InServiceMember(id=uuid7(), person_id=person.id, community_id=data.community_id, community_path=path,
                             partner_unit_id=data.partner_unit_id, work_unit_name=unit_name,
                             registered_on=data.registered_on, registered_by=ctx.actor.user_id, created_at=ctx.now)
    person.in_service_party_member = True  # the register's flag (在职党员) follows the registration
    await ctx.db.flush(member, person)
    return member


@dataclass
class ServiceRecordInput:
    member_id: uuid.UUID
    kind: ServiceKind
    served_on: date
    hours: Decimal
    description: str
    wish_id: uuid.UUID | None = None
    activity_id: uuid.UUID | None = None


async def record_inservice_service(ctx: RequestContext, data: ServiceRecordInput) -> InServiceRecord:
    errors = FieldErrors()
    text = errors.check(v.text, data.description, "description", max_len=500)
    if not Decimal(0) <= data.hours <= Decimal(24):
        errors.add(ErrorCode.INVALID, "hours are between 0 and 24 for a day's service", "hours")
    if data.served_on > local_date(ctx.now):
        errors.add(ErrorCode.INVALID, "service is recorded once given, not ahead", "servedOn")
    if data.kind is ServiceKind.WISH and data.wish_id is None:
        errors.add(ErrorCode.INVALID, "name the wish fulfilled", "wishId")
    if data.kind is ServiceKind.ACTIVITY and data.activity_id is None:
        errors.add(ErrorCode.INVALID, "name the activity", "activityId")
    errors.raise_if_any()
    member = await ctx.db.scalar(select(InServiceMember).where(
        InServiceMember.id == data.member_id,
        inservice_predicate(ctx.actor.grant("inservice", "read"), ctx.actor, ("inservice", "read"))))
    if member is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "in-service member not found", "memberId")
    if await ctx.db.scalar(select(InServiceMember.id).where(
            InServiceMember.id == member.id,
            inservice_predicate(ctx.actor.grant("inservice", "record"), ctx.actor, ("inservice", "record")))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not record service for this member", "memberId")
    if data.wish_id is not None and await ctx.db.scalar(select(Wish.id).where(
            Wish.id == data.wish_id, shared_building_predicate(Wish.building_id, (member.community_path,)))) is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "no such wish in the member's community", "wishId")
    if data.activity_id is not None and await ctx.db.scalar(select(Activity.id).where(
            Activity.id == data.activity_id, Activity.area_path.startswith(member.community_path))) is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "no such activity in the member's community", "activityId")
    record = InServiceRecord(id=uuid7(), member_id=member.id, kind=data.kind, served_on=data.served_on,
                             hours=data.hours, description=text, wish_id=data.wish_id, activity_id=data.activity_id,
                             recorded_by=ctx.actor.user_id, created_at=ctx.now)
    await ctx.db.flush(record)
    return record


async def list_inservice_members(ctx: RequestContext, *, community_id: uuid.UUID | None,
                                 partner_unit_id: uuid.UUID | None, first: int | None, after: str | None
                                 ) -> Page[InServiceMember]:
    stmt = select(InServiceMember).where(
        inservice_predicate(ctx.actor.grant("inservice", "read"), ctx.actor, ("inservice", "read")))
    if community_id is not None:
        stmt = stmt.where(InServiceMember.community_id == community_id)
    if partner_unit_id is not None:
        stmt = stmt.where(InServiceMember.partner_unit_id == partner_unit_id)
    return await keyset_page(ctx.db, stmt, InServiceMember.id, first=first, after=after)


async def get_inservice_member(ctx: RequestContext, member_id: uuid.UUID) -> InServiceMember | None:
    return await ctx.db.scalar(select(InServiceMember).where(
        InServiceMember.id == member_id,
        inservice_predicate(ctx.actor.grant("inservice", "read"), ctx.actor, ("inservice", "read"))))


@dataclass
class ServiceSummary:
    members: int
    records: int
    hours: Decimal
    wishes: int
    activities: int


async def inservice_summary(ctx: RequestContext, *, partner_unit_id: uuid.UUID | None, start: date, end: date
                            ) -> ServiceSummary:
    """A work unit's members' service in a period: for the unit's own system ("own"), or for staff
    reading the members registered in their scope."""
    if end < start:
        raise ServiceError(ErrorCode.INVALID, "the period runs forward", "to")
    if ctx.actor.partner_unit_id is not None:
        pred = inservice_predicate(ctx.actor.grant("inservice", "summary"), ctx.actor, ("inservice", "summary"))
        unit_id = ctx.actor.partner_unit_id
    else:
        pred = inservice_predicate(ctx.actor.grant("inservice", "read"), ctx.actor, ("inservice", "read"))
        if partner_unit_id is None:
            raise ServiceError(ErrorCode.INVALID, "name the partner unit", "partnerUnitId")
        unit_id = partner_unit_id
    members = await ctx.db.scalar(select(func.count()).select_from(InServiceMember).where(
        pred, InServiceMember.partner_unit_id == unit_id))
    rows = await ctx.db.all(
        select(InServiceRecord.kind, func.count(), func.coalesce(func.sum(InServiceRecord.hours), 0))
        .join(InServiceMember, and_(InServiceMember.tenant_id == InServiceRecord.tenant_id,
                                    InServiceMember.id == InServiceRecord.member_id))
        .where(pred, InServiceMember.partner_unit_id == unit_id, InServiceRecord.served_on >= start,
               InServiceRecord.served_on <= end)
        .group_by(InServiceRecord.kind))
    counts = {k: int(n) for k, n, _h in rows}
    return ServiceSummary(members=int(members or 0), records=sum(counts.values()),
                          hours=sum((Decimal(str(h)) for _k, _n, h in rows), Decimal(0)).quantize(Decimal("0.01")),
                          wishes=counts.get(ServiceKind.WISH, 0), activities=counts.get(ServiceKind.ACTIVITY, 0))
