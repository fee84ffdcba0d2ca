"""models.bounded.keep — the one rule of the process's bounded dicts (issue #21), prepared.guard made once per
kind and checks' text, and each cache kept through keep at its own limit (emptied when a new key would pass it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, cast

import pytest
from graphql import OperationDefinitionNode, build_schema, parse
from sqlalchemy import true

import compiled.calendar as compiled_calendar
from compiled import plans
from compiled.plans import PlanCache
from compiled.sql import Templates
from gongzhi.http import fast_variables, fast_writes
from models import Case, sealing
from models.bounded import keep
from policies import filters
from policies.actor import Actor, Grant
from resolvers import prepared
from resolvers.cases import CalendarDay
from resolvers.cases.workcalendar import WorkCalendar


def test_keep_empties_at_its_limit_only_for_a_new_key() -> None:
    kept: dict[int, str] = {}
    for i in range(3):
        assert keep(kept, i, str(i), 3) == str(i)
    assert kept == {0: "0", 1: "1", 2: "2"}
    keep(kept, 1, "one", 3)  # a key already there is replaced: nothing emptied
    assert kept == {0: "0", 1: "one", 2: "2"}
    keep(kept, 3, "3", 3)  # a new key at the limit: emptied first
    assert kept == {3: "3"}


def test_a_guard_is_made_once_per_kind_and_checks() -> None:
    made: list[str] = []

    def make(text: str) -> str:
        made.append(text)
        return text

    a = prepared.guard("test.kind", "SELECT 1", lambda: make("guard of 1"))
    b = prepared.guard("test.kind", "SELECT 1", lambda: make("another"))
    c = prepared.guard("test.other", "SELECT 1", lambda: make("other kind"))
    assert (a, b, c) == ("guard of 1", "guard of 1", "other kind")
    assert made == ["guard of 1", "other kind"]


# -- every cache kept through keep holds its limit: its limit's keys all kept, one more empties it first


def _emptied_at(limit: int, kept: Callable[[], dict[Any, Any]], put: Callable[[int], Any]) -> None:
    """``put(i)`` keeps one new key of ``kept()`` and gives it: ``limit`` keys are all kept (so the limit is this
    one, not a smaller), the next empties the dict before it goes in (so it is not larger)."""
    keys = [put(i) for i in range(limit)]
    assert len(set(keys)) == limit and list(kept()) == keys
    last = put(limit)
    assert list(kept()) == [last]


def test_the_plan_cache_s_declined_documents_coerced_variables_and_versioned_answers() -> None:
    cache = PlanCache(size=3)
    _emptied_at(3, lambda: cache._declined, lambda i: (cache.decline(f"q{i}", None), (f"q{i}", None))[1])
    _emptied_at(3, lambda: cache._variables,
                lambda i: (cache.coerce(f"q{i}", "Op", b"{}", {"i": i}), (f"q{i}", "Op", b"{}"))[1])
    assert cache.coerced("q3", "Op", b"{}") == {"i": 3}
    _emptied_at(256, lambda: cache._answers, lambda i: (cache.versioned(f"SELECT {i}"), f"SELECT {i}")[1])


def test_quiet_texts_calendar_days_and_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plans, "_QUIET", {})
    _emptied_at(4096, lambda: plans._QUIET, lambda i: (plans.quiet(f"SELECT {i}"), f"SELECT {i}")[1])
    assert plans._QUIET == {"SELECT 4096": True}
    monkeypatch.setattr(compiled_calendar, "_rendered", {})
    monkeypatch.setattr(compiled_calendar, "_RENDERED_MAX", 3)
    days: tuple[CalendarDay, ...] = ()
    _emptied_at(3, lambda: compiled_calendar._rendered, lambda i: (
        compiled_calendar._days_json(days, ((f"k{i}", "note"),)), (id(days), ((f"k{i}", "note"),)))[1])
    templates = Templates(size=3)
    _emptied_at(3, lambda: templates._made, lambda i: (templates._keep(i, None), i)[1])


def test_fast_writes_variables_and_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = build_schema("type Query { a(x: Int): Int }")
    operations = [parse("query Q($x: Int) { a(x: $x) }").definitions[0] for _ in range(4)]
    monkeypatch.setattr(fast_variables, "_plans", {})
    monkeypatch.setattr(fast_variables, "_PLANS_SIZE", 3)
    _emptied_at(3, lambda: fast_variables._plans,
                lambda i: (fast_variables.coerce(schema, cast(OperationDefinitionNode, operations[i]), {"x": i}),
                           id(operations[i]))[1])
    assert fast_variables._plans[id(operations[3])][0] is operations[3]
    shapes = fast_writes.Shapes(size=3)
    _emptied_at(3, lambda: shapes._shapes,
                lambda i: (shapes.get(f"q{i}", None, cast(OperationDefinitionNode, operations[i])), (f"q{i}", None))[1])


def test_kept_predicates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filters, "_KEPT", {})
    monkeypatch.setattr(filters, "_KEPT_LIMIT", 3)
    actor = Actor(user_id=uuid.uuid4(), username="u", display_name="u", tenant_id=uuid.uuid4(),
                  policy=None, assignments=[], source=("a", "b"))  # type: ignore[arg-type]
    _emptied_at(3, lambda: filters._KEPT, lambda i: (
        filters.kept_predicate(f"p{i}", Grant(), actor, true),
        (f"p{i}", Grant(), actor.tenant_id, actor.user_id, actor.source, actor.today))[1])


def test_prepared_texts_of_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepared, "_SIZE", 3)
    monkeypatch.setattr(prepared, "_guarded_texts", {})
    _emptied_at(3, lambda: prepared._guarded_texts,
                lambda i: (prepared._guarded(Case, i, f"INSERT {i}", [], {}), (Case, i))[1])
    monkeypatch.setattr(prepared, "_updates", {})
    _emptied_at(3, lambda: prepared._updates, lambda i: (
        prepared.update_values(Case, {"title": "t"}, {"id": i}, i + 1), (Case, ("title",), ("id",), i + 1, None))[1])
    assert prepared._updates[Case, ("title",), ("id",), 4, None][0] == (
        "UPDATE cases SET title = $4::text WHERE id = $5::uuid")


def test_a_calendar_s_windows_and_the_ciphers(monkeypatch: pytest.MonkeyPatch) -> None:
    calendar = WorkCalendar()
    first = date(2026, 1, 1)
    _emptied_at(4096, lambda: calendar.__dict__["_kept_windows"],
                lambda i: (calendar._windows(first + timedelta(days=i)), first + timedelta(days=i))[1])
    monkeypatch.setattr(sealing, "_AEADS", {})
    keys = [bytes([i]) * 32 for i in range(65)]
    _emptied_at(64, lambda: sealing._AEADS, lambda i: (sealing._aead(keys[i]), keys[i])[1])


def test_the_tenant_caches_of_the_driver_and_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """tenants.commit's parameter types per prepared text, tenants.session's tenant filter option per tenant — and
    the first statement's tenant and user instances, policies.actor's parsed rows and kept actors."""
    from datetime import UTC, datetime

    from gongzhi.http import state
    from models import Tenant
    from policies import actor as actor_module
    from tenants import commit, session

    class Prepared:
        def __init__(self, i: int) -> None:
            self.query = f"SELECT ${i}"

        def _get_parameters(self) -> list[Any]:
            return [type("Oid", (), {"oid": 25})()]

    monkeypatch.setattr(commit, "_TYPES", {})
    _emptied_at(256, lambda: commit._TYPES, lambda i: (commit.parameter_types(Prepared(i)), f"SELECT ${i}")[1])
    assert commit._TYPES == {"SELECT $256": (25,)}
    monkeypatch.setattr(session, "_CRITERIA", {})
    tenants = [uuid.UUID(int=i) for i in range(4097)]
    _emptied_at(4096, lambda: session._CRITERIA, lambda i: (session._tenant_criteria(tenants[i]), tenants[i])[1])
    opening = state._OPEN
    monkeypatch.setattr(opening, "_seen", {})
    columns = opening.tenant
    when = datetime(2026, 12, 7, tzinfo=UTC)

    def row(i: int) -> tuple[Any, ...]:
        values = {"id": uuid.UUID(int=i), "slug": f"t{i}", "name": "街道", "status": "active", "policy_version": 1,
                  "calendar_version": 1, "actor_version": 1, "created_at": when}
        return tuple(values[name] for _key, name, _p in columns)

    _emptied_at(4096, lambda: opening._seen,
                lambda i: (opening._instance(Tenant, columns, row(i), 0, len(columns)), (Tenant, row(i)))[1])
    monkeypatch.setattr(actor_module, "_parsed_rows", {})
    _emptied_at(4096, lambda: actor_module._parsed_rows,
                lambda i: (actor_module.actor_from_rows(user=cast(Any, type("U", (), {
                    "id": uuid.UUID(int=1), "username": "u", "display_name": "u"})()), tenant_id=uuid.UUID(int=2),
                    policy=cast(Any, None), now=when, raw_assignments=None, raw_own=f'[null, null, "/{i}/", null]'),
                    (None, f'[null, null, "/{i}/", null]'))[1])
    monkeypatch.setattr(actor_module, "_KEPT_ACTORS", {})
    monkeypatch.setattr(actor_module, "_KEPT_ACTORS_MAX", 3)
    _emptied_at(3, lambda: actor_module._KEPT_ACTORS,
                lambda i: (actor_module.keep_actor(f"t{i}", uuid.UUID(int=i), uuid.UUID(int=i), 1, None, None,
                                                   (None, None)), (f"t{i}", uuid.UUID(int=i)))[1])
