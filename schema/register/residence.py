"""Moves on the register (issue #23) in GraphQL: movePerson, movePersonOut (迁出), movePersonIn (迁入)
and recordPersonDeath (注销). Archived persons are never deleted (resolvers/register/residence.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry
from strawberry.types import Info

from models import PersonMoveKind
from resolvers import register as register_service
from resolvers.ids import decode_id
from schema.common import context, mutate, mutation

from .mutation import PersonPayload
from .types import Person

_ON = "The day it took effect (生效日期); default today, not before the person's last move."
_VERSION = "Fail with CONFLICT if the person changed."


@strawberry.input(description="Move a person to another household of the register (户间迁移).")
class MovePersonInput:
    id: strawberry.ID = strawberry.field(description="The person (on the register).")
    household_id: strawberry.ID = strawberry.field(description="The household they now live in.")
    effective_on: date | None = strawberry.field(default=None, description=_ON)
    note: str | None = strawberry.field(default=None, description="Note, at most 500 characters.")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="A person moves out of the street office's register (迁出).")
class MovePersonOutInput:
    id: strawberry.ID = strawberry.field(description="The person (on the register).")
    effective_on: date | None = strawberry.field(default=None, description=_ON)
    note: str | None = strawberry.field(default=None, description="Where to, why; at most 500 characters.")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="A person who moved out comes back onto the register (迁入).")
class MovePersonInInput:
    id: strawberry.ID = strawberry.field(description="The person (MOVED_OUT).")
    household_id: strawberry.ID = strawberry.field(description="The household they move into.")
    effective_on: date | None = strawberry.field(default=None, description=_ON)
    note: str | None = strawberry.field(default=None, description="Note, at most 500 characters.")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


@strawberry.input(description="Record a person's death (死亡注销).")
class RecordPersonDeathInput:
    id: strawberry.ID = strawberry.field(description="The person (on the register or moved out).")
    effective_on: date | None = strawberry.field(default=None, description="The day of death; default today.")
    note: str | None = strawberry.field(default=None, description="Note, at most 500 characters.")
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)


async def _move(info: Info, kind: PersonMoveKind, input: Any, household: strawberry.ID | None) -> PersonPayload:
    async def run() -> Any:
        return await register_service.move(
            context(info), kind, decode_id(input.id, "Person", "id"),
            household_id=decode_id(household, "Household", "householdId"), effective_on=input.effective_on,
            note=input.note, expected_version=input.expected_version)

    p, errors = await mutate(info, run)
    return PersonPayload(person=None if p is None else Person(_m=p), errors=errors)


@strawberry.type
class ResidenceMutation:
    @mutation(description="Move a person to another household (户间迁移), person·write on both; the residence "
                          "history keeps the move.")
    async def move_person(self, info: Info, input: MovePersonInput) -> PersonPayload:
        return await _move(info, PersonMoveKind.MOVE, input, input.household_id)

    @mutation(description="A person moves out of the register (迁出): archived, never deleted — off the current "
                          "register and its figures, still in the ledgers of the time they lived here.")
    async def move_person_out(self, info: Info, input: MovePersonOutInput) -> PersonPayload:
        return await _move(info, PersonMoveKind.MOVE_OUT, input, None)

    @mutation(description="A person who moved out comes back onto the register (迁入), into a household.")
    async def move_person_in(self, info: Info, input: MovePersonInInput) -> PersonPayload:
        return await _move(info, PersonMoveKind.MOVE_IN, input, input.household_id)

    @mutation(description="Record a person's death (注销): archived, never deleted; final.")
    async def record_person_death(self, info: Info, input: RecordPersonDeathInput) -> PersonPayload:
        return await _move(info, PersonMoveKind.DECEASED, input, None)
