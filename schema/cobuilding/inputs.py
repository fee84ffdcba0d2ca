"""Co-building's mutation inputs."""

from __future__ import annotations

from datetime import date

import strawberry

from schema.cobuilding.enums import AgreementGrant, AgreementStatus, PartnerKind, ServiceKind, SignatoryParty
from schema.common import legacy_string_reason


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
    side: str | None = strawberry.field(default=None, description="partner or community.",
                                        deprecation_reason=legacy_string_reason("party"))
    party: SignatoryParty | None = strawberry.field(
        default=None, description="The side signed for (签约方); give this or the deprecated side.")
    title: str | None = strawberry.field(default=None, description="Title, e.g. 校长.")


@strawberry.input(description="A co-building agreement (共驻共建协议); created as a draft.")
class AgreementInput:
    partner_unit_id: strawberry.ID = strawberry.field(description="The partner unit.")
    title: str = strawberry.field(description="Title.")
    community_party: str = strawberry.field(description="The community side as signed, e.g. 建峰社区党委.")
    community_ids: list[strawberry.ID] = strawberry.field(description="Communities covered; all in your scope.")
    areas: list[str] = strawberry.field(description="六联创 area codes (see lianchuangAreas).")
    grants: list[str] | None = strawberry.field(
        default=None, description="Shared: activity.read, wish.read, wish.claim, statistics.read.",
        deprecation_reason=legacy_string_reason("sharedData"))
    shared_data: list[AgreementGrant] | None = strawberry.field(
        default=None, description="Data shared with the partner's system (共享授权); give this or the deprecated "
                                  "grants.")
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
