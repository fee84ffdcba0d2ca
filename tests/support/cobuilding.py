"""Shared pieces of the co-building tests (issue #7): documents, credit codes, fixture rows."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from models import Activity, ActivityState, OrganiserKind, Wish, WishState, uuid7
from resolvers.cobuilding import credit_code_check_char
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv
from tests.support.world import TenantWorld

ERR = "errors { code field message }"
USERS = ["admin", "secretary", "grid1", "grid2", "grid3", "chair", "firm", "resident", "resident4", "secretary2",
         "expired", "nobody"]

CREATE_UNIT = f"""mutation($in: PartnerUnitInput!) {{ createPartnerUnit(input: $in) {{
  partnerUnit {{ id name kind creditCode contactPhone }} {ERR} }} }}"""
UPDATE_UNIT = f"""mutation($in: UpdatePartnerUnitInput!) {{ updatePartnerUnit(input: $in) {{
  partnerUnit {{ id name }} {ERR} }} }}"""
CREATE_AGREEMENT = f"""mutation($in: AgreementInput!) {{ createAgreement(input: $in) {{
  agreement {{ id status version grants areas {{ code name }} communities {{ id name }} }} {ERR} }} }}"""
UPDATE_AGREEMENT = f"""mutation($in: UpdateAgreementInput!) {{ updateAgreement(input: $in) {{
  agreement {{ id status version grants communities {{ name }} }} {ERR} }} }}"""
SET_STATUS = f"""mutation($id: ID!, $s: AgreementStatus!, $v: Int) {{
  setAgreementStatus(input: {{id: $id, status: $s, expectedVersion: $v}}) {{
    agreement {{ id status version inForce }} {ERR} }} }}"""
AGREEMENTS = "query { agreements(first: 100) { totalCount nodes { id title status } } }"
CREATE_CLIENT = f"""mutation($u: ID!, $l: String!) {{ createPartnerClient(input: {{partnerUnitId: $u, label: $l}}) {{
  client {{ id clientId secretVersion revokedAt }} clientSecret {ERR} }} }}"""
ROTATE = f"""mutation($id: ID!) {{ rotatePartnerClientSecret(id: $id) {{
  client {{ id secretVersion }} clientSecret {ERR} }} }}"""
REVOKE = f"""mutation($id: ID!) {{ revokePartnerClient(id: $id) {{ client {{ id revokedAt }} {ERR} }} }}"""


def gid(type_name: str, id_: uuid.UUID) -> str:
    return encode_global_id(type_name, id_)


def community(tw: TenantWorld, key: str) -> str:
    return gid("Community", tw.areas[key])


def credit_code(seq: int) -> str:
    first17 = f"91340302MA2N{seq:05d}"
    return first17 + credit_code_check_char(first17)


def wrong_check(code: str) -> str:
    alt = "0" if code[-1] != "0" else "1"
    return code[:-1] + alt


async def run(api: Api, tw: TenantWorld, key: str, doc: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = await api.gql(tw, key, doc, variables)
    (payload,) = body["data"].values()
    return payload  # type: ignore[no-any-return]


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


def unit_input(name: str, seq: int, kind: str = "SCHOOL") -> dict[str, Any]:
    return {"in": {"name": name, "kind": kind, "creditCode": credit_code(seq), "contactName": "王老师",
                   "contactPhone": "13912345678", "address": "学府路1号"}}


def agreement_input(unit_id: str, communities: list[str], *, grants: list[str] | None = None,
                    valid_from: date | None = None, valid_until: date | None = None,
                    title: str = "共驻共建协议") -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {"in": {
        "partnerUnitId": unit_id, "title": title, "communityParty": "东风社区党委", "communityIds": communities,
        "areas": ["organization", "activities"],
        "grants": grants if grants is not None else ["activity.read", "wish.read", "wish.claim", "statistics.read"],
        "validFrom": (valid_from or today - timedelta(days=30)).isoformat(),
        "validUntil": (valid_until or today + timedelta(days=365)).isoformat(),
        "signatories": [{"name": "王校长", "side": "partner", "title": "校长"},
                        {"name": "李书记", "side": "community", "title": "党委书记"}],
    }}


async def make_unit(api: Api, tw: TenantWorld, name: str, seq: int, key: str = "admin") -> str:
    p = await run(api, tw, key, CREATE_UNIT, unit_input(name, seq))
    assert p["errors"] == [], p
    return p["partnerUnit"]["id"]  # type: ignore[no-any-return]


async def make_agreement(api: Api, tw: TenantWorld, unit: str, communities: list[str], *, activate: bool = True,
                         key: str = "admin", **kw: Any) -> str:
    p = await run(api, tw, key, CREATE_AGREEMENT, agreement_input(unit, communities, **kw))
    assert p["errors"] == [], p
    aid: str = p["agreement"]["id"]
    if activate:
        s = await run(api, tw, key, SET_STATUS, {"id": aid, "s": "ACTIVE", "v": None})
        assert s["errors"] == [], s
    return aid


async def add_activity(db: DbEnv, tw: TenantWorld, area_key: str, title: str, *, starts: datetime,
                       state: ActivityState = ActivityState.PUBLISHED, capacity: int = 20, signed_up: int = 0
                       ) -> uuid.UUID:
    from sqlalchemy import select

    from models import Area

    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            path = (await s.scalars(select(Area.path).where(Area.id == tw.areas[area_key]))).one()
            a = Activity(id=uuid7(), title=title, description="", area_id=tw.areas[area_key], area_path=path,
                         place="活动室", starts_at=starts, ends_at=starts + timedelta(hours=2), capacity=capacity,
                         signed_up=signed_up, organiser_kind=OrganiserKind.COMMUNITY, organiser_name="社区党委",
                         state=state, published_by=tw.users["admin"], created_at=starts - timedelta(days=3))
            s.add(a)
    return a.id


async def add_wish(db: DbEnv, tw: TenantWorld, person_key: str, household_key: str, building_key: str, title: str,
                   state: WishState = WishState.OPEN) -> uuid.UUID:
    now = datetime.now(UTC)
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            w = Wish(id=uuid7(), beneficiary_person_id=tw.persons[person_key],
                     household_id=tw.households[household_key], building_id=tw.areas[building_key], title=title,
                     description="", poster_user_id=tw.users["admin"], state=state, version=1, updated_at=now,
                     created_at=now)
            s.add(w)
    return w.id
