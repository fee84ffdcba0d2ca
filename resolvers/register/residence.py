"""Where persons live, over time (issue #23): moved to another household (movePerson), moved out of
the register (迁出, movePersonOut), moved back in (迁入, movePersonIn) and deceased (注销,
recordPersonDeath). Nobody is deleted: an archived person keeps the household they last lived in,
drops out of the current register (lists, households, the register export, the figures), and stays
in the ledgers of the period they were there; ``person_moves`` keeps every change, append-only.

Moves are ``person · write``: the person must be readable (else NOT_FOUND) and writable by the
actor (else FORBIDDEN), and so must a household they move into (a grid leader moves people only
within their grids). An account linked to a person who moved out or died loses the link (its own
household rights end with the residence); the audit log keeps the old link."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from models import Household, Member, Person, PersonMove, PersonMoveKind, PersonStatus
from policies.filters import household_predicate, person_predicate
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError, check_version
from resolvers.i18n import t
from resolvers.loaders import _loader

P = PersonStatus
# kind → (statuses it starts from, status it leads to, whether it names a household to move into)
MOVES: dict[PersonMoveKind, tuple[frozenset[PersonStatus], PersonStatus, bool]] = {
    PersonMoveKind.MOVE: (frozenset({P.ACTIVE}), P.ACTIVE, True),
    PersonMoveKind.MOVE_OUT: (frozenset({P.ACTIVE}), P.MOVED_OUT, False),
    PersonMoveKind.MOVE_IN: (frozenset({P.MOVED_OUT}), P.ACTIVE, True),
    PersonMoveKind.DECEASED: (frozenset({P.ACTIVE, P.MOVED_OUT}), P.DECEASED, False),
}


async def _person(ctx: RequestContext, person_id: uuid.UUID) -> Person:
    actor = ctx.actor
    p: Person | None = await ctx.db.scalar(
        select(Person).where(Person.id == person_id, person_predicate(actor.grant("person", "read"), actor)))
    if p is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), "id")
    grant = actor.grant("person", "write")
    if not grant or await ctx.db.scalar(
            select(Person.id).where(Person.id == person_id, person_predicate(grant, actor))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权办理该居民的迁移", "you may not move this person"), "id")
    return p


async def _household(ctx: RequestContext, household_id: uuid.UUID) -> Household:
    actor = ctx.actor
    h: Household | None = await ctx.db.scalar(select(Household).where(
        Household.id == household_id, household_predicate(actor.grant("household", "read"), actor)))
    if h is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("户不存在", "household not found"), "householdId")
    grant = actor.grant("person", "write")
    if not grant or await ctx.db.scalar(
            select(Household.id).where(Household.id == household_id, household_predicate(grant, actor))) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权将居民迁入该户",
                                                  "you may not move anyone into this household"),
                           "householdId")
    return h


async def move(ctx: RequestContext, kind: PersonMoveKind, person_id: uuid.UUID, *,
               household_id: uuid.UUID | None, effective_on: date | None, note: str | None,
               expected_version: int | None) -> Person:
    """One move of ``kind`` (see MOVES), on a day (default today, never in the future nor before the
    person's last recorded move), written to the person and to the residence history."""
    sources, target, needs_household = MOVES[kind]
    errors = FieldErrors()
    clean = None
    if note is not None:
        with errors.catch():
            clean = v.text(note, "note", max_len=500, required=False) or None
    on = effective_on or ctx.now.date()
    if on > ctx.now.date() + timedelta(days=1):
        errors.add(ErrorCode.INVALID, t("生效日期不能晚于今天", "effectiveOn cannot be in the future"), "effectiveOn")
    if needs_household and household_id is None:
        errors.add(ErrorCode.INVALID, t("请指定迁入的户", "give the household to move into"), "householdId")
    errors.raise_if_any()
    p = await _person(ctx, person_id)
    if p.status not in sources:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t(
            f"居民当前为 {p.status.value}，不能办理 {kind.value}",
            f"the person is {p.status.value}; cannot record {kind.value}"), "id")
    check_version(expected_version, p.version)
    last = await ctx.db.scalar(select(PersonMove.effective_on).where(PersonMove.person_id == p.id)
                               .order_by(PersonMove.effective_on.desc()).limit(1))
    if last is not None and on < last:
        raise ServiceError(ErrorCode.INVALID, t(f"生效日期不能早于上一次迁移（{last}）",
                                                f"effectiveOn cannot be before the last move ({last})"),
                           "effectiveOn")
    to: Household | None = None
    if needs_household:
        assert household_id is not None
        to = await _household(ctx, household_id)
        if kind is PersonMoveKind.MOVE and to.id == p.household_id:
            raise ServiceError(ErrorCode.INVALID, t("已在该户", "the person already lives there"), "householdId")
    from_household = p.household_id
    p.status = target
    p.left_on = None if target is P.ACTIVE else on
    if to is not None:
        p.household_id = to.id
    await ctx.db.flush(p)  # the unit of work audits it and moves the version (optimistic)
    await ctx.db.flush(PersonMove(person_id=p.id, kind=kind, from_household_id=from_household,
                                  to_household_id=None if to is None else to.id, effective_on=on, note=clean,
                                  recorded_by=ctx.actor.user_id, recorded_at=ctx.now))
    if target is not P.ACTIVE:
        members = list(await ctx.db.scalars(select(Member).where(Member.person_id == p.id)))
        for m in members:
            m.person_id = None  # through the unit of work: audited, before → after
        if members:
            await ctx.db.flush(*members)
    return p


async def person_moves(ctx: RequestContext, person: Person) -> list[PersonMove]:
    """The residence history of a person the actor may read, oldest first."""
    return list(await ctx.db.scalars(select(PersonMove).where(PersonMove.person_id == person.id)
                                     .order_by(PersonMove.effective_on, PersonMove.recorded_at)))


def moves_by_person(ctx: RequestContext) -> DataLoader[uuid.UUID, list[PersonMove]]:
    """Person.moves: the residence history of each person, oldest first — one statement per batch of
    persons (the caller loads only persons the actor may read, under the person read rule)."""
    async def load(ids: list[uuid.UUID]) -> list[list[PersonMove]]:
        out: dict[uuid.UUID, list[PersonMove]] = defaultdict(list)
        for m in await ctx.db.scalars(select(PersonMove).where(PersonMove.person_id.in_(ids))
                                      .order_by(PersonMove.effective_on, PersonMove.recorded_at, PersonMove.id)):
            out[m.person_id].append(m)
        return [out.get(i, []) for i in ids]

    return _loader(ctx, "MovesByPersonLoader", load)

