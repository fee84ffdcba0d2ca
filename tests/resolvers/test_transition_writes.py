"""Issue #21: a transition's conditional UPDATE on the driver (resolvers/transition_writes.py) and a sign-up's
INSERT without a SAVEPOINT of its own (resolvers/volunteering/activities.py) answer and write as before.

- claimWish and checkInActivity write the row and the audit change record the ORM's UPDATE writes
  (``transition_writes.text_for`` made to decline, as on SQLite), and on PostgreSQL the driver path ran.
- A transition that loses its race (the row moved between the read and the UPDATE) is still CONFLICT, with
  the same payload on both paths, and writes nothing.
- A sign-up whose INSERT meets the unique constraint (a concurrent sign-up of the same person) is still the
  typed CONFLICT, and the place it took is given back — with and without an idempotency key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from models import Activity, ActivitySignup, AuditEntry, Wish
from resolvers import prepared, transition_writes, transitions
from resolvers.ids import decode_id, encode_global_id
from tenants.session import bind_tenant
from tests.support import fast_paths
from tests.support.harness import Api, DbEnv, World
from tests.support.volunteering import area, person, run
from tests.support.world import TenantWorld

ERR = "errors { code field message }"
WISH = f"mutation($i: PostWishInput!) {{ postWish(input: $i) {{ wish {{ id state version }} {ERR} }} }}"
CLAIM = f"mutation($i: WishTransitionInput!) {{ claimWish(input: $i) {{ wish {{ id state version }} {ERR} }} }}"
PUBLISH_ACTIVITY = ("mutation($in: PublishActivityInput!) { publishActivity(input: $in) { activity { id } "
                    f"{ERR} }} }}")
SIGN_UP = ("mutation($a: ID!, $k: String) { signUpForActivity(activityId: $a, idempotencyKey: $k) { "
           f"signup {{ id state activity {{ signedUp }} }} {ERR} }} }}")
CHECK_IN = f"mutation($id: ID!) {{ checkInActivity(input: {{id: $id}}) {{ signup {{ id state }} {ERR} }} }}"
_AT = {"id", "created_at", "updated_at", "claimed_at", "checked_in_at", "title", "activity_id"}


async def _activity(api: Api, tw: TenantWorld, title: str = "楼道清洁") -> str:
    start = datetime.now(UTC) + timedelta(days=1)
    p = await run(api, tw, "admin", PUBLISH_ACTIVITY, {"in": {
        "title": title, "areaId": area(tw, "P1", "Compound"), "place": "幸福小区1栋",
        "startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=2)).isoformat(), "capacity": 10,
        "organiserKind": "COMMUNITY", "communityId": area(tw, "C1", "Community")}})
    assert p["errors"] == [], p
    return str(p["activity"]["id"])


async def _claimed(api: Api, tw: TenantWorld, title: str) -> tuple[str, dict[str, Any]]:
    p = await run(api, tw, "resident", WISH, {"i": {"personId": person(tw, "h1b"), "title": title}})
    assert p["errors"] == [], p
    wish = p["wish"]["id"]
    return wish, await run(api, tw, "grid1", CLAIM, {"i": {"id": wish}})


async def _checked_in(api: Api, tw: TenantWorld, title: str) -> tuple[str, dict[str, Any]]:
    s = await run(api, tw, "resident", SIGN_UP, {"a": await _activity(api, tw, title), "k": None})
    assert s["errors"] == [], s
    signup = s["signup"]["id"]
    return signup, await run(api, tw, "resident", CHECK_IN, {"id": signup})


Step = Callable[[Api, TenantWorld, str], Awaitable[tuple[str, dict[str, Any]]]]


@pytest.fixture
def general_path(api: Api) -> Iterator[None]:
    """These tests are of the general path's UPDATE (``transition_writes``, or the ORM's): claimWish and
    checkInActivity as sent here take the driver's fast path otherwise (gongzhi/http/fast_moves.py, compared with
    this path in tests/resolvers/test_moves_fast.py)."""
    with fast_paths.general_path(api):
        yield


@pytest.mark.parametrize(("step", "model", "type_name"),
                         [(_claimed, Wish, "Wish"), (_checked_in, ActivitySignup, "ActivitySignup")],
                         ids=["claimWish", "checkInActivity"])
async def test_a_transition_writes_what_the_orm_update_writes(api: Api, db: DbEnv, fresh: World,
                                                              monkeypatch: pytest.MonkeyPatch, step: Step,
                                                              model: Any, type_name: str, general_path: None) -> None:
    tw = fresh.a
    sent = 0
    real_write = transition_writes.write

    async def counted(*a: Any) -> bool:
        nonlocal sent
        sent += 1
        return await real_write(*a)

    monkeypatch.setattr(transition_writes, "write", counted)
    fast_id, fast = await step(api, tw, "一")
    assert (sent > 0) == db.is_pg
    monkeypatch.setattr(transition_writes, "text_for", lambda *_a, **_k: None)  # the ORM's UPDATE
    orm_id, orm = await step(api, tw, "二")
    assert fast["errors"] == [] and orm["errors"] == [], (fast, orm)
    key = next(k for k in fast if k != "errors")
    assert {k: v for k, v in fast[key].items() if k != "id"} == {k: v for k, v in orm[key].items() if k != "id"}

    ids = {decode_id(fast_id, type_name, "id"), decode_id(orm_id, type_name, "id")}
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            rows = list(await s.scalars(select(model).where(model.id.in_(ids))))
            entries = [e for e in await s.scalars(select(AuditEntry)) if any(
                c["table"] == model.__tablename__ and c["op"] == "update" and c["id"] in {str(i) for i in ids}
                for c in e.detail.get("changes") or [])]
    assert len(rows) == 2 and len(entries) == 2
    columns = [c.key for c in model.__mapper__.column_attrs if c.key not in _AT]
    a, b = rows
    assert {k: getattr(a, k) for k in columns} == {k: getattr(b, k) for k in columns}
    assert all(getattr(r, "claimed_at" if model is Wish else "checked_in_at") is not None for r in rows)
    changes = [next(c for c in e.detail["changes"] if c["op"] == "update") for e in entries]
    assert sorted(changes[0]["fields"]) == sorted(changes[1]["fields"])
    assert ({k: v for k, v in changes[0]["fields"].items() if k not in _AT}
            == {k: v for k, v in changes[1]["fields"].items() if k not in _AT})
    assert {e.action for e in entries} == {"claimWish" if model is Wish else "checkInActivity"}


async def test_a_lost_race_is_still_a_conflict(api: Api, db: DbEnv, fresh: World,
                                               monkeypatch: pytest.MonkeyPatch, general_path: None) -> None:
    if not db.is_pg:
        pytest.skip("SQLite has one writer: the other request's UPDATE waits for this one's transaction")
    tw = fresh.a

    async def moved_first(wish_id: Any) -> None:  # another request claims it between the read and the UPDATE
        async with db.sessionmaker() as s:
            bind_tenant(s, tw.tenant_id)
            async with s.begin():
                await s.execute(update(Wish).where(Wish.id == wish_id).values(version=Wish.version + 1))

    answers = []
    sent: list[bool] = []
    real_if, real_write = transitions.write_if, transition_writes.write
    for orm in (False, True):
        p = await run(api, tw, "resident", WISH, {"i": {"personId": person(tw, "h1b"), "title": "修自行车"}})
        wish_id = decode_id(p["wish"]["id"], "Wish", "id")
        monkeypatch.undo()

        async def racing_if(*a: Any, wish_id: Any = wish_id, **k: Any) -> bool:
            await moved_first(wish_id)
            return await real_if(*a, **k)

        async def counted(*a: Any, orm: bool = orm) -> bool:
            sent.append(orm)
            return await real_write(*a)

        monkeypatch.setattr(transitions, "write_if", racing_if)
        monkeypatch.setattr(transition_writes, "write", counted)
        if orm:
            monkeypatch.setattr(transition_writes, "text_for", lambda *_a, **_k: None)  # the ORM's UPDATE
        answer = await run(api, tw, "grid1", CLAIM, {"i": {"id": p["wish"]["id"]}})
        monkeypatch.undo()
        async with db.sessionmaker() as s:
            bind_tenant(s, tw.tenant_id)
            async with s.begin():
                row = await s.scalar(select(Wish).where(Wish.id == wish_id))
        assert row is not None and row.state.value == "open" and row.claimant_user_id is None and row.version == 2
        answers.append(answer)
    assert sent == [False]  # the driver's UPDATE lost the race; then the ORM's
    assert answers[0] == answers[1]
    assert answers[0]["wish"] is None and [e["code"] for e in answers[0]["errors"]] == ["CONFLICT"], answers


@pytest.mark.parametrize("key", [None, "s-race"], ids=["no-key", "idempotency-key"])
async def test_a_sign_up_lost_to_a_concurrent_one_is_conflict(api: Api, db: DbEnv, fresh: World,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               key: str | None) -> None:
    tw = fresh.a
    act = await _activity(api, tw)
    first = await run(api, tw, "resident", SIGN_UP, {"a": act, "k": None})
    assert first["errors"] == [] and first["signup"]["activity"]["signedUp"] == 1, first
    real_first = prepared.first

    async def unseen(ctx: Any, k: tuple[Any, ...], *a: Any) -> Any:  # the first sign-up not yet committed
        row = await real_first(ctx, k, *a)
        return row if k != ("sign_up",) or row is None else (*row[:4], None, None)

    monkeypatch.setattr(prepared, "first", unseen)
    again = await run(api, tw, "resident", SIGN_UP, {"a": act, "k": key})
    monkeypatch.undo()
    assert again["signup"] is None and [(e["code"], e["field"]) for e in again["errors"]] == [
        ("CONFLICT", "activityId")], again
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            activity_id = decode_id(act, "Activity", "activityId")
            taken = await s.scalar(select(Activity.signed_up).where(Activity.id == activity_id))
            signups = list(await s.scalars(select(ActivitySignup).where(ActivitySignup.activity_id == activity_id)))
            refused = [e for e in await s.scalars(select(AuditEntry).where(AuditEntry.action == "signUpForActivity"))
                       if e.detail.get("outcome") == "refused"]
    assert taken == 1 and len(signups) == 1, (taken, signups)
    assert refused, "the refusal is audited"
    # and the mutation after it still works in a new request
    other = await run(api, tw, "resident", SIGN_UP, {"a": await _activity(api, tw, "二"), "k": key})
    assert other["errors"] == [], other
    assert encode_global_id("ActivitySignup", signups[0].id) == first["signup"]["id"]
