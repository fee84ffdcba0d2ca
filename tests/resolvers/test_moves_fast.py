"""claimWish, checkInActivity, signUpForActivity and requestRedemption on the driver (gongzhi/http/fast_moves.py,
resolvers/fast_moves.py; issue #21) answer and write what the general path (strawberry, the ORM) does: two rows
brought to the same state get the mutation by each path, and both give the same response bytes (ids and times
aside) and the same rows and audit entries (ids and times aside). Whatever the general path refuses (a wrong
state, a stale version, someone else's sign-up, a party member's claim, the poster's own wish, a full activity,
not enough points) or the fast path leaves to it (another document shape, the legacy arguments, a retry) is
answered by the general path from the start, with its typed errors and its refusal's audit entry. A mutation the
fast path takes is three statements after BEGIN (the first, the row or the checks with the key's earlier row, the
writes with the audit entry and COMMIT) — a sign-up two, its checks the guard of its write —, fewer than the
general path's; a move lost to another writer
after the read is answered by the general path and writes nothing of its own; the audit chain verifies."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select, update

import resolvers.care as care_service
import resolvers.care.wishes_fast as wishes_fast
import resolvers.fast_moves as fast_moves
import resolvers.volunteering as volunteering_service
from models import Activity, ActivitySignup, AuditEntry, Redemption, RewardItem, Wish
from resolvers.ids import decode_id, encode_global_id
from tenants.session import bind_tenant, count_statements
from tests.support import citus
from tests.support.audit import seal_as_app, verify
from tests.support.fast_paths import assert_generic_from_first, plans_seen, post_by, prepared_taken
from tests.support.harness import Api, DbEnv, World
from tests.support.volunteering import AWARD, CREATE_ITEM, area, person, run
from tests.support.world import TenantWorld

ERR = "errors { code message field }"
WISH = f"mutation($i: PostWishInput!) {{ postWish(input: $i) {{ wish {{ id }} {ERR} }} }}"
PUBLISH = f"mutation($in: PublishActivityInput!) {{ publishActivity(input: $in) {{ activity {{ id }} {ERR} }} }}"
SIGN_UP = f"mutation($a: ID!) {{ signUpForActivity(input: {{activityId: $a}}) {{ signup {{ id }} {ERR} }} }}"
# as bench/mix_writes.py sends them, and every field the fast path answers itself
CLAIM = f"mutation C($input: WishTransitionInput!) {{ claimWish(input: $input) {{ wish {{ id state }} {ERR} }} }}"
CLAIM_ALL = ("mutation($input: WishTransitionInput!) { w: claimWish(input: $input) { __typename errors { __typename "
             "field code } x: wish { __typename id title description state claimedByMe postedByMe postedAt claimedAt "
             "fulfilledAt fulfilNote confirmedAt version } } }")
CHECK_IN = (f"mutation I($id: ID!) {{ checkInActivity(input: {{id: $id}}) {{ signup {{ id state checkedInAt }} "
            f"{ERR} }} }}")
CHECK_IN_ALL = ("mutation($id: ID!) { c: checkInActivity(input: {id: $id}) { errors { code } __typename s: signup { "
                "__typename id state checkedInAt checkedOutAt hours confirmedAt } } }")
MOVES = ("claimWish", "checkInActivity")
_TIME = re.compile(r'"(?:id|claimedAt|checkedInAt|postedAt|requestedAt)":"[^"]*"')


@pytest.fixture
def pg(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("the driver path is PostgreSQL-only; on SQLite every move takes the general path")
    if citus.ENABLED:  # the driver path is off there (gongzhi/http/graphql.py)
        pytest.skip("the driver path is off on Citus; every move takes the general path")


@contextmanager
def fast_taken() -> Iterator[list[bool]]:
    """Per move the fast path saw, whether it prepared the write."""
    with prepared_taken((care_service, "prepare_claim"), (volunteering_service, "prepare_check_in"),
                        (volunteering_service, "prepare_sign_up"),
                        (volunteering_service, "prepare_redemption")) as taken:
        yield taken


post = post_by


async def a_wish(api: Api, tw: TenantWorld, title: str = "修自行车") -> str:
    p = await run(api, tw, "resident", WISH, {"i": {"personId": person(tw, "h1b"), "title": title,
                                                    "description": "车胎漏气。"}})
    assert p["errors"] == [], p
    return str(p["wish"]["id"])


async def a_signup(api: Api, tw: TenantWorld, user: str = "resident") -> str:
    start = datetime.now(UTC) + timedelta(days=1)
    p = await run(api, tw, "admin", PUBLISH, {"in": {
        "title": "楼道清洁", "areaId": area(tw, "P1", "Compound"), "place": "幸福小区1栋",
        "startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=2)).isoformat(), "capacity": 10,
        "organiserKind": "COMMUNITY", "communityId": area(tw, "C1", "Community")}})
    assert p["errors"] == [], p
    s = await run(api, tw, user, SIGN_UP, {"a": p["activity"]["id"]})
    assert s["errors"] == [], s
    return str(s["signup"]["id"])


async def rows(db: DbEnv, tw: TenantWorld, model: Any, gid: str, type_name: str) -> dict[str, Any]:
    """The row and the audit entries naming it, without what differs per row by nature (ids, times, request)."""
    rid = decode_id(gid, type_name, "id")
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            row = await s.scalar(select(model).where(model.id == rid))
            entries = [e for e in await s.scalars(select(AuditEntry).order_by(AuditEntry.id))  # the move's, not
                       if str(rid) in (e.object_ids or []) and e.action in MOVES]  # the setup's (other rows)
    skip = {"id", "created_at", "updated_at", "claimed_at", "checked_in_at", "activity_id", "request_id"}

    def plain(obj: Any) -> dict[str, Any]:
        values = {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in skip}
        return dict(orjson.loads(orjson.dumps(values, default=str).decode().replace(str(rid), "R")))

    audit = [plain(e) for e in entries]
    for a in audit:
        for change in a["detail"]["changes"]:
            for k in ("claimed_at", "checked_in_at", "updated_at"):
                change.get("fields", {}).pop(k, None)
    return {"row": plain(row), "audit": audit}


async def both(api: Api, db: DbEnv, tw: TenantWorld, user: str, document: str, made: Any, variables: Any,
               model: Any, type_name: str) -> bool:
    """The move on two rows alike, one by each path: the same answer and rows; whether the fast path took it."""
    a, b = await made(), await made()
    with fast_taken() as taken:
        fast = await post(api, tw, user, document, variables(a), fast=True)
        general = await post(api, tw, user, document, variables(b), fast=False)
    assert _TIME.sub("", fast.decode()) == _TIME.sub("", general.decode()), (fast.decode(), general.decode())
    for body, gid in ((fast, a), (general, b)):
        assert gid.encode() in body or b'"errors":[{' in body or b'null' in body
    assert await rows(db, tw, model, a, type_name) == await rows(db, tw, model, b, type_name)
    return taken == [True]


def claim(gid: str, **more: Any) -> dict[str, Any]:
    return {"input": {"id": gid, **more}}


async def test_claim_wish(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a

    async def made() -> str:
        return await a_wish(api, tw)

    for user, document, given in (("grid1", CLAIM, {}), ("grid1", CLAIM_ALL, {"expectedVersion": 1}),
                                  ("admin", CLAIM, {})):
        assert await both(api, db, tw, user, document, made, lambda g, m=given: claim(g, **m), Wish, "Wish"), user


async def test_check_in(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a

    async def made() -> str:
        return await a_signup(api, tw)

    for document in (CHECK_IN, CHECK_IN_ALL):
        assert await both(api, db, tw, "resident", document, made, lambda g: {"id": g}, ActivitySignup,
                          "ActivitySignup")


async def test_refusals_and_others_take_the_general_path(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    """Each with both paths on two rows alike: the same typed errors (or answer) and rows; the fast path took none."""
    tw = fresh.a

    async def wish() -> str:
        return await a_wish(api, tw)

    async def claimed() -> str:
        gid = await a_wish(api, tw)
        assert (await run(api, tw, "grid1", CLAIM, claim(gid)))["errors"] == []
        return gid

    for user, made, given in (
        ("grid1", wish, {"expectedVersion": 5}),  # stale: CONFLICT
        ("grid1", claimed, {}),  # claimed already: INVALID_TRANSITION
        ("resident", wish, {}),  # the poster's own (no grant, or self-dealing): refused
        ("grid2", wish, {}),  # out of reach
    ):
        assert not await both(api, db, tw, user, CLAIM, made, lambda g, m=given: claim(g, **m), Wish, "Wish"), user

    async def signup() -> str:
        return await a_signup(api, tw)

    async def checked_in() -> str:
        gid = await a_signup(api, tw)
        assert (await run(api, tw, "resident", CHECK_IN, {"id": gid}))["errors"] == []
        return gid

    for user, made in (("resident", checked_in),  # INVALID_TRANSITION
                       ("grid2", signup),  # someone else's sign-up: the organiser's check (or NOT_FOUND)
                       ("admin", signup)):  # the organiser checks a volunteer in: the general path
        assert not await both(api, db, tw, user, CHECK_IN, made, lambda g: {"id": g}, ActivitySignup,
                              "ActivitySignup"), user
    legacy = f"mutation($id: ID!) {{ checkInActivity(id: $id) {{ signup {{ id state }} {ERR} }} }}"
    assert not await both(api, db, tw, "resident", legacy, signup, lambda g: {"id": g}, ActivitySignup,
                          "ActivitySignup")
    for bad in ("not-an-id", encode_global_id("Wish", decode_id(await wish(), "Wish", "id"))):
        with fast_taken() as taken:
            fast = await post(api, tw, "resident", CHECK_IN, {"id": bad}, fast=True)
        assert fast == await post(api, tw, "resident", CHECK_IN, {"id": bad}, fast=False)
        assert b'"errors":[{' in fast and True not in taken


async def test_documents_not_recognised_take_the_general_path(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    for document in (
        "fragment W on Wish { id state } mutation($input: WishTransitionInput!) { claimWish(input: $input) "
        "{ wish { ...W } errors { code } } }",
        "mutation($input: WishTransitionInput!) { claimWish(input: $input) { wish { id beneficiaryName } "
        "errors { code } } }",
    ):
        gid = await a_wish(api, tw)
        with fast_taken() as taken:
            body = orjson.loads(await post(api, tw, "grid1", document, claim(gid), fast=True))
        assert taken == [] and body["data"]["claimWish"]["errors"] == [], body


async def test_three_statements_and_the_chain_verifies(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    for user, document, made, variables in (
            ("grid1", CLAIM, lambda: a_wish(api, tw), claim),
            ("resident", CHECK_IN, lambda: a_signup(api, tw), lambda g: {"id": g})):
        a, b = await made(), await made()
        with count_statements() as fast, fast_taken() as taken:
            await post(api, tw, user, document, variables(a), fast=True)
        with count_statements() as general:
            await post(api, tw, user, document, variables(b), fast=False)
        assert taken == [True] and len(fast) == 3, (document, fast)
        assert len(general) > len(fast), (document, general)
    await seal_as_app(db, tw)
    report = await verify(db, tw)
    assert report.ok, report


async def test_a_wish_claimed_after_the_read_is_not_written(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    """Another writer claims the wish between the fast path's read and its UPDATE: the UPDATE (the guard of the
    audit entry's statement, sent with the COMMIT) moves nothing, that statement is refused, the driver transaction
    is rolled back (no audit entry of its own), and the general path answers (the wish is claimed now:
    INVALID_TRANSITION), its refusal audited."""
    tw = fresh.a
    gid = await a_wish(api, tw)
    wish_id = decode_id(gid, "Wish", "id")
    real = care_service.prepare_claim
    real_moved = fast_moves.moved

    async def moved_meanwhile(*args: Any, **kw: Any) -> Any:
        async with db.sessionmaker() as s:
            bind_tenant(s, tw.tenant_id)
            async with s.begin():
                await s.execute(update(Wish).where(Wish.id == wish_id).values(state="claimed",
                                                                                version=Wish.version + 1))
        return await real_moved(*args, **kw)

    with fast_taken() as taken:
        fast_moves.moved = moved_meanwhile  # type: ignore[assignment]
        wishes_fast.moved = moved_meanwhile  # type: ignore[assignment]
        try:
            body = orjson.loads(await post(api, tw, "grid1", CLAIM, claim(gid), fast=True))
        finally:
            fast_moves.moved = real_moved  # type: ignore[assignment]
            wishes_fast.moved = real_moved  # type: ignore[assignment]
    assert taken == [True] and real is not None  # prepared; refused at its write
    payload = body["data"]["claimWish"]
    assert payload["wish"] is None and [e["code"] for e in payload["errors"]] == ["INVALID_TRANSITION"], payload
    got = await rows(db, tw, Wish, gid, "Wish")
    assert got["row"]["claimant_user_id"] is None and got["row"]["version"] == 2
    assert got["audit"] == []  # no claimWish entry names the wish: the refusal's names no row


SIGN_UP_MIX = ("mutation S($a: ID!, $k: String) { signUpForActivity(input: {activityId: $a, idempotencyKey: $k}) { "
               f"signup {{ id state }} {ERR} }} }}")
SIGN_UP_ALL = ("mutation($a: ID!, $k: String) { s: signUpForActivity(input: {activityId: $a, idempotencyKey: $k}) { "
               "__typename errors { code field } x: signup { __typename id state checkedInAt checkedOutAt hours "
               "confirmedAt } } }")


async def an_activity(api: Api, tw: TenantWorld, capacity: int = 10) -> str:
    start = datetime.now(UTC) + timedelta(days=1)
    p = await run(api, tw, "admin", PUBLISH, {"in": {
        "title": "楼道清洁", "areaId": area(tw, "P1", "Compound"), "place": "幸福小区1栋",
        "startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=2)).isoformat(), "capacity": capacity,
        "organiserKind": "COMMUNITY", "communityId": area(tw, "C1", "Community")}})
    assert p["errors"] == [], p
    return str(p["activity"]["id"])


async def signups(db: DbEnv, tw: TenantWorld, activity: str) -> dict[str, Any]:
    """The activity's places taken, its sign-ups and their signUpForActivity audit entries (ids, times, keys aside)."""
    aid = decode_id(activity, "Activity", "activityId")
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            taken = await s.scalar(select(Activity.signed_up).where(Activity.id == aid))
            found = list(await s.scalars(select(ActivitySignup).where(ActivitySignup.activity_id == aid)
                                         .order_by(ActivitySignup.id)))
            ids = {str(x.id) for x in found}
            entries = [e for e in await s.scalars(select(AuditEntry).where(AuditEntry.action == "signUpForActivity")
                                                  .order_by(AuditEntry.id)) if ids & set(e.object_ids or [])]
    masked = {str(aid): "A", **{i: "S" for i in ids}, **{x.idempotency_key: "K" for x in found if x.idempotency_key}}

    def plain(obj: Any) -> dict[str, Any]:
        values = {c.key: getattr(obj, c.key) for c in obj.__table__.columns
                  if c.key not in ("id", "created_at", "updated_at", "request_id")}
        text = orjson.dumps(values, default=str).decode()
        for k, v in masked.items():
            text = text.replace(k, v)
        out = dict(orjson.loads(text))
        for change in (out.get("detail") or {}).get("changes", []):
            for k in ("created_at", "updated_at"):
                change.get("fields", {}).pop(k, None)
        return out

    return {"taken": taken, "signups": [plain(x) for x in found], "audit": [plain(e) for e in entries]}


async def sign_up_both(api: Api, db: DbEnv, tw: TenantWorld, user: str, document: str, key: str | None, *,
                       capacity: int = 10, before: str | None = None) -> bool:
    """``user`` signs up for two activities alike, one by each path (``before`` signed up first by the general
    path): the same answer and rows; whether the fast path prepared it."""
    a, b = await an_activity(api, tw, capacity), await an_activity(api, tw, capacity)
    if before is not None:
        for act in (a, b):
            assert (await run(api, tw, before, SIGN_UP_MIX, {"a": act, "k": None}))["errors"] == []
    with fast_taken() as taken:
        fast = await post(api, tw, user, document, {"a": a, "k": key and f"{key}-a"}, fast=True)
        general = await post(api, tw, user, document, {"a": b, "k": key and f"{key}-b"}, fast=False)
    assert _TIME.sub("", fast.decode()) == _TIME.sub("", general.decode()), (fast.decode(), general.decode())
    assert await signups(db, tw, a) == await signups(db, tw, b)
    return taken == [True]


async def test_sign_up(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    assert await sign_up_both(api, db, tw, "resident", SIGN_UP_MIX, None)
    assert await sign_up_both(api, db, tw, "resident", SIGN_UP_MIX, uuid.uuid4().hex)
    assert await sign_up_both(api, db, tw, "chair", SIGN_UP_ALL, uuid.uuid4().hex)


async def test_sign_up_refusals_take_the_general_path(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    # the checks ride the write (signup_fast._guard): a sign-up they refuse is prepared, refused at its write
    # (nothing written) and answered by the general path — the same answer and rows as the general path's alone
    with fast_taken() as taken:
        await sign_up_both(api, db, tw, "resident4", SIGN_UP_MIX, None)  # another compound: FORBIDDEN
    assert taken == [True]
    with fast_taken() as taken:
        await sign_up_both(api, db, tw, "resident", SIGN_UP_MIX, None, before="resident")  # CONFLICT
    assert taken == [True] * 3  # the two sign-ups first, then the one refused at its write
    assert not await sign_up_both(api, db, tw, "admin", SIGN_UP_MIX, None)  # no person on the register
    assert not await sign_up_both(api, db, tw, "resident", SIGN_UP_MIX, "k" * 65)  # INVALID key
    # full: the fast path's checks pass, its write meets the NOT NULL of the place not taken and is rolled back;
    # the general path answers CONFLICT (the same answer and rows as the general path's alone)
    with fast_taken() as taken:
        await sign_up_both(api, db, tw, "resident", SIGN_UP_MIX, None, capacity=1, before="chair")
    assert taken == [True] * 3  # the chair's two sign-ups first, then the one refused at its write


CANCEL = f"mutation($s: ID!) {{ cancelActivitySignup(input: {{id: $s}}) {{ signup {{ id state }} {ERR} }} }}"


async def test_sign_up_again_after_a_cancellation_is_the_general_paths(api: Api, db: DbEnv, fresh: World,
                                                                          pg: None) -> None:
    """A sign-up cancelled before is signed up again by the general path (through the state machine, the same row):
    the fast path's guard refuses it at its write (nothing written), and the answer and rows are the general path's
    alone."""
    tw = fresh.a
    a, b = await an_activity(api, tw), await an_activity(api, tw)
    for act in (a, b):
        first = await run(api, tw, "resident", SIGN_UP_MIX, {"a": act, "k": None})
        assert first["errors"] == [], first
        assert (await run(api, tw, "resident", CANCEL, {"s": first["signup"]["id"]}))["errors"] == []
    with fast_taken() as taken:
        fast = await post(api, tw, "resident", SIGN_UP_MIX, {"a": a, "k": None}, fast=True)
        general = await post(api, tw, "resident", SIGN_UP_MIX, {"a": b, "k": None}, fast=False)
    assert taken == [True]  # prepared; refused at its write
    assert _TIME.sub("", fast.decode()) == _TIME.sub("", general.decode()), (fast.decode(), general.decode())
    assert b'"state":"SIGNED_UP"' in fast and b'"errors":[]' in fast, fast
    assert await signups(db, tw, a) == await signups(db, tw, b)


async def test_sign_up_retry_answers_the_general_paths_way(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    act, key = await an_activity(api, tw), uuid.uuid4().hex
    with fast_taken() as taken:
        first = await post(api, tw, "resident", SIGN_UP_MIX, {"a": act, "k": key}, fast=True)
        again = await post(api, tw, "resident", SIGN_UP_MIX, {"a": act, "k": key}, fast=True)
    assert taken == [True, True]  # the retry refused at its write (its guard: the key's earlier sign-up)
    assert first == again == await post(api, tw, "resident", SIGN_UP_MIX, {"a": act, "k": key}, fast=False)
    assert (await signups(db, tw, act))["taken"] == 1


async def test_sign_up_is_two_statements(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    a, b = await an_activity(api, tw), await an_activity(api, tw)
    with count_statements() as fast, fast_taken() as taken:
        await post(api, tw, "resident", SIGN_UP_MIX, {"a": a, "k": uuid.uuid4().hex}, fast=True)
    with count_statements() as general:
        await post(api, tw, "resident", SIGN_UP_MIX, {"a": b, "k": uuid.uuid4().hex}, fast=False)
    assert taken == [True] and len(fast) == 2 and len(general) > len(fast), (fast, general)
    await seal_as_app(db, tw)
    report = await verify(db, tw)
    assert report.ok, report


REDEEM = ("mutation Q($i: ID!, $k: String) { requestRedemption(input: {itemId: $i, idempotencyKey: $k}) { "
          f"redemption {{ id state points }} {ERR} }} }}")
REDEEM_ALL = ("mutation($i: ID!, $k: String) { r: requestRedemption(input: {itemId: $i, idempotencyKey: $k}) { "
              "__typename errors { code field message } x: redemption { __typename id state points note requestedAt "
              "decidedAt } } }")


async def an_item(api: Api, tw: TenantWorld, points: int = 2, stock: int = 5) -> str:
    p = await run(api, tw, "admin", CREATE_ITEM, {"c": area(tw, "C1", "Community"),
                                                  "n": f"购物袋 {uuid.uuid4().hex[:6]}", "p": points, "s": stock})
    assert p["errors"] == [], p
    return str(p["item"]["id"])


async def redemptions(db: DbEnv, tw: TenantWorld, item: str) -> dict[str, Any]:
    """The item's requests and their requestRedemption audit entries (ids, times, keys aside)."""
    iid = decode_id(item, "RewardItem", "itemId")
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            found = list(await s.scalars(select(Redemption).where(Redemption.item_id == iid).order_by(Redemption.id)))
            ids = {str(x.id) for x in found}
            entries = [e for e in await s.scalars(select(AuditEntry).where(AuditEntry.action == "requestRedemption")
                                                  .order_by(AuditEntry.id)) if ids & set(e.object_ids or [])]
    masked = {str(iid): "I", **{i: "R" for i in ids}, **{x.idempotency_key: "K" for x in found if x.idempotency_key}}

    def plain(obj: Any) -> dict[str, Any]:
        values = {c.key: getattr(obj, c.key) for c in obj.__table__.columns
                  if c.key not in ("id", "created_at", "request_id")}
        text = orjson.dumps(values, default=str).decode()
        for k, v in masked.items():
            text = text.replace(k, v)
        out = dict(orjson.loads(text))
        for change in (out.get("detail") or {}).get("changes", []):
            change.get("fields", {}).pop("created_at", None)
        return out

    return {"requests": [plain(x) for x in found], "audit": [plain(e) for e in entries]}


async def redeem_both(api: Api, db: DbEnv, tw: TenantWorld, user: str, document: str, key: str | None, *,
                      points: int = 2, stock: int = 5) -> bool:
    """``user`` asks for two items alike, one by each path: the same answer and rows; whether the fast path took it."""
    a, b = await an_item(api, tw, points, stock), await an_item(api, tw, points, stock)
    with fast_taken() as taken:
        fast = await post(api, tw, user, document, {"i": a, "k": key and f"{key}-a"}, fast=True)
        general = await post(api, tw, user, document, {"i": b, "k": key and f"{key}-b"}, fast=False)
    assert _TIME.sub("", fast.decode()) == _TIME.sub("", general.decode()), (fast.decode(), general.decode())
    assert await redemptions(db, tw, a) == await redemptions(db, tw, b)
    return taken == [True]


async def test_request_redemption(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    tw = fresh.a
    assert (await run(api, tw, "admin", AWARD, {"p": person(tw, "h1b"), "n": 20, "r": "志愿服务"}))["errors"] == []
    assert await redeem_both(api, db, tw, "resident", REDEEM, None)
    assert await redeem_both(api, db, tw, "resident", REDEEM, uuid.uuid4().hex)
    assert await redeem_both(api, db, tw, "resident", REDEEM_ALL, uuid.uuid4().hex)
    # refused: not enough points, out of stock, another community, no person, an invalid key
    assert not await redeem_both(api, db, tw, "resident", REDEEM, None, points=500)
    assert not await redeem_both(api, db, tw, "resident", REDEEM, None, stock=0)
    assert not await redeem_both(api, db, tw, "resident4", REDEEM, None)
    assert not await redeem_both(api, db, tw, "admin", REDEEM, None)
    assert not await redeem_both(api, db, tw, "resident", REDEEM, "k" * 65)
    # a retry: the general path answers it as it answers its own
    item, key = await an_item(api, tw), uuid.uuid4().hex
    with fast_taken() as taken, count_statements() as statements:
        first = await post(api, tw, "resident", REDEEM, {"i": item, "k": key}, fast=True)
    assert taken == [True] and len(statements) == 3, statements
    with fast_taken() as taken:
        again = await post(api, tw, "resident", REDEEM, {"i": item, "k": key}, fast=True)
    assert taken == [True]  # the item's points kept: the retry refused at its write by its guard
    assert first == again == await post(api, tw, "resident", REDEEM, {"i": item, "k": key}, fast=False)
    await seal_as_app(db, tw)
    report = await verify(db, tw)
    assert report.ok, report


async def set_item(db: DbEnv, tw: TenantWorld, items: tuple[str, ...], **values: Any) -> None:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            for item in items:
                await s.execute(update(RewardItem).where(RewardItem.id == decode_id(item, "RewardItem", "itemId"))
                                .values(**values))


async def test_a_redemption_at_the_items_kept_points_is_two_statements(api: Api, db: DbEnv, fresh: World,
                                                                         pg: None) -> None:
    """The item's points kept from a request's checks: the next request's checks are the guard of its write (two
    statements), with the same answer and rows as the general path's. A guard that refuses (the price changed, out of
    stock, a retry) leaves the request to the general path — its answer and rows — and the points are forgotten: the
    next request is checked in its own statement again."""
    tw = fresh.a
    assert (await run(api, tw, "admin", AWARD, {"p": person(tw, "h1b"), "n": 40, "r": "志愿服务"}))["errors"] == []
    a, b = await an_item(api, tw, 2, 9), await an_item(api, tw, 2, 9)

    async def both(key: str, statements: int | None) -> bytes:
        with fast_taken() as taken, count_statements() as sent:
            fast = await post(api, tw, "resident", REDEEM, {"i": a, "k": f"{key}-a"}, fast=True)
        general = await post(api, tw, "resident", REDEEM, {"i": b, "k": f"{key}-b"}, fast=False)
        assert taken == [True], taken
        assert statements is None or len(sent) == statements, sent
        assert _TIME.sub("", fast.decode()) == _TIME.sub("", general.decode()), (fast.decode(), general.decode())
        assert await redemptions(db, tw, a) == await redemptions(db, tw, b)
        return fast

    first = uuid.uuid4().hex
    await both(first, 3)  # checked in its own statement: the points kept
    await both(uuid.uuid4().hex, 2)  # the checks inside the write
    retried = await both(first, None)  # a retry: refused by the guard, answered by the general path
    assert b'"errors":[]' in retried and b'"points":2' in retried, retried
    await both(uuid.uuid4().hex, 3)  # forgotten: checked in its own statement again
    await set_item(db, tw, (a, b), points=3)  # the price changed since it was kept
    changed = await both(uuid.uuid4().hex, None)
    assert b'"points":3' in changed, changed
    await both(uuid.uuid4().hex, 3)
    await both(uuid.uuid4().hex, 2)
    await set_item(db, tw, (a, b), stock=0)  # out of stock: CONFLICT, the general path's
    empty = await both(uuid.uuid4().hex, None)
    assert b'"code":"CONFLICT"' in empty, empty
    await seal_as_app(db, tw)
    report = await verify(db, tw)
    assert report.ok, report


async def test_the_moves_run_generic_plans_from_the_first(api: Api, db: DbEnv, fresh: World, pg: None) -> None:
    """A move's transaction asks for generic plans from a statement's first run on a connection
    (``fast_moves.Move.generic_plans``), as the report and the case steps do: PostgreSQL settles on each of their
    reads' generic plan after five custom ones anyway, and the pool hands its connections out in turn
    (bench/RESULTS.md, h-moves). On connections the pool has just opened, each move's check has had no custom plan."""
    tw = fresh.a
    wish, signup = await a_wish(api, tw), await a_signup(api, tw)
    await api.client._transport.app.state.gongzhi.engine.dispose()  # type: ignore[attr-defined]
    with fast_taken() as taken, plans_seen(care_service, "prepare_claim", "%FROM wishes%") as claimed, \
            plans_seen(volunteering_service, "prepare_check_in", "%FROM activity_signups%") as checked:
        assert orjson.loads(await post(api, tw, "grid1", CLAIM, claim(wish), fast=True))["data"]["claimWish"][
            "errors"] == []
        assert orjson.loads(await post(api, tw, "resident", CHECK_IN, {"id": signup}, fast=True))["data"][
            "checkInActivity"]["errors"] == []
    assert taken == [True, True], taken
    for seen in (claimed, checked):
        assert_generic_from_first(db, seen)

