"""Co-building's staff types: partner units, agreements, partner API clients, in-service party
members (双报到) and their records and summary, and how ``node(id:)`` finds the node types."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.types import Info

from models import Agreement as AgreementRow
from models import InServiceMember as InServiceMemberRow
from models import InServiceRecord as InServiceRecordRow
from models import PartnerClient as PartnerClientRow
from models import PartnerUnit as PartnerUnitRow
from resolvers import cobuilding as svc
from resolvers import loaders
from resolvers import validation as v
from resolvers.cobuilding import loaders as cl
from schema.cobuilding.enums import (
    AgreementGrant,
    AgreementStatus,
    PartnerKind,
    ServiceKind,
    SignatoryParty,
    grants_of,
    party_of,
)
from schema.columns import column_field
from schema.common import Node, context, field, legacy_string_reason
from schema.register import AreaNode, Person, area_type


@strawberry.type(description="One of the 六联创 areas of joint work (六联创领域).")
class LianchuangArea:
    code: str = strawberry.field(description="Code, e.g. activities.")
    name: str = strawberry.field(description="Name, e.g. 活动联办.")


@strawberry.type(description="A co-building partner unit (共建单位).")
class PartnerUnit(Node):
    _m: strawberry.Private[PartnerUnitRow]

    name = column_field("name", str, description="Name (单位名称).")
    kind = column_field("kind", PartnerKind, description="Kind (类型).")
    credit_code = column_field("credit_code", str | None, description="Unified social credit code (统一社会信用代码).")
    contact_name = column_field("contact_name", str | None, description="Contact person (联系人).")

    @field(description="Contact phone (联系电话); masked unless you manage agreements.")
    def contact_phone(self, info: Info) -> str | None:
        if svc.may_read_unit_contact(context(info)):
            return self._m.contact_phone
        return v.mask_phone(self._m.contact_phone)

    address = column_field("address", str | None, description="Address (地址).")

    @field(description="The unit's API clients (接口凭据), for those who manage its agreements.")
    async def clients(self, info: Info) -> list[PartnerClient]:
        return [PartnerClient(_m=c) for c in await cl.clients_by_partner_unit(context(info)).load(self._m.id)]


@strawberry.type(description="A signatory of an agreement (签约人).")
class Signatory:
    name: str = strawberry.field(description="Name (姓名).")
    side: str = strawberry.field(description="partner or community (签约方).",
                                 deprecation_reason=legacy_string_reason("party"))
    party: SignatoryParty | None = strawberry.field(
        default=None, description="The side signed for (签约方); null only for a value this schema does not know.")
    title: str | None = strawberry.field(description="Title, e.g. 党委书记.")


@strawberry.type(description="A co-building agreement (共驻共建协议) and the data it shares.")
class Agreement(Node):
    _m: strawberry.Private[AgreementRow]

    @field(description="Title (协议名称).")
    def title(self) -> str:
        return self._m.title

    @field(description="The partner unit (共建单位).")
    async def partner_unit(self, info: Info) -> PartnerUnit | None:
        u = await cl.partner_unit_by_id(context(info)).load(self._m.partner_unit_id)
        return None if u is None else PartnerUnit(_m=u)

    @field(description="The community side as signed (社区方), e.g. 建峰社区党委.")
    def community_party(self) -> str:
        return self._m.community_party

    @field(description="Communities covered (覆盖社区).")
    async def communities(self, info: Info) -> list[AreaNode]:
        pairs = await cl.communities_by_agreement(context(info)).load(self._m.id)
        areas = await loaders.area_by_id(context(info)).load_many([i for i, _n in pairs])
        return [area_type(a) for a in areas if a is not None]

    @field(description="The 六联创 areas (六联创领域).")
    def areas(self) -> list[LianchuangArea]:
        return [LianchuangArea(code=c, name=svc.LIANCHUANG[c]) for c in self._m.areas]

    @field(description="Shared data, as resource.action: activity.read, wish.read, wish.claim, "
                       "statistics.read (共享授权).",
           deprecation_reason=legacy_string_reason("sharedData"))
    def grants(self) -> list[str]:
        return list(self._m.grants)

    @field(description="Data shared with the partner's system (共享授权).")
    def shared_data(self) -> list[AgreementGrant]:
        return grants_of(list(self._m.grants))

    @field(description="Valid from (生效日期).")
    def valid_from(self) -> date:
        return self._m.valid_from

    @field(description="Valid until (截止日期), inclusive; null: open-ended.")
    def valid_until(self) -> date | None:
        return self._m.valid_until

    @field(description="Status (状态).")
    def status(self) -> AgreementStatus:
        return self._m.status

    @field(description="In force now: active and today within its validity (当前有效).")
    def in_force(self, info: Info) -> bool:
        from policies.cobuilding.filters import local_date

        today = local_date(context(info).now)
        m = self._m
        return (m.status is AgreementStatus.ACTIVE and m.valid_from <= today
                and (m.valid_until is None or today <= m.valid_until))

    @field(description="Signatories (签约人).")
    def signatories(self) -> list[Signatory]:
        return [Signatory(name=s.get("name", ""), side=s.get("side", ""), party=party_of(s.get("side")),
                          title=s.get("title"))
                for s in self._m.signatories]

    @field(description="Note (备注).")
    def note(self) -> str:
        return self._m.note

    @field(description="Version, for expectedVersion.")
    def version(self) -> int:
        return self._m.version


@strawberry.type(description="API credentials of a partner unit's system (接口凭据); the secret is never shown "
                             "again after it is issued.")
class PartnerClient(Node):
    _m: strawberry.Private[PartnerClientRow]

    @field(description="client_id for POST /oauth/token.")
    def client_id(self) -> str:
        return self._m.client_id

    @field(description="Label (用途), e.g. the system's name.")
    def label(self) -> str:
        return self._m.label

    @field(description="How many secrets it has had (1 + rotations).")
    def secret_version(self) -> int:
        return self._m.secret_version

    @field(description="Issued at (创建时间).")
    def created_at(self) -> datetime:
        return self._m.created_at

    @field(description="Last rotated at (轮换时间).")
    def rotated_at(self) -> datetime | None:
        return self._m.rotated_at

    @field(description="Revoked at (吊销时间); a revoked client gets no token and its tokens stop.")
    def revoked_at(self) -> datetime | None:
        return self._m.revoked_at


@strawberry.type(description="An in-service party member registered with a community (在职党员双报到).")
class InServiceMember(Node):
    _m: strawberry.Private[InServiceMemberRow]

    @field(description="The person on the register (masked as for any person read).")
    async def person(self, info: Info) -> Person | None:
        p = await loaders.person_by_id(context(info)).load(self._m.person_id)
        return None if p is None else Person(_m=p)

    @field(description="The community registered with (报到社区).")
    async def community(self, info: Info) -> AreaNode | None:
        community: AreaNode | None = area_type(await loaders.area_by_id(context(info)).load(self._m.community_id))
        return community

    @field(description="Work unit's name (工作单位).")
    def work_unit_name(self) -> str:
        return self._m.work_unit_name

    @field(description="The work unit as a partner unit, when it is one.")
    async def partner_unit(self, info: Info) -> PartnerUnit | None:
        if self._m.partner_unit_id is None:
            return None
        u = await cl.partner_unit_by_id(context(info)).load(self._m.partner_unit_id)
        return None if u is None else PartnerUnit(_m=u)

    @field(description="Registered on (报到日期).")
    def registered_on(self) -> date:
        return self._m.registered_on


@strawberry.type(description="A service an in-service party member gave (服务记录).")
class InServiceRecord:
    _m: strawberry.Private[InServiceRecordRow]

    @field(description="Kind (类型).")
    def kind(self) -> ServiceKind:
        return self._m.kind

    @field(description="Served on (服务日期).")
    def served_on(self) -> date:
        return self._m.served_on

    @field(description="Hours (时长).")
    def hours(self) -> float:
        return float(self._m.hours)

    @field(description="What was done (内容).")
    def description(self) -> str:
        return self._m.description


@strawberry.type(description="A work unit's in-service party members' service in a period (双报到服务汇总).")
class InServiceSummary:
    members: int = strawberry.field(description="Members registered (报到人数).")
    records: int = strawberry.field(description="Services recorded (服务次数).")
    hours: float = strawberry.field(description="Hours served (服务时长).")
    wishes: int = strawberry.field(description="Wishes fulfilled (认领心愿).")
    activities: int = strawberry.field(description="Activities joined (参加活动).")


COBUILDING_TYPES: tuple[type, ...] = (PartnerUnit, Agreement, PartnerClient, InServiceMember)


async def resolve_cobuilding_node(info: Info, type_name: str, id_: Any) -> Any:
    ctx = context(info)
    if type_name == "PartnerUnit":
        u = await svc.get_partner_unit(ctx, id_)
        return None if u is None else PartnerUnit(_m=u)
    if type_name == "Agreement":
        a = await svc.get_agreement(ctx, id_)
        return None if a is None else Agreement(_m=a)
    if type_name == "PartnerClient":
        c = await svc.get_partner_client(ctx, id_)
        return None if c is None else PartnerClient(_m=c)
    if type_name == "InServiceMember":
        m = await svc.get_inservice_member(ctx, id_)
        return None if m is None else InServiceMember(_m=m)
    return None
