"""The area, household and person read predicates are kept per actor in the process (issue #21): one
request after another, an actor read from the same rows on the same day with the same grant gets the
same expression; anything the predicate depends on that differs gets its own."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased

from models import Area, AreaKind, Household
from policies.actor import Actor, Assignment, Grant
from policies.filters import _area_read_predicate, area_read_predicate, household_predicate, person_predicate
from policies.roles import Role

TENANT, USER = uuid.uuid4(), uuid.uuid4()
SOURCE = ('[["…grid1 rows…"]]', '["person", "household", "1.2.3.", "1.2."]')
GRANT = Grant(scope_paths=("1.2.",), own=True, own_compound=True)


def actor(*, source: tuple[str | None, str | None] | None = SOURCE, user: uuid.UUID = USER,
          today: date = date(2026, 12, 5)) -> Actor:
    """A new Actor object per request, as actor_from_rows makes one (predicates never read its policy)."""
    grid = Assignment(uuid.UUID(int=1), Role.GRID_LEADER, uuid.UUID(int=2), "1.2.", "一网格", AreaKind.GRID, None,
                      datetime(2026, 1, 1, tzinfo=UTC), None)
    return Actor(user_id=user, username="grid1", display_name="网格员", tenant_id=TENANT, policy=None,  # type: ignore[arg-type]
                 assignments=[grid], household_id=uuid.UUID(int=3), own_compound_path="1.2.3.", today=today,
                 source=source)


def sql(expr: Any) -> str:
    return str(expr.compile(dialect=postgresql.asyncpg.dialect(), compile_kwargs={"literal_binds": True}))  # type: ignore[no-untyped-call]


def test_the_same_actor_rows_day_and_grant_share_one_predicate() -> None:
    for predicate in (area_read_predicate, household_predicate, person_predicate):
        kept = predicate(GRANT, actor())
        assert predicate(GRANT, actor()) is kept, predicate.__name__
        # Each thing the expression depends on makes its own.
        for other in (predicate(Grant(scope_paths=("1.2.",)), actor()), predicate(GRANT, actor(user=uuid.uuid4())),
                      predicate(GRANT, actor(today=date(2026, 12, 6))),
                      predicate(GRANT, actor(source=(SOURCE[0], None)))):
            assert other is not kept, predicate.__name__
    # The kept expression is the one built afresh.
    assert sql(area_read_predicate(GRANT, actor())) == sql(_area_read_predicate(GRANT, actor(), Area))


def test_actors_not_read_from_rows_and_aliased_models_are_built_each_time() -> None:
    unread = actor(source=None)  # SQLite's load_actor: no row texts to stand for its facts
    assert person_predicate(GRANT, unread) is not person_predicate(GRANT, unread)
    other = aliased(Household)
    assert household_predicate(GRANT, actor(), other) is not household_predicate(GRANT, actor(), other)
    partner = actor()
    partner.partner_unit_id = uuid.uuid4()
    assert area_read_predicate(GRANT, partner) is not area_read_predicate(GRANT, partner)


def test_the_case_predicate_is_kept_per_actor_and_public_flag() -> None:
    """issue #21: the general path's case steps built the case predicate twice per request (the read grant's
    and the step's); kept as the others are, with ``public`` in the key (the problem wall's entries or not)."""
    from policies.cases import case_predicate
    from policies.cases.filters import _case_predicate

    grant = Grant(scope_paths=("1.2.",), own_compound=True, grid_compound_paths=("1.2.",))
    for public in (True, False):
        kept = case_predicate(grant, actor(), public=public)
        assert case_predicate(grant, actor(), public=public) is kept
        assert sql(kept) == sql(_case_predicate(grant, actor(), public))  # the one built afresh
        for other in (case_predicate(grant, actor(), public=not public),
                      case_predicate(Grant(scope_paths=("1.2.",)), actor(), public=public),
                      case_predicate(grant, actor(user=uuid.uuid4()), public=public),
                      case_predicate(grant, actor(today=date(2026, 12, 6)), public=public),
                      case_predicate(grant, actor(source=(SOURCE[0], None)), public=public)):
            assert other is not kept
    assert sql(case_predicate(grant, actor(), public=True)) != sql(case_predicate(grant, actor(), public=False))
    unread = actor(source=None)
    assert case_predicate(grant, unread) is not case_predicate(grant, unread)
