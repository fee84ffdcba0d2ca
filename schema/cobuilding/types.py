"""Co-building (共驻共建, issue #7) in GraphQL: partner units, agreements, partner API clients,
in-service party members (双报到), and the shared views a partner unit's system reads.

The shared types (``Shared*``, ``PartnerAgreement``) are the only ones a partner actor gets data
from; they carry no personal data by construction (tests walk them against an allowlist)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models import Activity as ActivityRow
from models import ActivityState as SharedActivityState
from models import Agreement as AgreementRow
from models import AgreementStatus, PartnerKind, ServiceKind
from models import InServiceMember as InServiceMemberRow
from models import InServiceRecord as InServiceRecordRow
from models import PartnerClient as PartnerClientRow
from models import PartnerUnit as PartnerUnitRow
from models import Wish as WishRow
from models import WishState as SharedWishState
from resolvers import cobuilding as svc
from resolvers import loaders
from resolvers import validation as v
from resolvers.cobuilding import loaders as cl
from resolvers.ids import decode_id, encode_global_id
from schema.common import Connection, Node, UserError, connection, context, graphql_enum, mutate, query_call
from schema.register.types import AreaNode, Person, area_type

graphql_enum(PartnerKind, name="PartnerKind",
             description="Kind of partner unit (共建单位类型).")
graphql_enum(AgreementStatus, name="AgreementStatus",
             description="Status of a co-building agreement (协议状态).")
graphql_enum(ServiceKind, name="InServiceKind",
             description="What an in-service party member's service was (服务类型).")
graphql_enum(SharedActivityState, name="SharedActivityState",
             description="State of a shared activity (活动状态).")
graphql_enum(SharedWishState, name="SharedWishState",
             description="State of a shared wish (心愿状态).")



@strawberry.type(description="One of the 六联创 areas of joint work (六联创领域).")
class LianchuangArea:
    code: str = strawberry.field(description="Code, e.g. activities.")
    name: str = strawberry.field(description="Name, e.g. 活动联办.")


@strawberry.type(description="A community named by id and name (社区).")
class CommunityRef:
    id: strawberry.ID = strawberry.field(description="Global ID of the community.")
    name: str = strawberry.field(description="Name (社区名称).")


def _community_refs(pairs: list[tuple[Any, str]]) -> list[CommunityRef]:
    return [CommunityRef(id=strawberry.ID(encode_global_id("Community", i)), name=n) for i, n in pairs]


@strawberry.type(description="A co-building partner unit (共建单位).")
class PartnerUnit(Node):
    _m: strawberry.Private[PartnerUnitRow]

    @strawberry.field(description="Name (单位名称).")
    def name(self) -> str:
        return self._m.name

    @strawberry.field(description="Kind (类型).")
    def kind(self) -> PartnerKind:
        return self._m.kind

    @strawberry.field(description="Unified social credit code (统一社会信用代码).")
    def credit_code(self) -> str | None:
        return self._m.credit_code

    @strawberry.field(description="Contact person (联系人).")
    def contact_name(self) -> str | None:
        return self._m.contact_name

    @strawberry.field(description="Contact phone (联系电话); masked unless you manage agreements.")
    def contact_phone(self, info: Info) -> str | None:
        if svc.may_read_unit_contact(context(info)):
            return self._m.contact_phone
        return v.mask_phone(self._m.contact_phone)

    @strawberry.field(description="Address (地址).")
    def address(self) -> str | None:
        return self._m.address

    @strawberry.field(description="The unit's API clients (接口凭据), for those who manage its agreements.")
    async def clients(self, info: Info) -> list[PartnerClient]:
        return [PartnerClient(_m=c) for c in await cl.clients_by_partner_unit(context(info)).load(self._m.id)]


@strawberry.type(description="A signatory of an agreement (签约人).")
class Signatory:
    name: str = strawberry.field(description="Name (姓名).")
    side: str = strawberry.field(description="partner or community (签约方).")
    title: str | None = strawberry.field(description="Title, e.g. 党委书记.")


@strawberry.type(description="A co-building agreement (共驻共建协议) and the data it shares.")
class Agreement(Node):
    _m: strawberry.Private[AgreementRow]

    @strawberry.field(description="Title (协议名称).")
    def title(self) -> str:
        return self._m.title

    @strawberry.field(description="The partner unit (共建单位).")
    async def partner_unit(self, info: Info) -> PartnerUnit | None:
        u = await cl.partner_unit_by_id(context(info)).load(self._m.partner_unit_id)
        return None if u is None else PartnerUnit(_m=u)

    @strawberry.field(description="The community side as signed (社区方), e.g. 建峰社区党委.")
    def community_party(self) -> str:
        return self._m.community_party

    @strawberry.field(description="Communities covered (覆盖社区).")
    async def communities(self, info: Info) -> list[AreaNode]:
        pairs = await cl.communities_by_agreement(context(info)).load(self._m.id)
        areas = await loaders.area_by_id(context(info)).load_many([i for i, _n in pairs])
        return [area_type(a) for a in areas if a is not None]

    @strawberry.field(description="The 六联创 areas (六联创领域).")
    def areas(self) -> list[LianchuangArea]:
        return [LianchuangArea(code=c, name=svc.LIANCHUANG[c]) for c in self._m.areas]

    @strawberry.field(description="Shared data, as resource.action: activity.read, wish.read, wish.claim, "
                                  "statistics.read (共享授权).")
    def grants(self) -> list[str]:
        return list(self._m.grants)

    @strawberry.field(description="Valid from (生效日期).")
    def valid_from(self) -> date:
        return self._m.valid_from

    @strawberry.field(description="Valid until (截止日期), inclusive; null: open-ended.")
    def valid_until(self) -> date | None:
        return self._m.valid_until

    @strawberry.field(description="Status (状态).")
    def status(self) -> AgreementStatus:
        return self._m.status

    @strawberry.field(description="In force now: active and today within its validity (当前有效).")
    def in_force(self, info: Info) -> bool:
        from policies.cobuilding.filters import local_date

        today = local_date(context(info).now)
        m = self._m
        return (m.status is AgreementStatus.ACTIVE and m.valid_from <= today
                and (m.valid_until is None or today <= m.valid_until))

    @strawberry.field(description="Signatories (签约人).")
    def signatories(self) -> list[Signatory]:
        return [Signatory(name=s.get("name", ""), side=s.get("side", ""), title=s.get("title"))
                for s in self._m.signatories]

    @strawberry.field(description="Note (备注).")
    def note(self) -> str:
        return self._m.note

    @strawberry.field(description="Version, for expectedVersion.")
    def version(self) -> int:
        return self._m.version


@strawberry.type(description="API credentials of a partner unit's system (接口凭据); the secret is never shown "
                             "again after it is issued.")
class PartnerClient(Node):
    _m: strawberry.Private[PartnerClientRow]

    @strawberry.field(description="client_id for POST /oauth/token.")
    def client_id(self) -> str:
        return self._m.client_id

    @strawberry.field(description="Label (用途), e.g. the system's name.")
    def label(self) -> str:
        return self._m.label

    @strawberry.field(description="How many secrets it has had (1 + rotations).")
    def secret_version(self) -> int:
        return self._m.secret_version

    @strawberry.field(description="Issued at (创建时间).")
    def created_at(self) -> datetime:
        return self._m.created_at

    @strawberry.field(description="Last rotated at (轮换时间).")
    def rotated_at(self) -> datetime | None:
        return self._m.rotated_at

    @strawberry.field(description="Revoked at (吊销时间); a revoked client gets no token and its tokens stop.")
    def revoked_at(self) -> datetime | None:
        return self._m.revoked_at


@strawberry.type(description="An in-service party member registered with a community (在职党员双报到).")
class InServiceMember(Node):
    _m: strawberry.Private[InServiceMemberRow]

    @strawberry.field(description="The person on the register (masked as for any person read).")
    async def person(self, info: Info) -> Person | None:
        p = await loaders.person_by_id(context(info)).load(self._m.person_id)
        return None if p is None else Person(_m=p)

    @strawberry.field(description="The community registered with (报到社区).")
    async def community(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.community_id))

    @strawberry.field(description="Work unit's name (工作单位).")
    def work_unit_name(self) -> str:
        return self._m.work_unit_name

    @strawberry.field(description="The work unit as a partner unit, when it is one.")
    async def partner_unit(self, info: Info) -> PartnerUnit | None:
        if self._m.partner_unit_id is None:
            return None
        u = await cl.partner_unit_by_id(context(info)).load(self._m.partner_unit_id)
        return None if u is None else PartnerUnit(_m=u)

    @strawberry.field(description="Registered on (报到日期).")
    def registered_on(self) -> date:
        return self._m.registered_on


@strawberry.type(description="A service an in-service party member gave (服务记录).")
class InServiceRecord:
    _m: strawberry.Private[InServiceRecordRow]

    @strawberry.field(description="Kind (类型).")
    def kind(self) -> ServiceKind:
        return self._m.kind

    @strawberry.field(description="Served on (服务日期).")
    def served_on(self) -> date:
        return self._m.served_on

    @strawberry.field(description="Hours (时长).")
    def hours(self) -> float:
        return float(self._m.hours)

    @strawberry.field(description="What was done (内容).")
    def description(self) -> str:
        return self._m.description


# ------------------------------------------------------------------ shared views (partners)


@strawberry.type(description="An agreement of your unit in force now, as your system sees it (我的共建协议).")
class PartnerAgreement:
    _m: strawberry.Private[AgreementRow]

    @strawberry.field(description="Global ID of the agreement.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Agreement", self._m.id))

    @strawberry.field(description="Title (协议名称).")
    def title(self) -> str:
        return self._m.title

    @strawberry.field(description="Communities covered (覆盖社区).")
    async def communities(self, info: Info) -> list[CommunityRef]:
        return _community_refs(await cl.communities_by_agreement(context(info)).load(self._m.id))

    @strawberry.field(description="What is shared (共享授权), as resource.action.")
    def grants(self) -> list[str]:
        return list(self._m.grants)

    @strawberry.field(description="The 六联创 areas (六联创领域).")
    def areas(self) -> list[LianchuangArea]:
        return [LianchuangArea(code=c, name=svc.LIANCHUANG[c]) for c in self._m.areas]

    @strawberry.field(description="Valid from (生效日期).")
    def valid_from(self) -> date:
        return self._m.valid_from

    @strawberry.field(description="Valid until (截止日期), inclusive.")
    def valid_until(self) -> date | None:
        return self._m.valid_until


@strawberry.type(description="An activity shared with a partner unit, which it may co-host (共享活动).")
class SharedActivity:
    _m: strawberry.Private[ActivityRow]

    @strawberry.field(description="Global ID of the activity.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Activity", self._m.id))

    @strawberry.field(description="Title (标题).")
    def title(self) -> str:
        return self._m.title

    @strawberry.field(description="Description (介绍).")
    def description(self) -> str:
        return self._m.description

    @strawberry.field(description="Place (地点).")
    def place(self) -> str:
        return self._m.place

    @strawberry.field(description="Starts at (开始时间).")
    def starts_at(self) -> datetime:
        return self._m.starts_at

    @strawberry.field(description="Ends at (结束时间).")
    def ends_at(self) -> datetime:
        return self._m.ends_at

    @strawberry.field(description="Places (名额).")
    def capacity(self) -> int:
        return self._m.capacity

    @strawberry.field(description="Places taken (已报名).")
    def signed_up(self) -> int:
        return self._m.signed_up

    @strawberry.field(description="State (状态).")
    def state(self) -> SharedActivityState:
        return self._m.state

    @strawberry.field(description="Organiser's name (主办方): an organisation, never a person.")
    def organiser_name(self) -> str:
        return self._m.organiser_name

    @strawberry.field(description="The community it is held in (社区).")
    async def community(self, info: Info) -> CommunityRef | None:
        found = await cl.community_by_area(context(info)).load(self._m.area_id)
        return None if found is None else _community_refs([found])[0]


@strawberry.type(description="A wish shared with a partner unit (共享心愿): no beneficiary identity, ever.")
class SharedWish:
    _m: strawberry.Private[WishRow]

    @strawberry.field(description="Global ID of the wish (for claimSharedWish).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Wish", self._m.id))

    @strawberry.field(description="Title (心愿).")
    def title(self) -> str:
        return self._m.title

    @strawberry.field(description="Description (描述).")
    def description(self) -> str:
        return self._m.description

    @strawberry.field(description="State (状态).")
    def state(self) -> SharedWishState:
        return self._m.state

    @strawberry.field(description="Posted at (发布时间).")
    def posted_at(self) -> datetime:
        return self._m.created_at

    @strawberry.field(description="True when your unit claimed it (本单位认领).")
    def claimed_by_us(self, info: Info) -> bool:
        return self._m.claimant_user_id == context(info).actor.user_id

    @strawberry.field(description="The community it is in (社区).")
    async def community(self, info: Info) -> CommunityRef | None:
        found = await cl.community_by_area(context(info)).load(self._m.building_id)
        return None if found is None else _community_refs([found])[0]

    @strawberry.field(description="Version, for expectedVersion.")
    def version(self) -> int:
        return self._m.version


@strawberry.type(description="A count per key (计数).")
class SharedCount:
    key: str = strawberry.field(description="State or category code.")
    count: int = strawberry.field(description="How many.")


def _counts(d: dict[str, int]) -> list[SharedCount]:
    return [SharedCount(key=k, count=n) for k, n in sorted(d.items())]


@strawberry.type(description="Aggregate case figures of a community (事件统计), no case itself.")
class SharedCaseFigures:
    total: int = strawberry.field(description="Cases reported in the period.")
    by_state: list[SharedCount] = strawberry.field(description="Per state.")
    by_category: list[SharedCount] = strawberry.field(description="Per category code.")
    resolved: int = strawberry.field(description="Resolved.")
    on_time_rate: float | None = strawberry.field(description="Resolved on time / resolved with a due time.")
    mean_handling_hours: float | None = strawberry.field(description="Mean hours from report to resolution.")
    satisfaction_rate: float | None = strawberry.field(description="Satisfied / with feedback.")


@strawberry.type(description="Aggregate activity figures of a community (活动统计).")
class SharedActivityFigures:
    total: int = strawberry.field(description="Activities starting in the period.")
    by_state: list[SharedCount] = strawberry.field(description="Per state.")
    places: int = strawberry.field(description="Places offered.")
    signed_up: int = strawberry.field(description="Places taken.")


@strawberry.type(description="Aggregate figures shared with a partner unit for a community (共享统计).")
class SharedStatistics:
    community: CommunityRef = strawberry.field(description="The community.")
    cases: SharedCaseFigures = strawberry.field(description="Cases (事件).")
    activities: SharedActivityFigures = strawberry.field(description="Activities (活动).")


def _shared_stats(s: svc.SharedStatistics) -> SharedStatistics:
    c = s.cases
    return SharedStatistics(
        community=_community_refs([(s.community_id, s.community_name)])[0],
        cases=SharedCaseFigures(total=c.total, by_state=_counts(c.by_state), by_category=_counts(c.by_category),
                                resolved=c.resolved, on_time_rate=c.on_time_rate,
                                mean_handling_hours=c.mean_handling_hours, satisfaction_rate=c.satisfaction_rate),
        activities=SharedActivityFigures(total=s.activities.total, by_state=_counts(s.activities.by_state),
                                         places=s.activities.places, signed_up=s.activities.signed_up),
    )


@strawberry.type(description="A work unit's in-service party members' service in a period (双报到服务汇总).")
class InServiceSummary:
    members: int = strawberry.field(description="Members registered (报到人数).")
    records: int = strawberry.field(description="Services recorded (服务次数).")
    hours: float = strawberry.field(description="Hours served (服务时长).")
    wishes: int = strawberry.field(description="Wishes fulfilled (认领心愿).")
    activities: int = strawberry.field(description="Activities joined (参加活动).")


# ------------------------------------------------------------------ queries


@strawberry.type
class CobuildingQuery:
    @strawberry.field(description="Partner units (共建单位), for those who read agreements.")
    async def partner_units(
        self, info: Info, kind: PartnerKind | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[PartnerUnit]:
        page = await query_call(svc.list_partner_units(context(info), kind=kind, first=first, after=after))
        return connection(page, lambda m: PartnerUnit(_m=m))  # type: ignore[no-any-return]

    @strawberry.field(description="Co-building agreements (共驻共建协议) covering a community in your scope.")
    async def agreements(
        self, info: Info, partner_unit_id: strawberry.ID | None = None, community_id: strawberry.ID | None = None,
        statuses: list[AgreementStatus] | None = None,
        active_on: date | None = None, first: int | None = None, after: str | None = None,
    ) -> Connection[Agreement]:
        unit = decode_id(partner_unit_id, "PartnerUnit", "partnerUnitId")
        community = decode_id(community_id, "Community", "communityId")
        page = await query_call(svc.list_agreements(
            context(info), partner_unit_id=unit, community_id=community, statuses=statuses, active_on=active_on,
            first=first, after=after))
        return connection(page, lambda m: Agreement(_m=m))  # type: ignore[no-any-return]

    @strawberry.field(description="The 六联创 areas an agreement may name (六联创).")
    def lianchuang_areas(self) -> list[LianchuangArea]:
        return [LianchuangArea(code=c, name=n) for c, n in svc.LIANCHUANG.items()]

    @strawberry.field(description="In-service party members (双报到党员) registered in your scope.")
    async def inservice_members(
        self, info: Info, community_id: strawberry.ID | None = None, partner_unit_id: strawberry.ID | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[InServiceMember]:
        community = decode_id(community_id, "Community", "communityId")
        unit = decode_id(partner_unit_id, "PartnerUnit", "partnerUnitId")
        page = await query_call(svc.list_inservice_members(context(info), community_id=community,
                                                           partner_unit_id=unit, first=first, after=after))
        return connection(page, lambda m: InServiceMember(_m=m))  # type: ignore[no-any-return]

    @strawberry.field(description="A work unit's in-service members' service (双报到汇总): a partner unit's own "
                                  "system reads its own; staff name the unit.")
    async def inservice_summary(
        self, info: Info,
        from_: Annotated[date, strawberry.argument(name="from", description="First day (inclusive).")],
        to: Annotated[date, strawberry.argument(description="Last day (inclusive).")],
        partner_unit_id: strawberry.ID | None = None,
    ) -> InServiceSummary:
        unit = decode_id(partner_unit_id, "PartnerUnit", "partnerUnitId")
        s = await query_call(svc.inservice_summary(context(info), partner_unit_id=unit, start=from_, end=to))
        return InServiceSummary(members=s.members, records=s.records, hours=float(s.hours), wishes=s.wishes,
                                activities=s.activities)

    # ---- partner units' systems

    @strawberry.field(description="Partner systems: your unit's agreements in force now (我的协议).")
    async def my_agreements(self, info: Info) -> list[PartnerAgreement]:
        return [PartnerAgreement(_m=m) for m in await query_call(svc.my_agreements(context(info)))]

    @strawberry.field(description="Partner systems: activities your agreements share (共享活动), newest first.")
    async def shared_activities(self, info: Info, first: int | None = None, after: str | None = None
                                ) -> Connection[SharedActivity]:
        page = await query_call(svc.shared_activities(context(info), first=first, after=after))
        return connection(page, lambda m: SharedActivity(_m=m))  # type: ignore[no-any-return]

    @strawberry.field(description="Partner systems: open wishes your agreements share, and those you "
                                  "claimed (共享心愿).")
    async def shared_wishes(self, info: Info, first: int | None = None, after: str | None = None
                            ) -> Connection[SharedWish]:
        page = await query_call(svc.shared_wishes(context(info), first=first, after=after))
        return connection(page, lambda m: SharedWish(_m=m))  # type: ignore[no-any-return]

    @strawberry.field(description="Partner systems: aggregate figures of a covered community (共享统计).")
    async def shared_statistics(
        self, info: Info, community_id: strawberry.ID,
        from_: Annotated[date, strawberry.argument(name="from", description="First local day (inclusive).")],
        to: Annotated[date, strawberry.argument(description="Last local day (inclusive).")],
    ) -> SharedStatistics:
        cid = decode_id(community_id, "Community", "communityId")
        return _shared_stats(await query_call(svc.shared_statistics(context(info), cid, from_, to)))


# ------------------------------------------------------------------ mutations


@strawberry.input(description="A partner unit (共建单位).")
class PartnerUnitInput:
    name: str = strawberry.field(description="Name, unique in the tenant.")
    kind: PartnerKind = strawberry.field(description="Kind.")
    credit_code: str | None = strawberry.field(default=None, description="Unified social credit code (18 "
                                               "characters, check character verified).")
    contact_name: str | None = strawberry.field(default=None, description="Contact person.")
    contact_phone: str | None = strawberry.field(default=None, description="Contact phone.")
    address: str | None = strawberry.field(default=None, description="Address.")


@strawberry.input(description="Change a partner unit.")
class UpdatePartnerUnitInput(PartnerUnitInput):
    id: strawberry.ID = strawberry.field(description="The unit.")


@strawberry.input(description="A signatory (签约人).")
class SignatoryInput:
    name: str = strawberry.field(description="Name.")
    side: str = strawberry.field(description="partner or community.")
    title: str | None = strawberry.field(default=None, description="Title, e.g. 校长.")


@strawberry.input(description="A co-building agreement (共驻共建协议); created as a draft.")
class AgreementInput:
    partner_unit_id: strawberry.ID = strawberry.field(description="The partner unit.")
    title: str = strawberry.field(description="Title.")
    community_party: str = strawberry.field(description="The community side as signed, e.g. 建峰社区党委.")
    community_ids: list[strawberry.ID] = strawberry.field(description="Communities covered; all in your scope.")
    areas: list[str] = strawberry.field(description="六联创 area codes (see lianchuangAreas).")
    grants: list[str] = strawberry.field(description="Shared: activity.read, wish.read, wish.claim, "
                                         "statistics.read.")
    valid_from: date = strawberry.field(description="Valid from.")
    valid_until: date | None = strawberry.field(default=None, description="Valid until, inclusive.")
    signatories: list[SignatoryInput] = strawberry.field(default_factory=list, description="Signatories.")
    note: str | None = strawberry.field(default=None, description="Note.")


@strawberry.input(description="Change an agreement (not once expired or terminated).")
class UpdateAgreementInput(AgreementInput):
    id: strawberry.ID = strawberry.field(description="The agreement.")
    expected_version: int | None = strawberry.field(default=None, description="The version you saw.")


@strawberry.input(description="Move an agreement to a status: draft→active; active↔suspended; active or "
                              "suspended→expired or terminated.")
class SetAgreementStatusInput:
    id: strawberry.ID = strawberry.field(description="The agreement.")
    status: AgreementStatus = strawberry.field(description="The new status.")
    expected_version: int | None = strawberry.field(default=None, description="The version you saw.")


@strawberry.input(description="Issue API credentials to a partner unit's system.")
class CreatePartnerClientInput:
    partner_unit_id: strawberry.ID = strawberry.field(description="The unit.")
    label: str = strawberry.field(description="What system uses them.")


@strawberry.input(description="A partner claims a shared wish.")
class ClaimSharedWishInput:
    id: strawberry.ID = strawberry.field(description="The wish (from sharedWishes).")
    expected_version: int | None = strawberry.field(default=None, description="The version you saw.")


@strawberry.input(description="A partner reports a claimed wish fulfilled.")
class FulfilSharedWishInput:
    id: strawberry.ID = strawberry.field(description="The wish your unit claimed.")
    note: str | None = strawberry.field(default=None, description="What was done, at most 1000 characters.")
    expected_version: int | None = strawberry.field(default=None, description="The version you saw.")


@strawberry.input(description="Register an in-service party member with a community (双报到).")
class RegisterInServiceInput:
    person_id: strawberry.ID = strawberry.field(description="The party member on the register.")
    community_id: strawberry.ID = strawberry.field(description="Where they live or serve.")
    partner_unit_id: strawberry.ID | None = strawberry.field(default=None, description="Their work unit, when "
                                                             "it is a partner unit.")
    work_unit_name: str | None = strawberry.field(default=None, description="Else the work unit's name.")
    registered_on: date = strawberry.field(description="Registered on.")


@strawberry.input(description="Record an in-service member's service.")
class RecordInServiceInput:
    member_id: strawberry.ID = strawberry.field(description="The registered member.")
    kind: ServiceKind = strawberry.field(description="Kind.")
    served_on: date = strawberry.field(description="Day served.")
    hours: float = strawberry.field(description="Hours, 0–24.")
    description: str = strawberry.field(description="What was done.")
    wish_id: strawberry.ID | None = strawberry.field(default=None, description="The wish, for kind WISH.")
    activity_id: strawberry.ID | None = strawberry.field(default=None, description="The activity, for ACTIVITY.")


@strawberry.type(description="Result of a partner unit mutation.")
class PartnerUnitPayload:
    partner_unit: PartnerUnit | None = strawberry.field(description="The unit, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of an agreement mutation.")
class AgreementPayload:
    agreement: Agreement | None = strawberry.field(description="The agreement, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of issuing or rotating credentials: the secret is shown this once.")
class PartnerClientPayload:
    client: PartnerClient | None = strawberry.field(description="The client, on success.")
    client_secret: str | None = strawberry.field(description="The new secret; store it now, it is kept only "
                                                 "hashed.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of claimSharedWish.")
class SharedWishPayload:
    wish: SharedWish | None = strawberry.field(description="The wish, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of registerInServiceMember.")
class InServiceMemberPayload:
    member: InServiceMember | None = strawberry.field(description="The member, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of recordInServiceService.")
class InServiceRecordPayload:
    record: InServiceRecord | None = strawberry.field(description="The record, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


def _unit_data(input: PartnerUnitInput) -> svc.PartnerUnitInput:
    return svc.PartnerUnitInput(name=input.name, kind=input.kind, credit_code=input.credit_code,
                                contact_name=input.contact_name, contact_phone=input.contact_phone,
                                address=input.address)


def _agreement_data(input: AgreementInput) -> svc.AgreementInput:
    return svc.AgreementInput(
        partner_unit_id=decode_id(input.partner_unit_id, "PartnerUnit", "partnerUnitId"), title=input.title,
        community_party=input.community_party,
        community_ids=[decode_id(c, "Community", "communityIds") for c in input.community_ids],
        areas=list(input.areas), grants=list(input.grants), valid_from=input.valid_from,
        valid_until=input.valid_until,
        signatories=[svc.Signatory(name=s.name, side=s.side, title=s.title) for s in input.signatories],
        note=input.note)


def _client_payload(result: Any, errors: list[UserError]) -> PartnerClientPayload:
    if result is None:
        return PartnerClientPayload(client=None, client_secret=None, errors=errors)
    client, secret = result
    return PartnerClientPayload(client=PartnerClient(_m=client), client_secret=secret, errors=errors)


@strawberry.type
class CobuildingMutation:
    @strawberry.mutation(description="Add a partner unit (新增共建单位); whoever manages agreements.")
    async def create_partner_unit(self, info: Info, input: PartnerUnitInput) -> PartnerUnitPayload:
        async def run() -> Any:
            return await svc.create_partner_unit(context(info), _unit_data(input))

        row, errors = await mutate(info, run)
        return PartnerUnitPayload(partner_unit=None if row is None else PartnerUnit(_m=row), errors=errors)

    @strawberry.mutation(description="Change a partner unit (修改共建单位).")
    async def update_partner_unit(self, info: Info, input: UpdatePartnerUnitInput) -> PartnerUnitPayload:
        async def run() -> Any:
            return await svc.update_partner_unit(context(info), decode_id(input.id, "PartnerUnit", "id"),
                                                 _unit_data(input))

        row, errors = await mutate(info, run)
        return PartnerUnitPayload(partner_unit=None if row is None else PartnerUnit(_m=row), errors=errors)

    @strawberry.mutation(description="Draft a co-building agreement (起草共建协议).")
    async def create_agreement(self, info: Info, input: AgreementInput) -> AgreementPayload:
        async def run() -> Any:
            return await svc.create_agreement(context(info), _agreement_data(input))

        row, errors = await mutate(info, run)
        return AgreementPayload(agreement=None if row is None else Agreement(_m=row), errors=errors)

    @strawberry.mutation(description="Change an agreement (修改共建协议).")
    async def update_agreement(self, info: Info, input: UpdateAgreementInput) -> AgreementPayload:
        async def run() -> Any:
            return await svc.update_agreement(context(info), decode_id(input.id, "Agreement", "id"),
                                              _agreement_data(input), input.expected_version)

        row, errors = await mutate(info, run)
        return AgreementPayload(agreement=None if row is None else Agreement(_m=row), errors=errors)

    @strawberry.mutation(description="Activate, suspend, expire or terminate an agreement (协议状态).")
    async def set_agreement_status(self, info: Info, input: SetAgreementStatusInput) -> AgreementPayload:
        async def run() -> Any:
            return await svc.set_agreement_status(context(info), decode_id(input.id, "Agreement", "id"), input.status,
                                                  input.expected_version)

        row, errors = await mutate(info, run)
        return AgreementPayload(agreement=None if row is None else Agreement(_m=row), errors=errors)

    @strawberry.mutation(description="Issue API credentials to a partner unit's system (签发接口凭据).")
    async def create_partner_client(self, info: Info, input: CreatePartnerClientInput) -> PartnerClientPayload:
        async def run() -> Any:
            return await svc.create_partner_client(
                context(info), decode_id(input.partner_unit_id, "PartnerUnit", "partnerUnitId"), input.label)

        return _client_payload(*await mutate(info, run))

    @strawberry.mutation(description="Rotate a client's secret (轮换密钥): the old one gets no token from now on.")
    async def rotate_partner_client_secret(self, info: Info, id: strawberry.ID) -> PartnerClientPayload:
        async def run() -> Any:
            return await svc.rotate_partner_client_secret(context(info), decode_id(id, "PartnerClient", "id"))

        return _client_payload(*await mutate(info, run))

    @strawberry.mutation(description="Revoke a client (吊销凭据): no token, and its tokens stop at once.")
    async def revoke_partner_client(self, info: Info, id: strawberry.ID) -> PartnerClientPayload:
        async def run() -> Any:
            return (await svc.revoke_partner_client(context(info), decode_id(id, "PartnerClient", "id")), None)

        return _client_payload(*await mutate(info, run))

    @strawberry.mutation(description="Partner systems: claim a shared open wish (认领心愿).")
    async def claim_shared_wish(self, info: Info, input: ClaimSharedWishInput) -> SharedWishPayload:
        async def run() -> Any:
            return await svc.claim_shared_wish(context(info), decode_id(input.id, "Wish", "id"), input.expected_version)

        row, errors = await mutate(info, run)
        return SharedWishPayload(wish=None if row is None else SharedWish(_m=row), errors=errors)

    @strawberry.mutation(description="Partner systems: report a wish your unit claimed as fulfilled (完成心愿).")
    async def fulfil_shared_wish(self, info: Info, input: FulfilSharedWishInput) -> SharedWishPayload:
        async def run() -> Any:
            return await svc.fulfil_shared_wish(context(info), decode_id(input.id, "Wish", "id"), input.note,
                                                input.expected_version)

        row, errors = await mutate(info, run)
        return SharedWishPayload(wish=None if row is None else SharedWish(_m=row), errors=errors)

    @strawberry.mutation(description="Register an in-service party member with a community (双报到).")
    async def register_inservice_member(self, info: Info, input: RegisterInServiceInput) -> InServiceMemberPayload:
        async def run() -> Any:
            return await svc.register_inservice_member(context(info), svc.RegisterInServiceInput(
                person_id=decode_id(input.person_id, "Person", "personId"),
                community_id=decode_id(input.community_id, "Community", "communityId"),
                partner_unit_id=None if input.partner_unit_id is None else
                decode_id(input.partner_unit_id, "PartnerUnit", "partnerUnitId"),
                work_unit_name=input.work_unit_name, registered_on=input.registered_on))

        row, errors = await mutate(info, run)
        return InServiceMemberPayload(member=None if row is None else InServiceMember(_m=row), errors=errors)

    @strawberry.mutation(description="Record an in-service member's service (记录服务).")
    async def record_inservice_service(self, info: Info, input: RecordInServiceInput) -> InServiceRecordPayload:
        async def run() -> Any:
            return await svc.record_inservice_service(context(info), svc.ServiceRecordInput(
                member_id=decode_id(input.member_id, "InServiceMember", "memberId"), kind=input.kind,
                served_on=input.served_on, hours=Decimal(str(input.hours)).quantize(Decimal("0.01")),
                description=input.description,
                wish_id=decode_id(input.wish_id, "Wish", "wishId"),
                activity_id=decode_id(input.activity_id, "Activity", "activityId")))

        row, errors = await mutate(info, run)
        return InServiceRecordPayload(record=None if row is None else InServiceRecord(_m=row), errors=errors)


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
