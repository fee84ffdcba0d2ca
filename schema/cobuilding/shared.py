"""The shared types, the only ones a partner actor gets data from (``Shared*``,
``PartnerAgreement``, ``CommunityRef``): no personal data by construction (tests walk them
against an allowlist)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.types import Info

from models import Activity as ActivityRow
from models import Agreement as AgreementRow
from models import CaseState
from models import Wish as WishRow
from resolvers import cobuilding as svc
from resolvers.cobuilding import loaders as cl
from resolvers.ids import encode_global_id
from schema.cobuilding.enums import AgreementGrant, SharedActivityState, SharedWishState, grants_of
from schema.cobuilding.types import (
    LianchuangArea,
)
from schema.common import context, field, legacy_string_reason


@strawberry.type(description="A community named by id and name (社区).")
class CommunityRef:
    id: strawberry.ID = strawberry.field(description="Global ID of the community.")
    name: str = strawberry.field(description="Name (社区名称).")


def _community_refs(pairs: list[tuple[Any, str]]) -> list[CommunityRef]:
    return [CommunityRef(id=strawberry.ID(encode_global_id("Community", i)), name=n) for i, n in pairs]


@strawberry.type(description="An agreement of your unit in force now, as your system sees it (我的共建协议).")
class PartnerAgreement:
    _m: strawberry.Private[AgreementRow]

    @field(description="Global ID of the agreement.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Agreement", self._m.id))

    @field(description="Title (协议名称).")
    def title(self) -> str:
        return self._m.title

    @field(description="Communities covered (覆盖社区).")
    async def communities(self, info: Info) -> list[CommunityRef]:
        return _community_refs(await cl.communities_by_agreement(context(info)).load(self._m.id))

    @field(description="What is shared (共享授权), as resource.action.",
           deprecation_reason=legacy_string_reason("sharedData"))
    def grants(self) -> list[str]:
        return list(self._m.grants)

    @field(description="What is shared with your system (共享授权).")
    def shared_data(self) -> list[AgreementGrant]:
        return grants_of(list(self._m.grants))

    @field(description="The 六联创 areas (六联创领域).")
    def areas(self) -> list[LianchuangArea]:
        return [LianchuangArea(code=c, name=svc.LIANCHUANG[c]) for c in self._m.areas]

    @field(description="Valid from (生效日期).")
    def valid_from(self) -> date:
        return self._m.valid_from

    @field(description="Valid until (截止日期), inclusive.")
    def valid_until(self) -> date | None:
        return self._m.valid_until


@strawberry.type(description="An activity shared with a partner unit, which it may co-host (共享活动).")
class SharedActivity:
    _m: strawberry.Private[ActivityRow]

    @field(description="Global ID of the activity.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Activity", self._m.id))

    @field(description="Title (标题).")
    def title(self) -> str:
        return self._m.title

    @field(description="Description (介绍).")
    def description(self) -> str:
        return self._m.description

    @field(description="Place (地点).")
    def place(self) -> str:
        return self._m.place

    @field(description="Starts at (开始时间).")
    def starts_at(self) -> datetime:
        return self._m.starts_at

    @field(description="Ends at (结束时间).")
    def ends_at(self) -> datetime:
        return self._m.ends_at

    @field(description="Places (名额).")
    def capacity(self) -> int:
        return self._m.capacity

    @field(description="Places taken (已报名).")
    def signed_up(self) -> int:
        return self._m.signed_up

    @field(description="State (状态).")
    def state(self) -> SharedActivityState:
        return self._m.state

    @field(description="Organiser's name (主办方): an organisation, never a person.")
    def organiser_name(self) -> str:
        return self._m.organiser_name

    @field(description="The community it is held in (社区).")
    async def community(self, info: Info) -> CommunityRef | None:
        found = await cl.community_by_area(context(info)).load(self._m.area_id)
        return None if found is None else _community_refs([found])[0]


@strawberry.type(description="A wish shared with a partner unit (共享心愿): no beneficiary identity, ever.")
class SharedWish:
    _m: strawberry.Private[WishRow]

    @field(description="Global ID of the wish (for claimSharedWish).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id("Wish", self._m.id))

    @field(description="Title (心愿).")
    def title(self) -> str:
        return self._m.title

    @field(description="Description (描述).")
    def description(self) -> str:
        return self._m.description

    @field(description="State (状态).")
    def state(self) -> SharedWishState:
        return self._m.state

    @field(description="Posted at (发布时间).")
    def posted_at(self) -> datetime:
        return self._m.created_at

    @field(description="True when your unit claimed it (本单位认领).")
    def claimed_by_us(self, info: Info) -> bool:
        return self._m.claimant_user_id == context(info).actor.user_id

    @field(description="The community it is in (社区).")
    async def community(self, info: Info) -> CommunityRef | None:
        found = await cl.community_by_area(context(info)).load(self._m.building_id)
        return None if found is None else _community_refs([found])[0]

    @field(description="Version, for expectedVersion.")
    def version(self) -> int:
        return self._m.version


@strawberry.type(description="A count per key (计数).")
class SharedCount:
    key: str = strawberry.field(description="State or category code.")
    count: int = strawberry.field(description="How many.")
    case_state: CaseState | None = strawberry.field(
        default=None, description="The case state counted (事件状态), on cases.byState; null elsewhere.")
    activity_state: SharedActivityState | None = strawberry.field(
        default=None, description="The activity state counted (活动状态), on activities.byState; null elsewhere.")


def _counts(d: dict[str, int]) -> list[SharedCount]:
    return [SharedCount(key=k, count=n) for k, n in sorted(d.items())]


def _case_states(d: dict[str, int]) -> list[SharedCount]:
    known = {s.value: s for s in CaseState}
    return [SharedCount(key=k, count=n, case_state=known.get(k)) for k, n in sorted(d.items())]


def _activity_states(d: dict[str, int]) -> list[SharedCount]:
    known = {s.value: s for s in SharedActivityState}
    return [SharedCount(key=k, count=n, activity_state=known.get(k)) for k, n in sorted(d.items())]


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


def shared_stats(s: svc.SharedStatistics) -> SharedStatistics:
    c = s.cases
    return SharedStatistics(
        community=_community_refs([(s.community_id, s.community_name)])[0],
        cases=SharedCaseFigures(total=c.total, by_state=_case_states(c.by_state), by_category=_counts(c.by_category),
                                resolved=c.resolved, on_time_rate=c.on_time_rate,
                                mean_handling_hours=c.mean_handling_hours, satisfaction_rate=c.satisfaction_rate),
        activities=SharedActivityFigures(total=s.activities.total, by_state=_activity_states(s.activities.by_state),
                                         places=s.activities.places, signed_up=s.activities.signed_up),
    )
