"""The compiled points balances (积分余额, issue #21): ``pointsBalance(personId:)`` and ``myPoints``, each in one
statement: ``resolvers.volunteering.balance_of`` in SQL, with its own two statements
(``balance_statements``) — null unless the actor may read the person's points, else the person's balance
(0 without an account). ``myPoints`` is null for an actor without a person, as its resolver answers."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, literal, null
from sqlalchemy import Uuid as UuidType

from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from models import Person, PointsAccount
from resolvers.errors import ServiceError
from resolvers.ids import decode_global_id
from resolvers.volunteering import balance_statements


def _balance(cx: Compiler, person_id: ColumnElement[uuid.UUID]) -> ColumnElement[Any]:
    readable, balance = balance_statements(cx.ctx, person_id)
    readable = readable.where(Person.tenant_id == cx.tenant_id)
    balance = balance.where(PointsAccount.tenant_id == cx.tenant_id)
    return case((exists(readable), func.coalesce(balance.scalar_subquery(), 0)), else_=null())


def _person(a: dict[str, Any]) -> uuid.UUID:
    try:
        return decode_global_id(str(a["personId"]), "Person", "personId").id
    except ServiceError:
        raise Unsupported("bad personId") from None  # the resolvers give the typed error


def points_balance(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    return _balance(cx, cx.param(sel, _person, "uuid"))


def my_points(cx: Compiler, _row: None, _sel: Sel) -> ColumnElement[Any]:
    person_id = cx.ctx.actor.person_id  # part of the plan's key (the actor's rows)
    return null() if person_id is None else _balance(cx, literal(person_id, UuidType))


TABLES: dict[str, FieldTable] = {"Query": {"pointsBalance": points_balance, "myPoints": my_points}}
