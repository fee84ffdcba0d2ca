"""A partner client's actor read in one statement (issue #21: gongzhi.http.partner_actor), on the driver
path compiled reads take too: a suspended or expired agreement and a revoked client are seen at the
very next request — a compiled read's plan already made for the document changes nothing — and the
request sends one statement for the actor, where the ORM sent two."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from gongzhi.http.auth import issue_partner_token
from tenants.session import count_statements
from tests.support.cobuilding import REVOKE, SET_STATUS, add_activity, community, make_agreement, make_unit, run
from tests.support.harness import DbEnv, World
from tests.support.partners import NOON, VALID_FROM, VALID_UNTIL, PartnerApi, partner_client

# Compiled for a partner on PostgreSQL (compiled/cobuilding.py PARTNER_ROOTS).
MINE = "query { myAgreements { title grants communities { name } } sharedActivities(first: 20) { totalCount } }"


def _refused(r: Any) -> None:
    body = r.json()
    assert r.status_code == 403 and "data" not in body, body
    assert {(e["extensions"]["code"], e["path"][0]) for e in body["errors"]} == {("FORBIDDEN", "sharedActivities")}


def _ok(r: Any, activities: int) -> dict[str, Any]:
    body: dict[str, Any] = r.json()
    assert r.status_code == 200 and "errors" not in body, body
    assert body["data"]["sharedActivities"]["totalCount"] == activities, body
    return body


async def test_agreement_and_client_changes_are_seen_at_the_next_request(papi: PartnerApi, db: DbEnv,
                                                                         fresh: World) -> None:
    tw = fresh.a
    unit = await make_unit(papi.api, tw, "市四医院", 21)
    agreement = await make_agreement(papi.api, tw, unit, [community(tw, "C1")], valid_from=VALID_FROM,
                                     valid_until=VALID_UNTIL)
    await add_activity(db, tw, "P1", "义诊", starts=NOON + timedelta(days=2), capacity=30, signed_up=3)
    node_id, client_id, secret = await partner_client(papi, tw, unit)
    token = await papi.access(client_id, secret)
    papi.at(NOON)
    first = _ok(await papi.gql(token, MINE), 1)  # makes the compiled plan (PostgreSQL)
    assert [a["title"] for a in first["data"]["myAgreements"]] == ["共驻共建协议"]
    with count_statements() as stmts:
        again = _ok(await papi.gql(token, MINE), 1)
    assert again == first
    actor_reads = [s for s in stmts if "partner_clients" in s]
    assert len(actor_reads) == 1, stmts  # the client and its agreements in force: one statement
    if db.is_pg:
        # The request's first statement, the actor, the compiled read: no ORM session (the staff path's 2 + 1).
        assert len(stmts) == 3, stmts
        assert "agreements" in actor_reads[0] and "$4::date" in actor_reads[0], actor_reads
    # Suspended: cut at the next request; active again: back.
    s = await run(papi.api, tw, "admin", SET_STATUS, {"id": agreement, "s": "SUSPENDED", "v": None})
    assert s["errors"] == [], s
    _refused(await papi.gql(token, MINE))
    s = await run(papi.api, tw, "admin", SET_STATUS, {"id": agreement, "s": "ACTIVE", "v": None})
    assert s["errors"] == [], s
    assert _ok(await papi.gql(token, MINE), 1) == first
    # Expired by the Beijing date: 2026-06-20 is the last day in force, 06-21 00:30 (UTC+8) is past it,
    # though still 06-20 in UTC.
    papi.at(datetime(2026, 6, 20, 15, 50, tzinfo=UTC))
    assert _ok(await papi.gql(token, MINE), 1) == first
    papi.at(datetime(2026, 6, 20, 16, 30, tzinfo=UTC))
    _refused(await papi.gql(token, MINE))
    papi.at(NOON)
    assert _ok(await papi.gql(token, MINE), 1) == first
    # Revoked: the token already issued stops at the next request, compiled plan or not.
    rev = await run(papi.api, tw, "admin", REVOKE, {"id": node_id})
    assert rev["errors"] == [], rev
    r = await papi.gql(token, MINE)
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "CLIENT_REVOKED", r.text


async def test_a_client_of_another_tenant_or_account_is_unknown(papi: PartnerApi, fresh: World) -> None:
    """The actor statement names the token's tenant and account: a token for the client's id in another
    tenant is refused as an unknown client."""
    a, b = fresh.a, fresh.b
    unit = await make_unit(papi.api, a, "市五医院", 22)
    await make_agreement(papi.api, a, unit, [community(a, "C1")], valid_from=VALID_FROM, valid_until=VALID_UNTIL)
    _node, client_id, secret = await partner_client(papi, a, unit)
    papi.at(NOON)
    token = await papi.access(client_id, secret)
    _ok(await papi.gql(token, MINE), 0)
    claims = jwt.decode(token, options={"verify_signature": False})
    user_id = uuid.UUID(claims["sub"])
    other_tenant = issue_partner_token(papi.api.settings, user_id=user_id, client_id=client_id, tenant=b.slug,
                                       now=datetime.now(UTC))
    r = await papi.gql(other_tenant, MINE, tenant=b.slug)
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "CLIENT_REVOKED", r.text
