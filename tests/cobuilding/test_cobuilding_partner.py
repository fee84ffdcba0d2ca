"""Co-building (issue #7), the partner side: client credentials at POST /oauth/token (rotation,
revocation, wrong secrets, expiry) and what a partner token reads — exactly what its active
agreements grant, in the communities they cover, while they are in force (fixed clock), nothing of
other communities, other tenants, ungranted resources or personal data; every field a partner can
reach checked against an allowlist of shareable fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
    get_named_type,
)

from gongzhi.http.auth import issue_partner_token
from gongzhi.modules import schema as _built
from models import ActivityState, WishState
from tests.support.cobuilding import (
    CREATE_CLIENT,
    REVOKE,
    ROTATE,
    SET_STATUS,
    USERS,
    add_activity,
    add_wish,
    codes,
    community,
    gid,
    make_agreement,
    make_unit,
    run,
)
from tests.support.harness import DbEnv, World
from tests.support.partners import NOON, VALID_FROM, VALID_UNTIL, PartnerApi, partner_client
from tests.support.paths import ROOT
from tests.support.world import TenantWorld

gql_schema = _built()


@dataclass
class Scene:
    unit: str
    agreement: str
    client_id: str
    secret: str
    acts: dict[str, str]
    wishes: dict[str, str]


async def _scene(p: PartnerApi, db: DbEnv, tw: TenantWorld) -> Scene:
    """Unit 市三医院: an active C1 agreement sharing activity·read, wish·read, wish·claim and
    statistics·read, and a draft C2 agreement sharing everything (grants nothing while a draft).
    Another unit holds an active C2 agreement. Activities and wishes in C1, C2 and street-wide."""
    unit = await make_unit(p.api, tw, "市三医院", 11)
    agreement = await make_agreement(p.api, tw, unit, [community(tw, "C1")], valid_from=VALID_FROM,
                                     valid_until=VALID_UNTIL)
    await make_agreement(p.api, tw, unit, [community(tw, "C2")], activate=False, valid_from=VALID_FROM,
                         valid_until=VALID_UNTIL)
    other = await make_unit(p.api, tw, "蓝天救援队", 12)
    await make_agreement(p.api, tw, other, [community(tw, "C2")], valid_from=VALID_FROM, valid_until=VALID_UNTIL)
    _, client_id, secret = await partner_client(p, tw, unit)
    start = NOON + timedelta(days=2)
    acts = {
        "c1": await add_activity(db, tw, "P1", "义诊", starts=start, capacity=30, signed_up=12),
        "c1_grid": await add_activity(db, tw, "G2", "健康讲座", starts=start, capacity=20, signed_up=5),
        "c1_cancelled": await add_activity(db, tw, "C1", "取消的", starts=start, state=ActivityState.CANCELLED,
                                           capacity=10, signed_up=0),
        "c2": await add_activity(db, tw, "P3", "西湖清扫", starts=start),
        "street": await add_activity(db, tw, "S", "街道运动会", starts=start),
    }
    wishes = {
        "w1": await add_wish(db, tw, "h1a", "H1", "B1", "想要一台收音机"),
        "w2": await add_wish(db, tw, "h3a", "H3", "B3", "轮椅维修"),
        "w3": await add_wish(db, tw, "h2a", "H2", "B2", "已被认领", state=WishState.CLAIMED),
        "w4": await add_wish(db, tw, "h4a", "H4", "B4", "西湖的心愿"),
    }
    return Scene(unit, agreement, client_id, secret, {k: gid("Activity", v) for k, v in acts.items()},
                 {k: gid("Wish", v) for k, v in wishes.items()})


SHARED = """query { myAgreements { id grants communities { name } }
  sharedActivities(first: 50) { totalCount nodes { id title community { name } } }
  sharedWishes(first: 50) { totalCount nodes { id title state claimedByUs community { name } } } }"""
CLAIM = """mutation($id: ID!) { claimSharedWish(input: {id: $id}) { wish { id state claimedByUs }
  errors { code field message } } }"""
FULFIL = """mutation($id: ID!, $n: String) { fulfilSharedWish(input: {id: $id, note: $n}) {
  wish { id state } errors { code field message } } }"""
STATS = """query($c: ID!) { sharedStatistics(communityId: $c, from: "2026-06-01", to: "2026-06-30") {
  community { name } cases { total byState { key count } } activities { total places signedUp
  byState { key count } } } }"""


def _ids(body: dict[str, Any], field: str) -> set[str]:
    return {n["id"] for n in body["data"][field]["nodes"]}


def _refused(r: Any, *fields: str) -> None:
    """Refused before anything ran (issues #24, #25): 403, one FORBIDDEN error per refused root field
    with its path — "not granted" is never an empty answer."""
    body = r.json()
    assert r.status_code == 403 and "data" not in body, body
    assert {(e["extensions"]["code"], e["path"][0]) for e in body["errors"]} == {("FORBIDDEN", f) for f in fields}


async def test_partner_reads_exactly_its_grants_while_in_force(papi: PartnerApi, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    sc = await _scene(papi, db, tw)
    token = await papi.access(sc.client_id, sc.secret)
    r = await papi.gql(token, SHARED)
    body = r.json()
    assert r.status_code == 200 and "errors" not in body, body
    assert [a["id"] for a in body["data"]["myAgreements"]] == [sc.agreement]
    assert _ids(body, "sharedActivities") == {sc.acts["c1"], sc.acts["c1_grid"]}
    assert _ids(body, "sharedWishes") == {sc.wishes["w1"], sc.wishes["w2"]}
    assert {n["community"]["name"] for n in body["data"]["sharedWishes"]["nodes"]} == {"东风社区"}
    # No personal data anywhere in what it read.
    text = r.text
    for key in ("h1a", "h3a", "h2a", "h4a"):
        assert tw.id_cards[key] not in text and tw.phones[key] not in text
    for name in ("张建国", "王德明", "李秀英", "赵卫东"):
        assert name not in text

    # Claims: a shared open wish; not one claimed by someone else; not one in C2.
    out = (await papi.gql(token, CLAIM, {"id": sc.wishes["w1"]})).json()["data"]["claimSharedWish"]
    assert out["errors"] == [] and out["wish"]["state"] == "CLAIMED" and out["wish"]["claimedByUs"], out
    out = (await papi.gql(token, CLAIM, {"id": sc.wishes["w1"]})).json()["data"]["claimSharedWish"]
    assert codes(out) == ["INVALID_TRANSITION"], out
    out = (await papi.gql(token, CLAIM, {"id": sc.wishes["w3"]})).json()["data"]["claimSharedWish"]
    assert codes(out) == ["CONFLICT"], out
    out = (await papi.gql(token, CLAIM, {"id": sc.wishes["w4"]})).json()["data"]["claimSharedWish"]
    assert codes(out) == ["NOT_FOUND"], out
    # Fulfil (§4 "wish · claim / fulfil"): only what this partner claimed.
    out = (await papi.gql(token, FULFIL, {"id": sc.wishes["w2"]})).json()["data"]["fulfilSharedWish"]
    assert codes(out) == ["NOT_FOUND"], out
    out = (await papi.gql(token, FULFIL, {"id": sc.wishes["w1"], "n": "x" * 1001})).json()["data"]
    assert codes(out["fulfilSharedWish"]) == ["TOO_LONG"], out
    out = (await papi.gql(token, FULFIL, {"id": sc.wishes["w1"], "n": "已送达"})).json()["data"]["fulfilSharedWish"]
    assert out["errors"] == [] and out["wish"]["state"] == "FULFILLED", out
    body = (await papi.gql(token, SHARED)).json()
    assert _ids(body, "sharedWishes") == {sc.wishes["w1"], sc.wishes["w2"]}
    # Staff see who claimed it: the client's account, named after the unit.
    staff = await papi.api.gql(tw, "admin", "query($id: ID!) { node(id: $id) { ... on Wish { state "
                                            "claimant { displayName } } } }", {"id": sc.wishes["w1"]})
    assert staff["data"]["node"]["claimant"]["displayName"].startswith("市三医院")

    # Aggregate statistics: C1 by hand — activities starting in June in C1: 义诊 (30 places, 12 taken),
    # 健康讲座 (20, 5), the cancelled one (10, 0); no cases. C2 is not shared.
    stats = (await papi.gql(token, STATS, {"c": community(tw, "C1")})).json()
    s = stats["data"]["sharedStatistics"]
    assert s["community"]["name"] == "东风社区" and s["cases"]["total"] == 0
    assert s["activities"] == {"total": 3, "places": 60, "signedUp": 17,
                               "byState": [{"key": "cancelled", "count": 1}, {"key": "published", "count": 2}]}
    denied = (await papi.gql(token, STATS, {"c": community(tw, "C2")})).json()
    assert denied["data"] is None and denied["errors"][0]["extensions"]["code"] == "FORBIDDEN", denied
    denied = (await papi.gql(token, STATS, {"c": community(fresh.b, "C1")})).json()
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN", denied

    # The agreement ends: from 06-21 (local) nothing is shared, on the very next request — and the
    # partner is told so (FORBIDDEN), not handed empty lists.
    papi.at(datetime(2026, 6, 20, 15, 59, tzinfo=UTC))  # 23:59 local on the last day: still in force
    assert _ids((await papi.gql(token, SHARED)).json(), "sharedActivities") == {sc.acts["c1"], sc.acts["c1_grid"]}
    papi.at(datetime(2026, 6, 20, 16, 0, tzinfo=UTC))  # 00:00 local on 06-21
    _refused(await papi.gql(token, SHARED), "sharedActivities", "sharedWishes")
    assert (await papi.gql(token, "query { myAgreements { id } }")).json()["data"]["myAgreements"] == []
    _refused(await papi.gql(token, CLAIM, {"id": sc.wishes["w2"]}), "claimSharedWish")
    # Suspended: cut on the next request; active again: back.
    papi.at(NOON)
    s1 = await run(papi.api, tw, "admin", SET_STATUS, {"id": sc.agreement, "s": "SUSPENDED", "v": None})
    assert s1["errors"] == [], s1
    _refused(await papi.gql(token, SHARED), "sharedActivities", "sharedWishes")
    await run(papi.api, tw, "admin", SET_STATUS, {"id": sc.agreement, "s": "ACTIVE", "v": None})
    assert (await papi.gql(token, SHARED)).json()["data"]["sharedActivities"]["totalCount"] == 2


async def test_partner_grants_are_per_resource(papi: PartnerApi, db: DbEnv, fresh: World) -> None:
    """An agreement sharing only activity·read gives no wishes and no statistics."""
    tw = fresh.a
    unit = await make_unit(papi.api, tw, "航空航模协会", 21)
    await make_agreement(papi.api, tw, unit, [community(tw, "C1")], grants=["activity.read"],
                         valid_from=VALID_FROM, valid_until=VALID_UNTIL)
    _, cid, secret = await partner_client(papi, tw, unit)
    await add_activity(db, tw, "P1", "航模表演", starts=NOON)
    await add_wish(db, tw, "h1a", "H1", "B1", "收音机")
    token = await papi.access(cid, secret)
    _refused(await papi.gql(token, SHARED), "sharedWishes")  # wish·read is not granted: told so
    body = (await papi.gql(token, "query { sharedActivities(first: 50) { totalCount "
                                  "cappedCount(cap: 1) { count hasMore } } }")).json()
    assert body["data"]["sharedActivities"]["totalCount"] == 1
    # the capped count says no more than totalCount (it is on the allowlist for that reason)
    assert body["data"]["sharedActivities"]["cappedCount"] == {"count": 1, "hasMore": False}, body
    _refused(await papi.gql(token, STATS, {"c": community(tw, "C1")}), "sharedStatistics")


async def test_partner_gets_nothing_from_the_staff_api(papi: PartnerApi, db: DbEnv, fresh: World) -> None:
    """Every root query and mutation of the schema outside the partner API, asked by a partner token
    with an agreement sharing everything: refused with FORBIDDEN naming the field (issues #24, #25) —
    the staff API, the tenant's catalogues (evaluationItems and evaluationPeriods were readable) and
    node/nodes of every type alike. Nothing runs: the refusal comes before execution."""
    from gongzhi.modules import partner_surface

    tw = fresh.a
    sc = await _scene(papi, db, tw)
    token = await papi.access(sc.client_id, sc.secret)
    schema: GraphQLSchema = gql_schema._schema
    surface = partner_surface()
    asked = 0
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            if name in surface:
                continue
            required = [(a, arg) for a, arg in field.args.items()
                        if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined]
            params = ", ".join(f"${a}: {arg.type}" for a, arg in required)
            args = ", ".join(f"{a}: ${a}" for a, _ in required)
            named = get_named_type(field.type)
            sel = "{ __typename }" if not isinstance(named, (GraphQLScalarType, GraphQLEnumType)) else ""
            doc = f"{kind}{f'({params})' if params else ''} {{ {name}{f'({args})' if args else ''} {sel} }}"
            r = await papi.gql(token, doc)
            body = r.json()
            assert r.status_code == 403, (doc, body)
            assert body["errors"] == [{"message": body["errors"][0]["message"], "path": [name],
                                       "extensions": {"code": "FORBIDDEN", "field": name}}], (doc, body)
            asked += 1
    assert asked > 100
    # Objects by id, of every kind: refused, not null.
    for node_id in (sc.wishes["w2"], sc.acts["c1"], gid("Person", tw.persons["h1a"]), community(tw, "C1"),
                    sc.agreement, sc.unit):
        r = await papi.gql(token, "query($id: ID!) { node(id: $id) { id } }", {"id": node_id})
        assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN", r.text
    # `me` names the client's own account only.
    me = (await papi.gql(token, "query { me { username roles { role } } }")).json()
    assert me["data"]["me"]["username"].startswith("partner-client-"), me


async def test_other_tenants_and_their_ids(papi: PartnerApi, db: DbEnv, fresh: World) -> None:
    tw, other = fresh.a, fresh.b
    sc = await _scene(papi, db, tw)
    sb = await _scene(papi, db, other)
    token = await papi.access(sc.client_id, sc.secret)
    # The token names its tenant only.
    r = await papi.gql(token, SHARED, tenant=other.slug)
    assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "TENANT_NOT_ALLOWED"
    body = (await papi.gql(token, SHARED)).json()
    assert _ids(body, "sharedActivities").isdisjoint(sb.acts.values())
    assert _ids(body, "sharedWishes").isdisjoint(sb.wishes.values())
    out = (await papi.gql(token, CLAIM, {"id": sb.wishes["w1"]})).json()["data"]["claimSharedWish"]
    assert codes(out) == ["NOT_FOUND"], out
    # B's client id and secret get no token from A's slug.
    forged = tw.slug + "." + sb.client_id.split(".", 1)[1]
    assert (await papi.token(forged, sb.secret)).status_code == 401


async def test_client_credentials_rotation_revocation_expiry(papi: PartnerApi, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    unit = await make_unit(papi.api, tw, "林邑社工服务中心", 31, key="secretary")
    await make_agreement(papi.api, tw, unit, [community(tw, "C1")], key="secretary", valid_from=VALID_FROM,
                         valid_until=VALID_UNTIL)
    # Who issues credentials: those who manage one of the unit's agreements (or created it), and the admin.
    for key in USERS:
        out = await run(papi.api, tw, key, CREATE_CLIENT, {"u": unit, "l": "x"})
        assert (out["errors"] == []) == (key in {"admin", "secretary"}), (key, out)
        if out["errors"]:
            assert out["clientSecret"] is None and codes(out) in (["FORBIDDEN"], ["NOT_FOUND"]), (key, out)
    node_id, cid, secret = await partner_client(papi, tw, unit)
    r = await papi.token(cid, secret)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    tok = r.json()
    assert tok["token_type"] == "bearer" and tok["expires_in"] == 600
    claims = jwt.decode(tok["access_token"], options={"verify_signature": False})
    assert claims["pc"] == cid and claims["tenants"] == [tw.slug] and claims["exp"] - claims["iat"] == 600
    # HTTP Basic works too.
    basic = await papi.api.client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                       auth=(cid, secret))
    assert basic.status_code == 200, basic.text
    # Wrong secret, unknown client, wrong grant type, missing fields, JSON body.
    assert (await papi.token(cid, secret + "x")).status_code == 401
    assert (await papi.token(cid, secret + "x")).json()["error"] == "invalid_client"
    assert (await papi.token(tw.slug + ".nope", secret)).status_code == 401
    assert (await papi.token("no-such-tenant.abc", secret)).status_code == 401
    r = await papi.token(cid, secret, grant_type="password")
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = await papi.api.client.post("/oauth/token", json={"grant_type": "client_credentials", "client_id": cid,
                                                         "client_secret": secret})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    # The secret is stored only hashed: it appears nowhere in the client row nor in the audit log.
    from sqlalchemy import select

    from models import AuditEntry, PartnerClient
    from tenants.session import bind_tenant

    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            row = (await s.scalars(select(PartnerClient).where(PartnerClient.client_id == cid))).one()
            assert secret not in json.dumps([row.secret_hash, row.secret_salt])
            log = json.dumps([e.detail for e in await s.scalars(select(AuditEntry))], ensure_ascii=False)
            assert secret not in log and row.secret_hash not in log
    old_token = await papi.access(cid, secret)
    # Rotation: the old secret gets no token, the new one does; tokens already issued live to expiry.
    rot = await run(papi.api, tw, "admin", ROTATE, {"id": node_id})
    assert rot["errors"] == [] and rot["client"]["secretVersion"] == 2, rot
    new_secret = rot["clientSecret"]
    assert new_secret != secret
    assert (await papi.token(cid, secret)).status_code == 401
    new_token = await papi.access(cid, new_secret)
    assert (await papi.gql(old_token, SHARED)).status_code == 200
    # Denied rotation/revocation for the roles that do not manage the unit.
    for key in ("secretary2", "grid1", "resident", "nobody"):
        out = await run(papi.api, tw, key, REVOKE, {"id": node_id})
        assert codes(out) in (["FORBIDDEN"], ["NOT_FOUND"]), (key, out)
    # Revocation: no token, and every token already issued stops at the next request.
    rev = await run(papi.api, tw, "secretary", REVOKE, {"id": node_id})
    assert rev["errors"] == [] and rev["client"]["revokedAt"], rev
    assert (await papi.token(cid, new_secret)).status_code == 401
    for t in (old_token, new_token):
        r = await papi.gql(t, SHARED)
        assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "CLIENT_REVOKED", r.text
    again = await run(papi.api, tw, "admin", ROTATE, {"id": node_id})
    assert codes(again) == ["INVALID_TRANSITION"], again
    # Tokens expire: one issued 11 minutes ago (10-minute lifetime) is refused.
    node2, cid2, secret2 = await partner_client(papi, tw, unit)
    from models import PartnerClient as PC

    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            user_id = (await s.scalars(select(PC.user_id).where(PC.client_id == cid2))).one()
    stale = issue_partner_token(papi.api.settings, user_id=user_id, client_id=cid2, tenant=tw.slug,
                                now=datetime.now(UTC) - timedelta(minutes=11))
    r = await papi.gql(stale, SHARED)
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "TOKEN_EXPIRED"
    # A partner token is not accepted for subscriptions or uploads.
    fresh_token = await papi.access(cid2, secret2)
    up = await papi.api.client.post("/uploads", headers={"authorization": f"Bearer {fresh_token}"},
                                    files={"file": ("a.png", b"\x89PNG\r\n\x1a\n", "image/png")})
    assert up.status_code in (401, 403), up.text
    del node2


# Every (type, field) a partner token can reach from its root fields, and only these: organisations,
# communities, figures, wish and activity descriptions — no person, household, phone or address.
PARTNER_ROOTS = {"Query": {"myAgreements", "myAgreementsConnection", "sharedActivities", "sharedWishes",
                           "sharedStatistics", "inserviceSummary", "workingCalendar", "assignedCases",
                           "unitNotifications"},
                 "Mutation": {"claimSharedWish", "fulfilSharedWish", "startAssignedCase", "resolveAssignedCase",
                              "returnAssignedCase", "requestAssignedCaseExtension", "markNotificationsRead"}}
ALLOWLIST = {
    "PartnerAgreement": {"id", "title", "communities", "grants", "sharedData", "areas", "validFrom", "validUntil"},
    "PartnerAgreementConnection": {"edges", "pageInfo", "totalCount", "cappedCount", "nodes"},
    "PartnerAgreementEdge": {"cursor", "node"},
    "CommunityRef": {"id", "name"},
    # cappedCount (issue #21): min(totalCount, cap) and whether more lie beyond — nothing totalCount does not say
    "CappedCount": {"count", "hasMore"},
    "LianchuangArea": {"code", "name"},
    "SharedActivityConnection": {"edges", "pageInfo", "totalCount", "cappedCount", "nodes"},
    "SharedActivityEdge": {"cursor", "node"},
    "SharedActivity": {"id", "title", "description", "place", "startsAt", "endsAt", "capacity", "signedUp",
                       "state", "organiserName", "community"},
    "SharedWishConnection": {"edges", "pageInfo", "totalCount", "cappedCount", "nodes"},
    "SharedWishEdge": {"cursor", "node"},
    "SharedWish": {"id", "title", "description", "state", "postedAt", "claimedByUs", "community", "version"},
    "PageInfo": {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"},
    "SharedStatistics": {"community", "cases", "activities"},
    "SharedCaseFigures": {"total", "byState", "byCategory", "resolved", "onTimeRate", "meanHandlingHours",
                          "satisfactionRate"},
    "SharedActivityFigures": {"total", "byState", "places", "signedUp"},
    "SharedCount": {"key", "count", "caseState", "activityState"},
    "InServiceSummary": {"members", "records", "hours", "wishes", "activities"},
    "SharedWishPayload": {"wish", "errors"},
    "UserError": {"code", "message", "field"},
    "WorkingDay": {"date", "working", "source", "note"},  # the working calendar (issue #22): public holidays
    # the partner unit's desk for the cases dispatched to it (issue #22): what handling needs, no reporter,
    # no one's identity
    "AssignedCaseConnection": {"edges", "pageInfo", "totalCount", "cappedCount", "nodes"},
    "AssignedCaseEdge": {"cursor", "node"},
    "AssignedCase": {"id", "number", "title", "description", "category", "categoryName", "priority", "state",
                     "locationText", "reportedAt", "dispatchedAt", "dueAt", "overdue", "requestedDueAt",
                     "resolution", "resolvedAt", "version"},
    "AssignedCasePayload": {"case", "errors"},
    "UnitNotificationConnection": {"edges", "pageInfo", "totalCount", "cappedCount", "nodes"},
    "UnitNotificationEdge": {"cursor", "node"},
    "UnitNotification": {"id", "kind", "message", "caseId", "at", "readAt"},
    "MarkReadPayload": {"marked", "errors"},
}


def _reachable(schema: GraphQLSchema) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    todo: list[GraphQLObjectType] = []
    for root_name, fields in PARTNER_ROOTS.items():
        root = schema.get_type(root_name)
        assert isinstance(root, GraphQLObjectType)
        for f in fields:
            t = get_named_type(root.fields[f].type)
            if isinstance(t, GraphQLObjectType):
                todo.append(t)
    while todo:
        t = todo.pop()
        if t.name in seen:
            continue
        seen[t.name] = set(t.fields)
        for f in t.fields.values():
            inner = f.type
            while isinstance(inner, (GraphQLNonNull, GraphQLList)):
                inner = inner.of_type
            named = get_named_type(inner)
            if isinstance(named, GraphQLObjectType):
                todo.append(named)
            assert not hasattr(named, "types") or not named.types, f"{t.name}.{f}: interfaces/unions not allowed"
    return seen


def test_every_partner_visible_field_is_on_the_allowlist() -> None:
    reachable = _reachable(gql_schema._schema)
    assert reachable == ALLOWLIST
    # And the committed SDL says the same (the contract partner systems code against).

    sdl = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    from graphql import build_schema

    assert _reachable(build_schema(sdl)) == ALLOWLIST


async def test_concurrent_claims_and_status_changes(papi: PartnerApi, db: DbEnv, fresh: World) -> None:
    """Two partners claim one wish at once: exactly one wins, the other gets CONFLICT; two managers
    change one agreement's status at once: exactly one wins."""
    import asyncio

    if not db.is_pg:
        pytest.skip("real concurrency needs PostgreSQL (SQLite serialises writers)")
    tw = fresh.a
    units = [await make_unit(papi.api, tw, name, 40 + i) for i, name in enumerate(("市三医院", "蓝天救援队"))]
    agreements = [await make_agreement(papi.api, tw, u, [community(tw, "C1")], valid_from=VALID_FROM,
                                       valid_until=VALID_UNTIL) for u in units]
    tokens = []
    for u in units:
        _, cid, secret = await partner_client(papi, tw, u)
        tokens.append(await papi.access(cid, secret))
    for round_ in range(3):
        wish = gid("Wish", await add_wish(db, tw, "h1a", "H1", "B1", f"心愿{round_}"))
        results = await asyncio.gather(*(papi.gql(t, CLAIM, {"id": wish}) for t in tokens))
        payloads = [r.json()["data"]["claimSharedWish"] for r in results]
        assert sorted(tuple(codes(p)) for p in payloads) == [(), ("CONFLICT",)], payloads
    doc = SET_STATUS
    results = await asyncio.gather(
        papi.api.gql(tw, "admin", doc, {"id": agreements[0], "s": "SUSPENDED", "v": 2}),
        papi.api.gql(tw, "secretary", doc, {"id": agreements[0], "s": "TERMINATED", "v": 2}))
    payloads = [r["data"]["setAgreementStatus"] for r in results]
    assert sorted(tuple(codes(p)) for p in payloads) == [(), ("CONFLICT",)], payloads
