"""Volunteering and points (志愿活动与积分) in GraphQL: activities, sign-ups and hours, the points
ledger, the reward catalogue and redemptions (积分兑换)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models import Activity as ActivityRow
from models import ActivitySignup as ActivitySignupRow
from models import ActivityState, EntryKind, OrganiserKind, RedemptionState, SignupState
from models import PointsEntry as PointsEntryRow
from models import Redemption as RedemptionRow
from models import RewardItem as RewardItemRow
from resolvers import loaders
from resolvers import volunteering as svc
from resolvers.ids import decode_id
from resolvers.volunteering import loaders as vl
from schema.columns import column_field
from schema.common import (
    Connection,
    Node,
    UserError,
    connection,
    context,
    field,
    given,
    legacy_argument,
    legacy_reason,
    mutate,
    mutation,
    one_form,
    query_call,
)
from schema.register import AREA_TYPE_NAMES, AreaNode, Person, area_type
from schema.volunteering.inputs import (
    AwardPointsInput,
    CancelActivitySignupInput,
    CancelRedemptionInput,
    CheckInActivityInput,
    CheckOutActivityInput,
    ConfirmActivityHoursInput,
    CreateRewardItemInput,
    DecideRedemptionInput,
    PublishActivityInput,
    RequestRedemptionInput,
    RestockRewardItemInput,
    ReversePointsEntryInput,
    SetPointsRuleInput,
    SignUpForActivityInput,
)


async def _person(info: Info, person_id: Any) -> Person | None:
    p = await loaders.person_by_id(context(info)).load(person_id)
    return None if p is None else Person(_m=p)


@strawberry.type(description="A volunteer activity (志愿活动).")
class Activity(Node):
    _m: strawberry.Private[ActivityRow]

    # Column fields are declared once (schema.columns): the compiled reads build their SQL from these.
    title = column_field("title", str, description="Title (活动名称).")

    description = column_field("description", str, description="Description (活动内容).")

    @field(description="Area it serves (活动区域).")
    async def area(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.area_id))

    place = column_field("place", str, description="Place (地点).")

    starts_at = column_field("starts_at", datetime, description="Starts at (开始时间).")

    ends_at = column_field("ends_at", datetime, description="Ends at (结束时间).")

    capacity = column_field("capacity", int, description="Places (名额).")

    signed_up = column_field("signed_up", int, description="Places taken (已报名).")

    organiser_kind = column_field("organiser_kind", OrganiserKind, description="Kind of organiser (主办方类型).")

    organiser_name = column_field("organiser_name", str, description="Organiser's name (主办方): party org, "
                                  "community, 业委会, firm or partner unit.")

    state = column_field("state", ActivityState, description="State (状态).")

    cancel_reason = column_field("cancel_reason", str | None,
                                 description="Why it was cancelled (取消原因); null unless CANCELLED.")

    cancelled_at = column_field("cancelled_at", datetime | None,
                                description="When it was cancelled (取消时间); null unless CANCELLED.")


@strawberry.type(description="A person's sign-up for an activity (报名), with check-in/out and hours (服务时长).")
class ActivitySignup(Node):
    _m: strawberry.Private[ActivitySignupRow]

    @field(description="The activity.")
    async def activity(self, info: Info) -> Activity | None:
        a = await vl.activity_by_id(context(info)).load(self._m.activity_id)
        return None if a is None else Activity(_m=a)

    @field(description="The volunteer (志愿者), masked as the register's rules say; null if not readable.")
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self._m.person_id)

    @field(description="State (状态).")
    def state(self) -> SignupState:
        return self._m.state

    @field(description="Checked in at (签到).")
    def checked_in_at(self) -> datetime | None:
        return self._m.checked_in_at

    @field(description="Checked out at (签退).")
    def checked_out_at(self) -> datetime | None:
        return self._m.checked_out_at

    @field(description="Hours confirmed by the organiser (确认时长).")
    def hours(self) -> float | None:
        return None if self._m.hours is None else float(self._m.hours)

    @field(description="Confirmed at.")
    def confirmed_at(self) -> datetime | None:
        return self._m.confirmed_at


@strawberry.type(description="One immutable line of the points ledger (积分明细).")
class PointsEntry(Node):
    _m: strawberry.Private[PointsEntryRow]

    @field(description="The person (积分人).")
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self._m.person_id)

    # Column fields are declared once (schema.columns): the compiled ledger builds its SQL from these.
    delta = column_field("delta", int, description="Points added (positive) or taken (negative).")

    kind = column_field("kind", EntryKind, description="Kind (类型).")

    reason = column_field("reason", str | None, description="Reason (事由).")

    balance_after = column_field("balance_after", int, description="Balance right after this entry (结余).")

    at = column_field("created_at", datetime, description="When (时间).")


@strawberry.type(description="An item of a community's points catalogue (积分兑换物品).")
class RewardItem(Node):
    _m: strawberry.Private[RewardItemRow]

    name = column_field("name", str, description="Name (物品).")

    points = column_field("points", int, description="Price in points (所需积分).")

    stock = column_field("stock", int, description="Stock (库存).")

    retired_at = column_field("retired_at", datetime | None, description="When it was retired (下架); null while "
                              "offered. Retired items take no new request.")

    @field(description="The community whose catalogue it is (社区).")
    async def community(self, info: Info) -> AreaNode | None:
        return area_type(await loaders.area_by_id(context(info)).load(self._m.community_id))


@strawberry.type(description="A request to exchange points for an item (兑换申请).")
class Redemption(Node):
    _m: strawberry.Private[RedemptionRow]

    @field(description="The person redeeming.")
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self._m.person_id)

    @field(description="The item.")
    async def item(self, info: Info) -> RewardItem | None:
        i = await vl.reward_item_by_id(context(info)).load(self._m.item_id)
        return None if i is None else RewardItem(_m=i)

    points = column_field("points", int, description="Points it costs (fixed when requested).")

    state = column_field("state", RedemptionState, description="State (状态).")

    note = column_field("note", str | None, description="Note of the decision (审核意见).")

    requested_at = column_field("created_at", datetime, description="Requested at.")

    decided_at = column_field("decided_at", datetime | None, description="Decided at.")


@strawberry.type
class VolunteeringQuery:
    @field(description="Volunteer activities you may see (志愿活动), newest first.")
    async def activities(
        self, info: Info,
        area_id: Annotated[strawberry.ID | None, strawberry.argument(description="Only inside this area.")] = None,
        upcoming: Annotated[bool | None, strawberry.argument(description="Not yet started (or started).")] = None,
        first: int | None = 20, after: str | None = None,
        states: Annotated[list[ActivityState] | None, strawberry.argument(
            description="Only activities in these states (状态), e.g. PUBLISHED.")] = None,
        starts_from: Annotated[datetime | None, strawberry.argument(
            description="Only activities starting at or after this time (开始时间起).")] = None,
        starts_before: Annotated[datetime | None, strawberry.argument(
            description="Only activities starting before this time (开始时间止, exclusive).")] = None,
    ) -> Connection[Activity]:
        area = decode_id(area_id, AREA_TYPE_NAMES, "areaId")
        page = await query_call(svc.list_activities(context(info), area, upcoming, first=first, after=after,
                                                    states=states, starts_from=starts_from,
                                                    starts_before=starts_before))
        return connection(page, lambda m: Activity(_m=m))  # type: ignore[no-any-return]

    @field(description="Sign-ups (报名): of an activity you organise (all) or joined (yours); "
                       "without activityId, all of yours.")
    async def activity_signups(
        self, info: Info, activity_id: strawberry.ID | None = None, first: int | None = 20,
        after: str | None = None,
    ) -> Connection[ActivitySignup]:
        aid = decode_id(activity_id, "Activity", "activityId")
        page = await query_call(svc.list_signups(context(info), aid, mine=False, first=first, after=after))
        return connection(page, lambda m: ActivitySignup(_m=m))  # type: ignore[no-any-return]

    @field(description="A person's points balance (积分余额); null when you may not see it.")
    async def points_balance(self, info: Info, person_id: strawberry.ID) -> int | None:
        return await svc.balance_of(context(info), decode_id(person_id, "Person", "personId"))

    @field(description="Your own points balance (我的积分); null when your account has no person.")
    async def my_points(self, info: Info) -> int | None:
        ctx = context(info)
        return None if ctx.actor.person_id is None else await svc.balance_of(ctx, ctx.actor.person_id)

    @field(description="Ledger entries you may see (积分明细), newest first; optionally of one person.")
    async def points_ledger(
        self, info: Info, person_id: strawberry.ID | None = None, first: int | None = 20, after: str | None = None,
        booked_from: Annotated[datetime | None, strawberry.argument(
            description="Only entries booked at or after this time (记账时间起).")] = None,
        booked_before: Annotated[datetime | None, strawberry.argument(
            description="Only entries booked before this time (记账时间止, exclusive).")] = None,
    ) -> Connection[PointsEntry]:
        pid = decode_id(person_id, "Person", "personId")
        page = await query_call(svc.list_entries(context(info), pid, first=first, after=after,
                                                 booked_from=booked_from, booked_before=booked_before))
        return connection(page, lambda m: PointsEntry(_m=m))  # type: ignore[no-any-return]

    @field(description="The tenant's points rule: points per confirmed volunteer hour (积分规则).")
    async def points_per_hour(self, info: Info) -> int:
        return await svc.points_per_hour(context(info))

    @field(description="Catalogue items you may see (积分兑换目录).")
    async def reward_items(
        self, info: Info, community_id: strawberry.ID | None = None, first: int | None = 20,
        after: str | None = None,
    ) -> Connection[RewardItem]:
        cid = decode_id(community_id, "Community", "communityId")
        page = await query_call(svc.list_reward_items(context(info), cid, first=first, after=after))
        return connection(page, lambda m: RewardItem(_m=m))  # type: ignore[no-any-return]

    @field(description="Redemption requests you may see (兑换申请), newest first.")
    async def redemptions(
        self, info: Info, states: list[RedemptionState] | None = None,
        first: int | None = 20, after: str | None = None,
        requested_from: Annotated[datetime | None, strawberry.argument(
            description="Only requests made at or after this time (申请时间起).")] = None,
        requested_before: Annotated[datetime | None, strawberry.argument(
            description="Only requests made before this time (申请时间止, exclusive).")] = None,
    ) -> Connection[Redemption]:
        page = await query_call(svc.list_redemptions(context(info), states, first=first, after=after,
                                                     requested_from=requested_from,
                                                     requested_before=requested_before))
        return connection(page, lambda m: Redemption(_m=m))  # type: ignore[no-any-return]


@strawberry.type(description="Result of an activity mutation.")
class ActivityPayload:
    activity: Activity | None = strawberry.field(description="The activity, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a sign-up mutation.")
class ActivitySignupPayload:
    signup: ActivitySignup | None = strawberry.field(description="The sign-up, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a points mutation.")
class PointsEntryPayload:
    entry: PointsEntry | None = strawberry.field(description="The ledger entry booked, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a catalogue mutation.")
class RewardItemPayload:
    item: RewardItem | None = strawberry.field(description="The item, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of a redemption mutation.")
class RedemptionPayload:
    redemption: Redemption | None = strawberry.field(description="The redemption, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type(description="Result of setPointsRule.")
class PointsRulePayload:
    points_per_hour: int | None = strawberry.field(description="The rule now in force, on success.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


async def _activity(info: Info, run: Any) -> ActivityPayload:
    row, errors = await mutate(info, run)
    return ActivityPayload(activity=None if row is None else Activity(_m=row), errors=errors)


async def _signup(info: Info, run: Any) -> ActivitySignupPayload:
    row, errors = await mutate(info, run)
    return ActivitySignupPayload(signup=None if row is None else ActivitySignup(_m=row), errors=errors)


async def _entry(info: Info, run: Any) -> PointsEntryPayload:
    row, errors = await mutate(info, run)
    return PointsEntryPayload(entry=None if row is None else PointsEntry(_m=row), errors=errors)


async def _item(info: Info, run: Any) -> RewardItemPayload:
    row, errors = await mutate(info, run)
    return RewardItemPayload(item=None if row is None else RewardItem(_m=row), errors=errors)


async def _redemption(info: Info, run: Any) -> RedemptionPayload:
    row, errors = await mutate(info, run)
    return RedemptionPayload(redemption=None if row is None else Redemption(_m=row), errors=errors)


@strawberry.type
class VolunteeringMutation:
    @mutation(description="Publish a volunteer activity (发布志愿活动).")
    async def publish_activity(self, info: Info, input: PublishActivityInput) -> ActivityPayload:
        async def run() -> Any:
            d = svc.ActivityInput(
                title=input.title, area_id=decode_id(input.area_id, AREA_TYPE_NAMES, "areaId"), place=input.place,
                starts_at=input.starts_at, ends_at=input.ends_at, capacity=input.capacity,
                organiser_kind=input.organiser_kind, description=input.description,
                party_org_id=decode_id(input.party_org_id, "PartyOrg", "partyOrgId"),
                community_id=decode_id(input.community_id, "Community", "communityId"),
                compound_id=decode_id(input.compound_id, "Compound", "compoundId"),
                firm_id=decode_id(input.firm_id, "PropertyFirm", "firmId"), partner_name=input.partner_name,
            )
            return await svc.publish_activity(context(info), d)

        return await _activity(info, run)

    @mutation(description="Sign up for an activity as your own person (报名); capacity holds.")
    async def sign_up_for_activity(
        self, info: Info, input: SignUpForActivityInput | None = None,
        activity_id: Annotated[strawberry.ID | None, legacy_argument("signUpForActivity")] = None,
        idempotency_key: Annotated[str | None, strawberry.argument(
            description="Idempotency key (幂等键, ≤ 64 chars), the same for every retry: a retry returns the same "
                        "sign-up.",
            deprecation_reason=legacy_reason("signUpForActivity"))] = None,
    ) -> ActivitySignupPayload:
        async def run() -> Any:
            one_form(input, [activity_id], [idempotency_key])
            if input is not None:
                return await svc.sign_up(context(info), decode_id(input.activity_id, "Activity", "activityId"),
                                         input.idempotency_key)
            return await svc.sign_up(context(info), decode_id(given(activity_id), "Activity", "activityId"),
                                     idempotency_key)

        return await _signup(info, run)

    @mutation(description="Cancel your sign-up (取消报名), freeing the place.")
    async def cancel_activity_signup(
        self, info: Info, input: CancelActivitySignupInput | None = None,
        id: Annotated[strawberry.ID | None, legacy_argument("cancelActivitySignup")] = None,
    ) -> ActivitySignupPayload:
        async def run() -> Any:
            one_form(input, [id])
            gid = input.id if input is not None else given(id)
            return await svc.cancel_signup(context(info), decode_id(gid, "ActivitySignup", "id"))

        return await _signup(info, run)

    @mutation(description="Check in (签到): the volunteer or the organiser.")
    async def check_in_activity(
        self, info: Info, input: CheckInActivityInput | None = None,
        id: Annotated[strawberry.ID | None, legacy_argument("checkInActivity")] = None,
    ) -> ActivitySignupPayload:
        async def run() -> Any:
            one_form(input, [id])
            gid = input.id if input is not None else given(id)
            return await svc.check_in(context(info), decode_id(gid, "ActivitySignup", "id"))

        return await _signup(info, run)

    @mutation(description="Check out (签退): the volunteer or the organiser.")
    async def check_out_activity(
        self, info: Info, input: CheckOutActivityInput | None = None,
        id: Annotated[strawberry.ID | None, legacy_argument("checkOutActivity")] = None,
    ) -> ActivitySignupPayload:
        async def run() -> Any:
            one_form(input, [id])
            gid = input.id if input is not None else given(id)
            return await svc.check_out(context(info), decode_id(gid, "ActivitySignup", "id"))

        return await _signup(info, run)

    @mutation(description="Confirm the hours (确认时长) as organiser; awards points by the tenant's rule.")
    async def confirm_activity_hours(
        self, info: Info, input: ConfirmActivityHoursInput | None = None,
        id: Annotated[strawberry.ID | None, legacy_argument("confirmActivityHours")] = None,
        hours: Annotated[float | None, strawberry.argument(
            description="Hours to confirm; default check-in to check-out in whole half hours.",
            deprecation_reason=legacy_reason("confirmActivityHours"))] = None,
    ) -> ActivitySignupPayload:
        async def run() -> Any:
            one_form(input, [id], [hours])
            if input is not None:
                return await svc.confirm_hours(context(info), decode_id(input.id, "ActivitySignup", "id"), input.hours)
            return await svc.confirm_hours(context(info), decode_id(given(id), "ActivitySignup", "id"), hours)

        return await _signup(info, run)

    @mutation(description="Award points by hand with a reason (手动加分).")
    async def award_points(self, info: Info, input: AwardPointsInput) -> PointsEntryPayload:
        async def run() -> Any:
            return await svc.award_points(context(info), decode_id(input.person_id, "Person", "personId"), input.points,
                                          input.reason)

        return await _entry(info, run)

    @mutation(description="Reverse an award (冲正): a new entry of the opposite sign.")
    async def reverse_points_entry(self, info: Info, input: ReversePointsEntryInput) -> PointsEntryPayload:
        async def run() -> Any:
            return await svc.reverse_entry(context(info), decode_id(input.entry_id, "PointsEntry", "entryId"),
                                           input.reason)

        return await _entry(info, run)

    @mutation(description="Set the tenant's points per confirmed hour (积分规则); street admin.")
    async def set_points_rule(
        self, info: Info, input: SetPointsRuleInput | None = None,
        points_per_hour: Annotated[int | None, legacy_argument("setPointsRule")] = None,
    ) -> PointsRulePayload:
        async def run() -> Any:
            one_form(input, [points_per_hour])
            return await svc.set_points_rule(
                context(info), input.points_per_hour if input is not None else given(points_per_hour))

        value, errors = await mutate(info, run)
        return PointsRulePayload(points_per_hour=value, errors=errors)

    @mutation(description="Add an item to a community's catalogue (新增兑换物品).")
    async def create_reward_item(self, info: Info, input: CreateRewardItemInput) -> RewardItemPayload:
        async def run() -> Any:
            return await svc.create_reward_item(
                context(info), decode_id(input.community_id, "Community", "communityId"), input.name, input.points,
                input.stock)

        return await _item(info, run)

    @mutation(description="Add stock to a catalogue item (补充库存).")
    async def restock_reward_item(
        self, info: Info, input: RestockRewardItemInput | None = None,
        id: Annotated[strawberry.ID | None, legacy_argument("restockRewardItem")] = None,
        add: Annotated[int | None, legacy_argument("restockRewardItem")] = None,
    ) -> RewardItemPayload:
        async def run() -> Any:
            one_form(input, [id, add])
            id_, n = (input.id, input.add) if input is not None else (given(id), given(add))
            return await svc.restock_reward_item(context(info), decode_id(id_, "RewardItem", "id"), n)

        return await _item(info, run)

    @mutation(description="Ask to exchange your points for an item (申请兑换).")
    async def request_redemption(
        self, info: Info, input: RequestRedemptionInput | None = None,
        item_id: Annotated[strawberry.ID | None, legacy_argument("requestRedemption")] = None,
        idempotency_key: Annotated[str | None, strawberry.argument(
            description="Idempotency key (幂等键, ≤ 64 chars), the same for every retry: a retry returns the same "
                        "request.",
            deprecation_reason=legacy_reason("requestRedemption"))] = None,
    ) -> RedemptionPayload:
        async def run() -> Any:
            one_form(input, [item_id], [idempotency_key])
            if input is not None:
                return await svc.request_redemption(context(info), decode_id(input.item_id, "RewardItem", "itemId"),
                                                    input.idempotency_key)
            return await svc.request_redemption(context(info), decode_id(given(item_id), "RewardItem", "itemId"),
                                                idempotency_key)

        return await _redemption(info, run)

    @mutation(description="Approve a redemption (批准兑换): spends the points, takes one from stock.")
    async def approve_redemption(self, info: Info, input: DecideRedemptionInput) -> RedemptionPayload:
        async def run() -> Any:
            return await svc.decide_redemption(context(info), decode_id(input.id, "Redemption", "id"), approve=True,
                                               note=input.note)

        return await _redemption(info, run)

    @mutation(description="Reject a redemption with a note (驳回兑换).")
    async def reject_redemption(self, info: Info, input: DecideRedemptionInput) -> RedemptionPayload:
        async def run() -> Any:
            return await svc.decide_redemption(context(info), decode_id(input.id, "Redemption", "id"), approve=False,
                                               note=input.note)

        return await _redemption(info, run)

    @mutation(description="Withdraw your own pending redemption (撤回兑换).")
    async def cancel_redemption(
        self, info: Info, input: CancelRedemptionInput | None = None,
        id: Annotated[strawberry.ID | None, legacy_argument("cancelRedemption")] = None,
    ) -> RedemptionPayload:
        async def run() -> Any:
            one_form(input, [id])
            gid = input.id if input is not None else given(id)
            return await svc.cancel_redemption(context(info), decode_id(gid, "Redemption", "id"))

        return await _redemption(info, run)


NODE_TYPES = (Activity, ActivitySignup, PointsEntry, RewardItem, Redemption)


async def resolve_volunteering_node(info: Info, type_name: str, id_: Any) -> Any:
    ctx = context(info)
    if type_name == "Activity":
        a = await svc.get_activity(ctx, id_)
        return None if a is None else Activity(_m=a)
    if type_name == "ActivitySignup":
        s = await svc.get_signup(ctx, id_)
        return None if s is None else ActivitySignup(_m=s)
    if type_name == "PointsEntry":
        e = await svc.get_entry(ctx, id_)
        return None if e is None else PointsEntry(_m=e)
    if type_name == "RewardItem":
        i = await svc.get_reward_item(ctx, id_)
        return None if i is None else RewardItem(_m=i)
    r = await svc.get_redemption(ctx, id_)
    return None if r is None else Redemption(_m=r)
