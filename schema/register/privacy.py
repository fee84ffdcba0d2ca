"""Personal data as PIPL asks (个人信息保护, issue #24): a person's data report, erasure on request,
the retention of closed matters. Correction is ``updatePerson``. docs/personal-data.md."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import strawberry
from strawberry.types import Info

from models import ErasureReason
from models import PersonalDataConsent as PersonalDataConsentRow
from models import PersonErasure as PersonErasureRow
from models import PrivacySettings as PrivacySettingsRow
from resolvers import register as register_service
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.ids import decode_id, encode_global_id
from schema.common import UserError, context, field, graphql_enum, mutate, mutation, query_call
from schema.register.types import Person


class PersonalDataLink(enum.Enum):
    PERSON = "person"
    HOUSEHOLD = "household"
    USER = "user"


graphql_enum(PersonalDataLink, name="PersonalDataLink",
             description="How a record names the person: by the person (居民), their household (户) or a "
                         "login account linked to them (账号).")
graphql_enum(ErasureReason, name="ErasureReason", description="Why a person was erased (删除原因).")


@strawberry.type(description="One record that names the person (个人信息记录): its table and column.")
class PersonalDataRecord:
    table: str = strawberry.field(description="The table holding the record.")
    column: str = strawberry.field(description="The column that names the person.")
    link: PersonalDataLink = strawberry.field(description="What the column names.")
    row_id: strawberry.ID = strawberry.field(description="The record's uuid.")
    created_at: datetime | None = strawberry.field(description="When the record was made.")


@strawberry.type(description="One full (unmasked) read of the person's data (完整读取记录), from the audit log.")
class PersonalDataRead:
    at: datetime = strawberry.field(description="When.")
    user_id: strawberry.ID | None = strawberry.field(description="Who: the user's global id (none: the system).")
    user_name: str | None = strawberry.field(description="Who: their display name.")
    roles: str = strawberry.field(description="The roles they acted in.")
    via: str = strawberry.field(description="What read it: `query`, or the audited action (a full export).")
    purpose: str | None = strawberry.field(description="Why: the purpose stated for a full export.")
    request_id: str | None = strawberry.field(description="The request.")


@strawberry.type(description="What the street office holds about a person and who read it in full "
                             "(个人信息查询报告, PIPL art. 44–45).")
class PersonalDataReport:
    person: Person = strawberry.field(description="The person (fields in full: the report is a full read).")
    erased: bool = strawberry.field(description="Whether the person was erased (已删除).")
    records: list[PersonalDataRecord] = strawberry.field(description="Every record that names the person.")
    full_reads: list[PersonalDataRead] = strawberry.field(description="Every full read of their data.")


@strawberry.type(description="An erasure (删除记录): who was erased, when, by whom, why — nothing personal.")
class PersonErasure:
    person_id: strawberry.ID = strawberry.field(description="The erased person's global id.")
    erased_at: datetime = strawberry.field(description="When.")
    reason: ErasureReason = strawberry.field(description="Why.")
    reference: str | None = strawberry.field(description="The request's reference on paper.")


def _erasure(row: PersonErasureRow) -> PersonErasure:
    return PersonErasure(person_id=strawberry.ID(encode_global_id("Person", row.person_id)), erased_at=row.erased_at,
                         reason=row.reason, reference=row.reference)


@strawberry.input(description="Erase a person on request (删除个人信息): their identity leaves the register, "
                              "the facts of cases and votes stay.")
class ErasePersonInput:
    person_id: strawberry.ID = strawberry.field(description="The person.")
    reason: ErasureReason = strawberry.field(description="Why.")
    reference: str | None = strawberry.field(default=None, description="The request's reference on paper "
                                                                        "(no personal data), up to 64 characters.")


@strawberry.type(description="Result of erasePerson.")
class ErasePersonPayload:
    erasure: PersonErasure | None = strawberry.field(description="The erasure, when it succeeded.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.input(description="How long closed matters keep their personal details (个人信息保存期限).")
class SetPersonalDataRetentionInput:
    months: int = strawberry.field(description="Months after closure; at least 12.")


@strawberry.type(description="Result of setPersonalDataRetention.")
class PersonalDataRetentionPayload:
    months: int | None = strawberry.field(description="The retention now in force, when it succeeded.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type
class PrivacyQuery:
    @field(description="A person's data report (个人信息查询): every record that names them and every full "
                       "read of their data, with who, when and why. Street admin; audited.")
    async def personal_data_report(self, info: Info, person_id: strawberry.ID) -> PersonalDataReport:
        ctx = context(info)
        pid = decode_id(person_id, "Person", "personId")
        report = await query_call(register_service.personal_data_report(ctx, pid))
        return PersonalDataReport(
            person=Person(_m=report.person), erased=report.erased,
            records=[PersonalDataRecord(table=r.table, column=r.column, link=PersonalDataLink(r.kind),
                                        row_id=strawberry.ID(str(r.row_id)), created_at=r.created_at)
                     for r in report.records],
            full_reads=[PersonalDataRead(at=r.at, user_id=None if r.user_id is None else strawberry.ID(
                encode_global_id("User", r.user_id)), user_name=r.user_name, roles=r.roles, via=r.action,
                purpose=r.purpose, request_id=r.request_id) for r in report.full_reads])


@strawberry.type
class PrivacyMutation:
    @mutation(description="Erase a person on request (删除个人信息, PIPL art. 47). Street admin.")
    async def erase_person(self, info: Info, input: ErasePersonInput) -> ErasePersonPayload:
        async def run() -> PersonErasureRow:
            return await register_service.erase_person(context(info), register_service.ErasureRequest(
                decode_id(input.person_id, "Person", "personId"), input.reason, input.reference))

        row, errors = await mutate(info, run)
        return ErasePersonPayload(erasure=None if row is None else _erasure(row), errors=errors)

    @mutation(description="Set how long closed matters keep their personal details (个人信息保存期限). "
                          "Street admin.")
    async def set_personal_data_retention(self, info: Info,
                                          input: SetPersonalDataRetentionInput) -> PersonalDataRetentionPayload:
        async def run() -> PrivacySettingsRow:
            return await register_service.set_retention_months(context(info), input.months)

        row, errors = await mutate(info, run)
        return PersonalDataRetentionPayload(months=None if row is None else row.retention_months, errors=errors)


@strawberry.type(description="A person's consent that a partner unit may receive their personal data "
                             "(个人信息共享同意, PIPL art. 23).")
class PersonalDataConsent:
    id: strawberry.ID = strawberry.field(description="The consent's uuid.")
    person_id: strawberry.ID = strawberry.field(description="The person's global id.")
    partner_unit_id: strawberry.ID = strawberry.field(description="The partner unit's global id.")
    purpose: str = strawberry.field(description="What for (用途).")
    granted_at: datetime = strawberry.field(description="When it was given.")
    withdrawn_at: datetime | None = strawberry.field(description="When it was withdrawn; none while in force.")


def _consent(row: PersonalDataConsentRow) -> PersonalDataConsent:
    return PersonalDataConsent(id=strawberry.ID(str(row.id)),
                               person_id=strawberry.ID(encode_global_id("Person", row.person_id)),
                               partner_unit_id=strawberry.ID(encode_global_id("PartnerUnit", row.partner_unit_id)),
                               purpose=row.purpose, granted_at=row.granted_at, withdrawn_at=row.withdrawn_at)


@strawberry.input(description="Record a person's consent for a partner unit (登记同意).")
class RecordPersonalDataConsentInput:
    person_id: strawberry.ID = strawberry.field(description="The person who consents.")
    partner_unit_id: strawberry.ID = strawberry.field(description="The partner unit that may receive their data.")
    purpose: str = strawberry.field(description="What for, as the person agreed to it; up to 200 characters.")


@strawberry.input(description="Withdraw a consent (撤回同意): the partner unit stops seeing the person's data.")
class WithdrawPersonalDataConsentInput:
    id: strawberry.ID = strawberry.field(description="The consent's uuid.")


@strawberry.type(description="Result of a consent mutation.")
class PersonalDataConsentPayload:
    consent: PersonalDataConsent | None = strawberry.field(description="The consent, when it succeeded.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written; empty on success.")


@strawberry.type
class ConsentMutation:
    @mutation(description="Record a person's consent that a partner unit may receive their personal data "
                          "(登记同意, PIPL art. 23). Street admin.")
    async def record_personal_data_consent(self, info: Info, input: RecordPersonalDataConsentInput
                                           ) -> PersonalDataConsentPayload:
        async def run() -> PersonalDataConsentRow:
            return await register_service.record_consent(
                context(info), decode_id(input.person_id, "Person", "personId"),
                decode_id(input.partner_unit_id, "PartnerUnit", "partnerUnitId"), input.purpose)

        row, errors = await mutate(info, run)
        return PersonalDataConsentPayload(consent=None if row is None else _consent(row), errors=errors)

    @mutation(description="Withdraw a consent (撤回同意). Street admin.")
    async def withdraw_personal_data_consent(self, info: Info, input: WithdrawPersonalDataConsentInput
                                             ) -> PersonalDataConsentPayload:
        async def run() -> PersonalDataConsentRow:
            try:
                cid = uuid.UUID(str(input.id))
            except ValueError:
                raise ServiceError(ErrorCode.INVALID_ID, t("id 应为同意记录的 uuid", "id is a consent's uuid"),
                                   "id") from None
            return await register_service.withdraw_consent(context(info), cid)

        row, errors = await mutate(info, run)
        return PersonalDataConsentPayload(consent=None if row is None else _consent(row), errors=errors)
