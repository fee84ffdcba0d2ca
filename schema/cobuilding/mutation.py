"""Co-building's Mutation fields and their payloads."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import cobuilding as svc
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.ids import decode_id
from schema.cobuilding.inputs import (
    AgreementInput,
    ClaimSharedWishInput,
    CreatePartnerClientInput,
    FulfilSharedWishInput,
    PartnerUnitInput,
    RecordInServiceInput,
    RegisterInServiceInput,
    SetAgreementStatusInput,
    SignatoryInput,
    UpdateAgreementInput,
    UpdatePartnerUnitInput,
)
from schema.cobuilding.shared import SharedWish
from schema.cobuilding.types import (
    Agreement,
    InServiceMember,
    InServiceRecord,
    PartnerClient,
    PartnerUnit,
)
from schema.common import UserError, context, given, legacy_argument, mutate, mutation, one_form


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


def _grants(input: AgreementInput) -> list[str]:
    """sharedData, or the deprecated grants: exactly one (issue #25)."""
    if (input.grants is None) == (input.shared_data is None):
        raise ServiceError(ErrorCode.INVALID, t("请给出 sharedData（旧的 grants 与之二选一）",
                                                "give sharedData (or the deprecated grants), exactly one"),
                           "sharedData")
    return list(input.grants) if input.grants is not None else [g.value for g in input.shared_data or ()]


def _side(s: SignatoryInput, i: int) -> str:
    if (s.side is None) == (s.party is None):
        raise ServiceError(ErrorCode.INVALID, t("请给出签约方 party（旧的 side 与之二选一）",
                                                "give party (or the deprecated side), exactly one"),
                           f"signatories[{i}].party")
    return s.side if s.side is not None else s.party.value  # type: ignore[union-attr]


def _agreement_data(input: AgreementInput) -> svc.AgreementInput:
    return svc.AgreementInput(
        partner_unit_id=decode_id(input.partner_unit_id, "PartnerUnit", "partnerUnitId"), title=input.title,
        community_party=input.community_party,
        community_ids=[decode_id(c, "Community", "communityIds") for c in input.community_ids],
        areas=list(input.areas), grants=_grants(input), valid_from=input.valid_from,
        valid_until=input.valid_until,
        signatories=[svc.Signatory(name=s.name, side=_side(s, i), title=s.title)
                     for i, s in enumerate(input.signatories)],
        note=input.note)


def _client_payload(result: Any, errors: list[UserError]) -> PartnerClientPayload:
    if result is None:
        return PartnerClientPayload(client=None, client_secret=None, errors=errors)
    client, secret = result
    return PartnerClientPayload(client=PartnerClient(_m=client), client_secret=secret, errors=errors)


@strawberry.input(description="Rotate a partner API client's secret (轮换密钥).")
class RotatePartnerClientSecretInput:
    id: strawberry.ID = strawberry.field(description="Global ID of the partner API client (客户端ID).")


@strawberry.input(description="Revoke a partner API client (吊销凭据).")
class RevokePartnerClientInput:
    id: strawberry.ID = strawberry.field(description="Global ID of the partner API client (客户端ID).")


@strawberry.type
class CobuildingMutation:
    @mutation(description="Add a partner unit (新增共建单位); whoever manages agreements.")
    async def create_partner_unit(self, info: Info, input: PartnerUnitInput) -> PartnerUnitPayload:
        async def run() -> Any:
            return await svc.create_partner_unit(context(info), _unit_data(input))

        row, errors = await mutate(info, run)
        return PartnerUnitPayload(partner_unit=None if row is None else PartnerUnit(_m=row), errors=errors)

    @mutation(description="Change a partner unit (修改共建单位).")
    async def update_partner_unit(self, info: Info, input: UpdatePartnerUnitInput) -> PartnerUnitPayload:
        async def run() -> Any:
            return await svc.update_partner_unit(context(info), decode_id(input.id, "PartnerUnit", "id"),
                                                 _unit_data(input))

        row, errors = await mutate(info, run)
        return PartnerUnitPayload(partner_unit=None if row is None else PartnerUnit(_m=row), errors=errors)

    @mutation(description="Draft a co-building agreement (起草共建协议).")
    async def create_agreement(self, info: Info, input: AgreementInput) -> AgreementPayload:
        async def run() -> Any:
            return await svc.create_agreement(context(info), _agreement_data(input))

        row, errors = await mutate(info, run)
        return AgreementPayload(agreement=None if row is None else Agreement(_m=row), errors=errors)

    @mutation(description="Change an agreement (修改共建协议).")
    async def update_agreement(self, info: Info, input: UpdateAgreementInput) -> AgreementPayload:
        async def run() -> Any:
            return await svc.update_agreement(context(info), decode_id(input.id, "Agreement", "id"),
                                              _agreement_data(input), input.expected_version)

        row, errors = await mutate(info, run)
        return AgreementPayload(agreement=None if row is None else Agreement(_m=row), errors=errors)

    @mutation(description="Activate, suspend, expire or terminate an agreement (协议状态).")
    async def set_agreement_status(self, info: Info, input: SetAgreementStatusInput) -> AgreementPayload:
        async def run() -> Any:
            return await svc.set_agreement_status(context(info), decode_id(input.id, "Agreement", "id"), input.status,
                                                  input.expected_version)

        row, errors = await mutate(info, run)
        return AgreementPayload(agreement=None if row is None else Agreement(_m=row), errors=errors)

    @mutation(description="Issue API credentials to a partner unit's system (签发接口凭据).")
    async def create_partner_client(self, info: Info, input: CreatePartnerClientInput) -> PartnerClientPayload:
        async def run() -> Any:
            return await svc.create_partner_client(
                context(info), decode_id(input.partner_unit_id, "PartnerUnit", "partnerUnitId"), input.label)

        return _client_payload(*await mutate(info, run))

    @mutation(description="Rotate a client's secret (轮换密钥): the old one gets no token from now on.")
    async def rotate_partner_client_secret(
        self, info: Info, input: RotatePartnerClientSecretInput | None = None,
        id: Annotated[strawberry.ID | None, legacy_argument("rotatePartnerClientSecret")] = None,
    ) -> PartnerClientPayload:
        async def run() -> Any:
            one_form(input, [id])
            gid = input.id if input is not None else given(id)
            return await svc.rotate_partner_client_secret(context(info), decode_id(gid, "PartnerClient", "id"))

        return _client_payload(*await mutate(info, run))

    @mutation(description="Revoke a client (吊销凭据): no token, and its tokens stop at once.")
    async def revoke_partner_client(
        self, info: Info, input: RevokePartnerClientInput | None = None,
        id: Annotated[strawberry.ID | None, legacy_argument("revokePartnerClient")] = None,
    ) -> PartnerClientPayload:
        async def run() -> Any:
            one_form(input, [id])
            gid = input.id if input is not None else given(id)
            return (await svc.revoke_partner_client(context(info), decode_id(gid, "PartnerClient", "id")), None)

        return _client_payload(*await mutate(info, run))

    @mutation(description="Partner systems: claim a shared open wish (认领心愿).")
    async def claim_shared_wish(self, info: Info, input: ClaimSharedWishInput) -> SharedWishPayload:
        async def run() -> Any:
            return await svc.claim_shared_wish(context(info), decode_id(input.id, "Wish", "id"), input.expected_version)

        row, errors = await mutate(info, run)
        return SharedWishPayload(wish=None if row is None else SharedWish(_m=row), errors=errors)

    @mutation(description="Partner systems: report a wish your unit claimed as fulfilled (完成心愿).")
    async def fulfil_shared_wish(self, info: Info, input: FulfilSharedWishInput) -> SharedWishPayload:
        async def run() -> Any:
            return await svc.fulfil_shared_wish(context(info), decode_id(input.id, "Wish", "id"), input.note,
                                                input.expected_version)

        row, errors = await mutate(info, run)
        return SharedWishPayload(wish=None if row is None else SharedWish(_m=row), errors=errors)

    @mutation(description="Register an in-service party member with a community (双报到).")
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

    @mutation(description="Record an in-service member's service (记录服务).")
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
