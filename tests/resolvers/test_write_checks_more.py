"""The write checks of resolvers/prepared.py shared by the actors of one shape (resolvers/stand_in.py,
issue #21): a text is rendered once for all owners (residents, grid leaders …), and each request sends its
own actor's facts — so what one actor's request finds must never be another's.

- Two residents of the same shape (``resident`` of 幸福小区 P1, ``resident4`` of 湖畔小区 P3) in turn: each
  casts the ballot of their own dwelling, signs up, redeems, with the same idempotency key, and is refused
  what only the other may do; on PostgreSQL the second resident's requests render no text.
- ``stand_in.template`` declines a build that reads a fact other than from ``ctx.actor`` (a local variable
  read before the build), that inlines a fact in another form (a LIKE pattern), and shares one that reads
  the actor as the SQL's values.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from models import Area, AreaKind, PropertyOwner, VoteElector
from policies.actor import Actor, Assignment
from policies.roles import Role
from resolvers import prepared, stand_in
from tenants.session import bind_tenant
from tests.support import citus
from tests.support.deliberation import OPEN, closes, topic_in
from tests.support.harness import Api, DbEnv, World
from tests.support.volunteering import AWARD, CREATE_ITEM, area, person, run
from tests.support.world import TenantWorld

ERR = "errors { code field message }"
CAST = ("mutation($i: CastBallotInput!) { castBallot(input: $i) { vote { id myBallot { choice } } "
        f"{ERR} }} }}")
SIGN_UP = ("mutation($a: ID!, $k: String) { signUpForActivity(activityId: $a, idempotencyKey: $k) { "
           f"signup {{ id state }} {ERR} }} }}")
REDEEM = ("mutation($i: ID!, $k: String) { requestRedemption(itemId: $i, idempotencyKey: $k) { "
          f"redemption {{ id state points }} {ERR} }} }}")
PUBLISH_ACTIVITY = ("mutation($in: PublishActivityInput!) { publishActivity(input: $in) { activity { id } "
                    f"{ERR} }} }}")
WISH = f"mutation($i: PostWishInput!) {{ postWish(input: $i) {{ wish {{ id }} {ERR} }} }}"


async def _vote(api: Api, tw: TenantWorld, where: str) -> str:
    tid = await topic_in(api, tw, where)
    r = await api.gql(tw, "admin", OPEN, {"i": {"topicId": tid, "matter": "OTHER", "question": "是否同意？",
                                                "closesAt": closes()}})
    assert r["data"]["openVote"]["errors"] == [], r
    return str(r["data"]["openVote"]["vote"]["id"])


async def _activity(api: Api, tw: TenantWorld, compound: str, community: str) -> str:
    start = datetime.now(UTC) + timedelta(days=1)
    p = await run(api, tw, "admin", PUBLISH_ACTIVITY, {"in": {
        "title": "楼道清洁", "areaId": area(tw, compound, "Compound"), "place": "小区广场",
        "startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=2)).isoformat(), "capacity": 10,
        "organiserKind": "COMMUNITY", "communityId": area(tw, community, "Community")}})
    assert p["errors"] == [], p
    return str(p["activity"]["id"])


def _codes(p: dict[str, Any]) -> list[str]:
    return [e["code"] for e in p["errors"]]


async def test_residents_of_one_shape_each_act_as_themselves(api: Api, db: DbEnv, fresh: World,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    tw = fresh.a
    votes = {"resident": await _vote(api, tw, "P1"), "resident4": await _vote(api, tw, "P3")}
    acts = {"resident": await _activity(api, tw, "P1", "C1"), "resident4": await _activity(api, tw, "P3", "C2")}
    items = {}
    for who, community, owner in (("resident", "C1", "h1b"), ("resident4", "C2", "h4a")):
        items[who] = (await run(api, tw, "admin", CREATE_ITEM, {"c": area(tw, community, "Community"), "n": "毛巾",
                                                               "p": 10, "s": 5}))["item"]["id"]
        assert (await run(api, tw, "admin", AWARD, {"p": person(tw, owner), "n": 10, "r": "志愿服务"}))["errors"] == []
    renders = 0
    real = prepared._compile

    def counted(*a: Any, **kw: Any) -> str:
        nonlocal renders
        renders += 1
        return real(*a, **kw)

    monkeypatch.setattr(prepared, "_compile", counted)
    mine: dict[str, list[dict[str, Any]]] = {}
    for who, other in (("resident", "resident4"), ("resident4", "resident")):
        before = renders
        mine[who] = [
            await run(api, tw, who, CAST, {"i": {"voteId": votes[who], "choice": "YES", "idempotencyKey": "same"}}),
            await run(api, tw, who, SIGN_UP, {"a": acts[who], "k": "same-2"}),
            await run(api, tw, who, REDEEM, {"i": items[who], "k": "same-3"}),
        ]
        refused = [  # what only the other may do (the other has not yet, or has with the same keys)
            await run(api, tw, who, CAST, {"i": {"voteId": votes[other], "choice": "NO", "idempotencyKey": "k-4"}}),
            await run(api, tw, who, SIGN_UP, {"a": acts[other], "k": "k-5"}),
            await run(api, tw, who, REDEEM, {"i": items[other], "k": "k-6"}),
            await run(api, tw, who, WISH, {"i": {"personId": person(tw, "h4a" if who == "resident" else "h1b"),
                                                 "title": "修自行车"}}),
        ]
        assert [_codes(p) for p in mine[who]] == [[], [], []], mine[who]
        assert mine[who][0]["vote"]["myBallot"] == {"choice": "YES"}
        assert all(_codes(p) for p in refused), refused
        if who == "resident4" and db.is_pg:
            assert renders == before, "the second resident's checks rendered texts of their own"
    assert mine["resident"] != mine["resident4"]
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            cast = (await s.execute(select(VoteElector.cast_by_user_id, PropertyOwner.person_id).join(
                PropertyOwner, PropertyOwner.household_id == VoteElector.household_id)
                .where(VoteElector.choice.is_not(None)))).all()
    users = {tw.users["resident"]: tw.persons["h1b"], tw.users["resident4"]: tw.persons["h4a"]}
    # each ballot is its caster's own dwelling's (H1 has two owners: h1a and h1b)
    assert {u for u, _ in cast} == set(users)
    assert all(any(p == users[u] for u2, p in cast if u2 == u) for u in users), cast


# -- stand_in.template on its own (no database: the PostgreSQL text of a statement)

_DIALECT = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]


def _actor() -> Actor:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    scope = uuid.uuid4()
    return Actor(user_id=uuid.uuid4(), username="u", display_name="u", tenant_id=uuid.uuid4(), policy=None,  # type: ignore[arg-type]
                 assignments=[Assignment(uuid.uuid4(), Role.RESIDENT, scope, f"/{uuid.uuid4().hex}/{scope.hex}/",
                                         "幸福小区", AreaKind.COMPOUND, None, at, None)],
                 person_id=uuid.uuid4(), household_id=uuid.uuid4(), own_compound_path=f"/{scope.hex}/")


def _render(build: Any) -> Any:
    return lambda actor: str(build(actor).compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


def _marker(k: int, pgtype: str) -> str:
    return f"$a{k}::{pgtype}"


def test_a_build_reading_the_actor_is_shared() -> None:
    real = _actor()
    found = stand_in.template(_render(lambda a: select(Area.id).where(
        Area.path.startswith(a.own_compound_path) | (Area.id == a.assignments[0].scope_area_id))), real, _marker)
    assert found is not None
    sql, getters = found
    assert "$a" in sql and stand_in.MARK not in sql and str(real.assignments[0].scope_area_id) not in sql, sql
    used = [g(real) for k, g in enumerate(getters) if f"$a{k}::" in sql]
    assert sorted(map(str, used)) == sorted([str(real.assignments[0].scope_area_id), real.own_compound_path])


def test_a_build_with_a_fact_read_before_it_is_not_shared() -> None:
    real = _actor()
    person_id = real.person_id  # read before the build: the stand-in cannot replace it
    assert stand_in.template(_render(lambda a: select(Area.id).where(Area.id == person_id)), real, _marker) is None
    user_id = real.user_id
    assert stand_in.template(_render(lambda a: select(Area.id).where(Area.id == user_id)), real, _marker) is None


def test_a_fact_in_another_form_is_not_shared() -> None:
    real = _actor()
    assert stand_in.template(_render(lambda a: select(Area.id).where(
        Area.path.like(a.own_compound_path + "%"))), real, _marker) is None  # a pattern, not the value
    assert stand_in.template(_render(lambda a: select(Area.id).where(
        Area.name == a.assignments[0].scope_name)), real, _marker) is None  # a fact that is no slot


# -- the moves whose rows now come from prepared texts (claimWish, checkInActivity, castBallot,
#    signUpForActivity): the rows written and the audit changes equal the ORM path's (``prepared.rows``
#    made to decline, as on SQLite)

CLAIM = f"mutation($i: WishTransitionInput!) {{ claimWish(input: $i) {{ wish {{ id state version }} {ERR} }} }}"
CHECK_IN = f"mutation($id: ID!) {{ checkInActivity(input: {{id: $id}}) {{ signup {{ id state }} {ERR} }} }}"
_VOLATILE = {"id", "created_at", "updated_at", "title", "claimed_at", "checked_in_at", "cast_at", "activity_id",
             "idempotency_key", "vote_id", "starts_at", "ends_at"}


def _same(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in type(row).__mapper__.column_attrs if c.key not in _VOLATILE}


async def _changes(db: DbEnv, tw: TenantWorld, ids: set[str]) -> list[list[dict[str, Any]]]:
    from models import AuditEntry
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            entries = list(await s.scalars(select(AuditEntry).order_by(AuditEntry.created_at)))
    out = []
    for e in entries:
        changes = [c for c in e.detail.get("changes", []) if c["id"] in ids]
        if changes:
            out.append([{**c, "id": None, "fields": {k: v for k, v in c["fields"].items() if k not in _VOLATILE}}
                        for c in changes])
    return out


async def test_moves_write_what_the_orm_path_writes(api: Api, db: DbEnv, fresh: World,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from models import ActivitySignup, Wish
    from resolvers.ids import decode_global_id

    tw = fresh.a

    def uid(gid: str) -> str:
        return str(decode_global_id(gid)[1])

    wishes = [(await run(api, tw, "resident", WISH, {"i": {"personId": person(tw, "h1b"), "title": f"修{i}"}}))
              ["wish"]["id"] for i in range(2)]
    acts = [await _activity(api, tw, "P1", "C1") for _ in range(2)]
    votes = [await _vote(api, tw, "P1"), await _vote(api, tw, "P1")]
    answers = []
    for i, orm in enumerate((False, True)):
        if orm:
            async def declined(*_a: Any, **_kw: Any) -> None:
                return None
            monkeypatch.setattr(prepared, "rows", declined)
        signup = await run(api, tw, "resident", SIGN_UP, {"a": acts[i], "k": f"s-{i}"})
        answers.append([
            await run(api, tw, "grid1", CLAIM, {"i": {"id": wishes[i]}}),
            signup,
            await run(api, tw, "resident", CHECK_IN, {"id": signup["signup"]["id"]}),
            await run(api, tw, "resident", CAST, {"i": {"voteId": votes[i], "choice": "NO",
                                                        "idempotencyKey": f"b-{i}"}}),
        ])
    monkeypatch.undo()
    for fast, orm in zip(*answers, strict=True):
        assert fast["errors"] == orm["errors"] == [], (fast, orm)
        assert {k: v for k, v in fast.items() if k != "errors"}.keys() == {k: v for k, v in orm.items()
                                                                          if k != "errors"}.keys()
    assert answers[0][0]["wish"]["state"] == answers[1][0]["wish"]["state"] == "CLAIMED"
    assert answers[0][0]["wish"]["version"] == answers[1][0]["wish"]["version"]
    assert answers[0][2]["signup"]["state"] == answers[1][2]["signup"]["state"]
    assert answers[0][3]["vote"]["myBallot"] == answers[1][3]["vote"]["myBallot"] == {"choice": "NO"}
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            w = {str(r.id): r for r in await s.scalars(select(Wish))}
            su = {str(r.id): r for r in await s.scalars(select(ActivitySignup))}
            el = {str(r.vote_id): r
                  for r in await s.scalars(select(VoteElector).where(VoteElector.choice.is_not(None)))}
    assert _same(w[uid(wishes[0])]) == _same(w[uid(wishes[1])])
    signups = [uid(a[1]["signup"]["id"]) for a in answers]
    assert _same(su[signups[0]]) == _same(su[signups[1]])
    assert _same(el[uid(votes[0])]) == _same(el[uid(votes[1])])
    assert su[signups[0]].checked_in_at is not None and su[signups[1]].checked_in_at is not None
    for pair in ([uid(w_) for w_ in wishes], signups):
        a, b = await _changes(db, tw, {pair[0]}), await _changes(db, tw, {pair[1]})
        assert a == b and a, (a, b)


async def test_a_loaded_row_is_the_object_the_orm_loads(api: Api, db: DbEnv, fresh: World) -> None:
    """``prepared.load`` of a row as the driver gives it: the same attribute values, of the same types, as
    the ORM's own load of that row (enums, UUIDs, aware timestamps, numerics)."""
    from types import SimpleNamespace

    from models import Activity, Wish

    if not db.is_pg:
        pytest.skip("the driver's rows are PostgreSQL's")
    tw = fresh.a
    await run(api, tw, "resident", WISH, {"i": {"personId": person(tw, "h1b"), "title": "修自行车"}})
    await _activity(api, tw, "P1", "C1")
    await _vote(api, tw, "P1")
    for model in (Wish, Activity, VoteElector):
        async with db.sessionmaker() as s:
            bind_tenant(s, tw.tenant_id)
            async with s.begin():
                orm = (await s.scalars(select(model).limit(1))).one()
                expected = {k: getattr(orm, k) for k in prepared._load_plan(model)[1]}
        async with db.sessionmaker() as s:
            bind_tenant(s, tw.tenant_id)
            async with s.begin():
                conn = await s.connection()
                driver = (await conn.get_raw_connection()).dbapi_connection._connection  # type: ignore[union-attr]
                names = ", ".join(c.name for c in (col.property.columns[0] for col in prepared.columns(model)))
                raw = await driver.fetchrow(f"SELECT {names} FROM {model.__tablename__} WHERE id = $1", orm.id)
                got = prepared.load(SimpleNamespace(db=SimpleNamespace(session=s)), model, tuple(raw))  # type: ignore[arg-type]
                assert got in s and not s.new and not s.dirty
                values = {k: getattr(got, k) for k in expected}
        assert values == expected
        assert {k: type(v) for k, v in values.items()} == {k: type(v) for k, v in expected.items()}


async def test_a_staff_claim_in_reach_asks_no_party_community(api: Api, db: DbEnv, fresh: World) -> None:
    """A grid leader who is on the register (a party member: the claim grant's party-member condition
    applies) claims a wish in the grid's reach: the party community is not asked (it only words the refusal
    of a wish someone else claimed) — 5 statements, BEGIN and COMMIT not counted (6 before); 4 on the driver."""
    from models import Member
    from tenants.session import count_statements

    if not db.is_pg:
        pytest.skip("the counts are PostgreSQL's")
    if citus.ENABLED:
        pytest.skip(citus.DRIVER_PATH)
    tw = fresh.a
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            await s.execute(Member.__table__.update().where(Member.user_id == tw.users["grid1"])
                            .values(person_id=tw.persons["h3a"]))
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    # the general path (5), and the driver's (gongzhi/http/fast_moves.py: 3, its UPDATE with the COMMIT) where the
    # document is recognised
    for general, expected in ((True, 5), (False, 3)):
        posted = await run(api, tw, "resident", WISH, {"i": {"personId": person(tw, "h1b"), "title": "修"}})
        wish = posted["wish"]["id"]
        state.compiled_reads = not general
        try:
            with count_statements() as statements:
                claimed = await run(api, tw, "grid1", CLAIM, {"i": {"id": wish}})
        finally:
            state.compiled_reads = True
        assert claimed["errors"] == [] and claimed["wish"]["state"] == "CLAIMED", claimed
        assert not any(" ".join(s.split()).startswith("SELECT party_community.path") for s in statements), statements
        assert len(statements) == expected, statements
