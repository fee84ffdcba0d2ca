"""Correction is ``updatePerson`` (audited, personal fields masked); this is erasure on request (PIPL
art. 47): the person's identity leaves the register — name, ID number, phone, their blind indexes and
masked forms, birth date, gender, care tags, party data, the link to their household and to login
accounts, the display name of their own accounts in this street office, free text about them, the
notes of their cases' timelines (and the notes they wrote on any case), the photos (their stored
files too, deleted after the commit: resolvers.discarded_files) and feedback comment of the cases
they reported, open ones included, and their consents — while the facts stay:
cases, ballots, visits, wishes and points keep their rows, states, counts and ledgers (they now name
an anonymous person).

Case timelines are append-only: on PostgreSQL their notes are cleared by the SECURITY DEFINER
function of migration 0043 (``gongzhi_erase_timeline_notes``), which can write only the marker and
only in the transaction's tenant; the app role still may not update ``case_events``.

Every erasure is listed in ``person_erasures`` (ids, time, who, reason — nothing personal), so that a
database restored from an older backup is cleaned again by ``gongzhi pii reapply-erasures``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Uuid

from models import (
    Attachment,
    AuditEntry,
    CareServiceRecord,
    Case,
    CaseEvent,
    ErasureReason,
    InServiceMember,
    MeetingAttendee,
    Member,
    Person,
    PersonalDataConsent,
    PersonCareTag,
    PersonErasure,
    User,
    Wish,
)
from resolvers import validation as v
from resolvers.context import Db, RequestContext
from resolvers.discarded_files import discard_after_commit
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

from .personal_data import reportable_person

ERASED_NAME = "（已删除）"
SCRUBBED = "（已删除）"

# Free text that may describe the person, in rows that name them: blanked on erasure.
FREE_TEXT = (
    (Wish, Wish.beneficiary_person_id, {"description": "", "fulfil_note": None}),
    (CareServiceRecord, CareServiceRecord.person_id, {"note": None}),
    (MeetingAttendee, MeetingAttendee.person_id, {"role_note": None}),
    (InServiceMember, InServiceMember.person_id, {"work_unit_name": SCRUBBED}),
)


def is_erased(p: Person) -> bool:
    """Whether nothing identifying is left on the row (what ``reapply-erasures`` checks)."""
    return (p.name == ERASED_NAME and p.id_card_no is None and p.phone is None and p.id_card_index is None
            and p.phone_index is None and p.birth_date is None and p.household_id is None)


async def linked_accounts(db: Db, person: Person) -> list[uuid.UUID]:
    """The login accounts linked to the person in this tenant (``members``)."""
    return list(await db.scalars(select(Member.user_id).where(Member.person_id == person.id)
                                 .order_by(Member.user_id)))


async def _erase_timeline_notes(db: Db, tenant_id: uuid.UUID, accounts: list[uuid.UUID]) -> None:
    """The notes of the cases the accounts reported, and the notes they wrote, become the marker."""
    if db.session.get_bind().dialect.name == "postgresql":
        # case_events is append-only for the app role: the narrow definer function (migration 0043).
        await db.execute(text("SELECT gongzhi_erase_timeline_notes(:t, :accounts)").bindparams(
            bindparam("t", value=tenant_id, type_=Uuid()), bindparam("accounts", value=accounts, type_=ARRAY(Uuid()))))
        return
    reported = select(Case.id).where(Case.tenant_id == tenant_id, Case.reporter_user_id.in_(accounts))
    await db.execute(update(CaseEvent).where(
        CaseEvent.tenant_id == tenant_id, CaseEvent.note.is_not(None), CaseEvent.note != SCRUBBED,
        or_(CaseEvent.actor_user_id.in_(accounts), CaseEvent.case_id.in_(reported)),
    ).values(note=SCRUBBED).execution_options(synchronize_session=False))


async def _erase_account_traces(db: Db, person: Person, accounts: list[uuid.UUID]) -> None:
    """What the person's accounts left: their own accounts' display name (an identity the operator
    linked to several street offices is theirs too, and keeps it), their cases' photos — unlinked from
    the case, so nobody is served them, open cases included, and their files deleted once the
    erasure commits — and feedback comments, and the timeline notes about or by them."""
    if not accounts:
        return
    await db.execute(update(User).where(User.id.in_(accounts), User.home_tenant_id == person.tenant_id)
                     .values(display_name=ERASED_NAME).execution_options(synchronize_session=False))
    reported = select(Case.id).where(Case.reporter_user_id.in_(accounts))
    unlinked = (await db.execute(update(Attachment).where(Attachment.case_id.in_(reported)).values(case_id=None)
                                 .returning(Attachment.storage_key, Attachment.thumbnail_key)
                                 .execution_options(synchronize_session=False))).all()
    # PIPL deletion: the photos' files (and thumbnails) go too, once the erasure has committed.
    discard_after_commit(db.session, (key for row in unlinked for key in row))
    await db.execute(update(Case).where(Case.reporter_user_id.in_(accounts), Case.feedback_comment.is_not(None))
                     .values(feedback_comment=None).execution_options(synchronize_session=False))
    await _erase_timeline_notes(db, person.tenant_id, accounts)


async def erase_rows(db: Db, person: Person, now: datetime, accounts: list[uuid.UUID] | None = None) -> None:
    """Remove the person's identity from every table that holds it (one tenant, its session).
    ``accounts``: their login accounts, when known beyond the ``members`` links (which this unlinks)."""
    accounts = sorted(set(accounts or []) | set(await linked_accounts(db, person)))
    await _erase_account_traces(db, person, accounts)
    person.name = ERASED_NAME
    person.id_card_no = None  # the validator clears the blind index and the masked form too
    person.phone = None
    person.birth_date = None
    person.gender = None
    person.relation_to_head = None
    person.party_member = False
    person.in_service_party_member = False
    person.party_org_id = None
    person.household_id = None
    await db.flush(person)
    await db.execute(delete(PersonCareTag).where(PersonCareTag.person_id == person.id))
    for member in await db.scalars(select(Member).where(Member.person_id == person.id)):
        member.person_id = None
        await db.flush(member)
    for model, column, values in FREE_TEXT:
        await db.execute(update(model).where(column == person.id).values(**values)
                         .execution_options(synchronize_session=False))
    await db.execute(update(PersonalDataConsent)
                     .where(PersonalDataConsent.person_id == person.id, PersonalDataConsent.withdrawn_at.is_(None))
                     .values(withdrawn_at=now).execution_options(synchronize_session=False))


@dataclass
class ErasureRequest:
    person_id: uuid.UUID
    reason: ErasureReason
    reference: str | None = None


async def erase_person(ctx: RequestContext, req: ErasureRequest) -> PersonErasure:
    """The street admin's erasure of one person (``person · erase``); once per person."""
    reference = (v.text(req.reference, "reference", max_len=64, required=False) or None) if req.reference else None
    p = await reportable_person(ctx, req.person_id, "erase", "personId")
    if await ctx.db.scalar(select(PersonErasure.id).where(PersonErasure.person_id == p.id)) is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("该居民的个人信息已删除", "this person has been erased already"),
                           "personId")
    await erase_rows(ctx.db, p, ctx.now)
    _mark_erased_name_in_audit(ctx, p)
    row = PersonErasure(person_id=p.id, erased_at=ctx.now, erased_by=ctx.actor.user_id, reason=req.reason,
                        reference=reference)
    await ctx.db.flush(row)
    return row


def _mark_erased_name_in_audit(ctx: RequestContext, person: Person) -> None:
    """The audit conceals every name (tenants.session ``__audit_conceal__``); the name an erasure
    writes is the fixed marker, no one's name, and the log shows it: the erasure is readable there."""
    for change in ctx.db.session.info.get("audit_changes", []):
        if change.get("table") == "persons" and change.get("id") == str(person.id) and "name" in change["fields"]:
            change["fields"]["name"][1] = ERASED_NAME


async def reapply_erasures(db: Db, now: datetime) -> int:
    """Erase again every listed person whose row carries identity (a restored backup): how many."""
    listed = list(await db.scalars(select(PersonErasure).order_by(PersonErasure.erased_at, PersonErasure.id)))
    done = 0
    for entry in listed:
        p: Person | None = await db.scalar(select(Person).where(Person.id == entry.person_id))
        # A restored backup brings back the row's identity, or at least the links to the person's
        # accounts (and with them their display names, photos and timeline notes): erase again.
        if p is None or (is_erased(p) and not await linked_accounts(db, p)):
            continue
        await erase_rows(db, p, now)
        done += 1
        await db.flush(AuditEntry(user_id=None, roles="system", action="system.reapplyErasure", object_type="person",
                                  object_ids=[str(p.id)], detail={"erasure": str(entry.id),
                                                                  "erasedAt": entry.erased_at.isoformat()},
                                  created_at=now))
    return done
