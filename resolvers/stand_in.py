"""Texts shared by every actor of one shape (issue #21): resolvers/prepared.py's write checks.

A prepared check's text inlines the actor's facts (its user id, person, household, own compound, its
assignments' scopes and firms), so it was rendered once per *actor*, and rendering costs ≈ 4 ms — more than
the ORM path the text replaced. Owners cast one ballot, sign up for an activity, redeem once in a while: in
the portal mix (16 owners in turn) and in a street office (thousands) nearly every castBallot,
signUpForActivity, requestRedemption was its actor's first, and the prepared path cost more than it saved.

Here the statement is built for a stand-in actor of the same *shape* — the same roles, area kinds and
which facts are absent, so the same grants and the same predicates — whose facts are sentinel values; the
sentinels in the text become parameters, and each request sends its own actor's facts there. One text per
shape (a tenant has a handful: resident, owner, grid leader …), parameters that are ids and paths.

A text is shared only when the build shows it is safe; else the caller keeps one text per actor:
- built twice, with two different sets of sentinels, the texts are equal once the sentinels are
  parameters (no fact was used other than as a value in the SQL: not compared, parsed, derived);
- no trace of a sentinel is left (a fact inlined in another form, e.g. part of a LIKE pattern);
- no fact of the real actor is in the text (the build took it from outside ``ctx.actor``, e.g. a local
  variable read before the build).
Facts of one actor that are related (a scope inside another, the own compound equal to a scope) need no
care: a grant's paths only simplify (``_outermost``) into the same union of subtrees.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from policies.actor import Actor, Assignment

MARK = "fe11ed"  # in every sentinel (uuid text, uuid hex, path segment); never in an id of ours (uuid7)
Getter = Callable[[Actor], Any]
Slot = tuple[str, str, Getter]  # the sentinel as the text renders it, its parameter's type, the real value


def shape(a: Actor) -> tuple[Any, ...]:
    """What the predicates' structure can depend on, beyond the tenant, its policy version and the day."""
    return (tuple((x.role, x.scope_kind, x.firm_id is None, x.valid_until is None) for x in a.assignments),
            a.person_id is None, a.household_id is None, a.own_compound_path is None)


def stand_in(a: Actor, mark: int) -> tuple[Actor, list[Slot]]:
    """An actor of ``a``'s shape whose facts are sentinels (``mark`` tells two sets apart), and the slots:
    each sentinel's rendered literal, its type, and how to read the value from a real actor."""
    slots: list[Slot] = []

    def uid(get: Getter) -> uuid.UUID:
        value = uuid.UUID(f"{MARK}{mark:02x}-0000-4000-8000-{len(slots):012x}")
        slots.append((f"'{value}'", "uuid", get))
        return value

    def path(get: Getter, depth: int) -> str:
        # depth differs per fact: grants order paths by length (policies.actor._outermost), not by chance
        value = "/" + "".join(f"{MARK}{mark:02x}{len(slots):06x}{j:018x}/" for j in range(depth))
        slots.append((f"'{value}'", "text", get))
        return value

    when = datetime(1900 + mark, 1, 2, 3, 4, 5, tzinfo=UTC)  # differs between marks: a use shows
    assignments = []
    for i, x in enumerate(a.assignments):
        assignments.append(Assignment(
            id=uid(_of(i, "id")), role=x.role, scope_area_id=uid(_of(i, "scope_area_id")),
            scope_path=path(_of(i, "scope_path"), i + 1), scope_name=f"{MARK}{mark:02x} {i}", scope_kind=x.scope_kind,
            firm_id=None if x.firm_id is None else uid(_of(i, "firm_id")),
            valid_from=when, valid_until=None if x.valid_until is None else when + timedelta(days=1)))
    actor = Actor(
        user_id=uid(lambda b: b.user_id), username=f"{MARK}{mark:02x}", display_name=f"{MARK}{mark:02x}",
        tenant_id=a.tenant_id, policy=a.policy, assignments=assignments,
        person_id=None if a.person_id is None else uid(lambda b: b.person_id),
        household_id=None if a.household_id is None else uid(lambda b: b.household_id),
        own_compound_path=(None if a.own_compound_path is None
                           else path(lambda b: b.own_compound_path, len(a.assignments) + 1)),
        today=a.today)  # no source: policies.filters keeps no predicate of it
    return actor, slots


def _of(i: int, name: str) -> Getter:
    return lambda b: getattr(b.assignments[i], name)


def facts(a: Actor) -> list[str]:
    """The real actor's facts as they could appear in a text (ids as text and as hex, paths)."""
    ids: list[uuid.UUID | None] = [a.user_id, a.person_id, a.household_id]
    paths = [a.own_compound_path]
    for x in a.assignments:
        ids += [x.id, x.scope_area_id, x.firm_id]
        paths.append(x.scope_path)
    return [*(f for i in ids if i is not None for f in (str(i), i.hex)), *(p for p in paths if p)]


def template(render: Callable[[Actor], str], real: Actor, marker: Callable[[int, str], str]
             ) -> tuple[str, list[Getter]] | None:
    """``render(actor)``'s text with the actor's facts as ``marker(k, pgtype)`` placeholders, and the k-th's
    getter; None when the text cannot be shared (the module's three tests)."""
    texts: list[str] = []
    getters: list[Getter] = []
    for mark in (1, 2):
        actor, slots = stand_in(real, mark)
        sql = render(actor)
        for k, (literal, pgtype, _get) in enumerate(slots):
            sql = sql.replace(literal, marker(k, pgtype))
        texts.append(sql)
        getters = [get for _lit, _t, get in slots]
    sql = texts[0]
    if sql != texts[1] or MARK in sql or any(f in sql for f in facts(real)):
        return None
    return sql, getters
