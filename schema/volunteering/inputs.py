"""The input types of the volunteering and points mutations (志愿活动与积分的输入), split from
schema/volunteering/types.py."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import ActivityState, EntryKind, OrganiserKind, RedemptionState, SignupState
from schema.common import graphql_enum

# Registered here, not in types.py: inputs.py is imported first, and an input naming an enum before its
# registration would define the enum twice.
graphql_enum(ActivityState, name="ActivityState", description="State of an activity (活动状态).")
graphql_enum(OrganiserKind, name="OrganiserKind",
             description="Kind of organiser of an activity (主办方类型).")
graphql_enum(SignupState, name="SignupState",
             description="State of a sign-up (报名状态): signed up, cancelled, checked in/out, "
                         "confirmed.")
graphql_enum(EntryKind, name="PointsEntryKind",
             description="Kind of ledger entry (积分类型): hours, manual, redemption, reversal.")
graphql_enum(RedemptionState, name="RedemptionState",
             description="State of a redemption request (兑换状态).")


@strawberry.input(description="Publish a volunteer activity (发布志愿活动).")
class PublishActivityInput:
    title: str = strawberry.field(description="Title, at most 100 characters.")
    area_id: strawberry.ID = strawberry.field(description="Area it serves (you must be allowed to publish there).")
    place: str = strawberry.field(description="Place, at most 200 characters.")
    starts_at: datetime = strawberry.field(description="Start (future, with timezone).")
    ends_at: datetime = strawberry.field(description="End, after the start.")
    capacity: int = strawberry.field(description="Places, 1–10000.")
    organiser_kind: OrganiserKind = strawberry.field(description="Kind of organiser.")
    description: str = strawberry.field(default="", description="What volunteers will do.")
    party_org_id: strawberry.ID | None = strawberry.field(default=None, description="For PARTY_ORG.")
    community_id: strawberry.ID | None = strawberry.field(default=None, description="For COMMUNITY.")
    compound_id: strawberry.ID | None = strawberry.field(default=None, description="For OWNER_COMMITTEE: its compound.")
    firm_id: strawberry.ID | None = strawberry.field(default=None, description="For PROPERTY_FIRM.")
    partner_name: str | None = strawberry.field(default=None, description="For PARTNER_UNIT: the unit's name.")


@strawberry.input(description="Award points by hand, with a reason (手动加分).")
class AwardPointsInput:
    person_id: strawberry.ID = strawberry.field(description="The person.")
    points: int = strawberry.field(description="Points to add, 1–100000.")
    reason: str = strawberry.field(description="Why (required).")


@strawberry.input(description="Reverse a ledger entry with a reason (冲正).")
class ReversePointsEntryInput:
    entry_id: strawberry.ID = strawberry.field(description="The entry to reverse (hours or manual).")
    reason: str = strawberry.field(description="Why (required).")


@strawberry.input(description="Add an item to a community's catalogue (新增兑换物品).")
class CreateRewardItemInput:
    community_id: strawberry.ID = strawberry.field(description="The community.")
    name: str = strawberry.field(description="Name, unique in the catalogue.")
    points: int = strawberry.field(description="Price in points.")
    stock: int = strawberry.field(description="Stock.")


@strawberry.input(description="Decide a redemption (审核兑换).")
class DecideRedemptionInput:
    id: strawberry.ID = strawberry.field(description="The redemption.")
    note: str | None = strawberry.field(default=None, description="Note; required when rejecting.")


@strawberry.input(description="Sign up for an activity as your own person (报名).")
class SignUpForActivityInput:
    activity_id: strawberry.ID = strawberry.field(description="Global ID of the activity to sign up for (活动ID).")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Idempotency key (幂等键, ≤ 64 chars), the same for every retry: a retry returns "
                                  "the same sign-up.")


@strawberry.input(description="Cancel your sign-up (取消报名).")
class CancelActivitySignupInput:
    id: strawberry.ID = strawberry.field(description="Global ID of the sign-up to cancel (报名ID).")


@strawberry.input(description="Check in to an activity (签到).")
class CheckInActivityInput:
    id: strawberry.ID = strawberry.field(description="Global ID of the sign-up to check in (报名ID).")


@strawberry.input(description="Check out of an activity (签退).")
class CheckOutActivityInput:
    id: strawberry.ID = strawberry.field(description="Global ID of the sign-up to check out (报名ID).")


@strawberry.input(description="Confirm a volunteer's hours (确认时长).")
class ConfirmActivityHoursInput:
    id: strawberry.ID = strawberry.field(description="Global ID of the sign-up whose hours to confirm (报名ID).")
    hours: float | None = strawberry.field(
        default=None, description="Hours to confirm; default check-in to check-out in whole half hours.")


@strawberry.input(description="Set the tenant's points rule (积分规则).")
class SetPointsRuleInput:
    points_per_hour: int = strawberry.field(description="Points per confirmed volunteer hour (每小时积分).")


@strawberry.input(description="Add stock to a catalogue item (补充库存).")
class RestockRewardItemInput:
    id: strawberry.ID = strawberry.field(description="Global ID of the catalogue item (兑换物品ID).")
    add: int = strawberry.field(description="How many to add to the stock (补充数量), positive.")


@strawberry.input(description="Ask to exchange your points for an item (申请兑换).")
class RequestRedemptionInput:
    item_id: strawberry.ID = strawberry.field(
        description="Global ID of the catalogue item to exchange points for (兑换物品ID).")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Idempotency key (幂等键, ≤ 64 chars), the same for every retry: a retry returns "
                                  "the same request.")


@strawberry.input(description="Withdraw your own pending redemption (撤回兑换).")
class CancelRedemptionInput:
    id: strawberry.ID = strawberry.field(description="Global ID of your redemption request (兑换申请ID).")
