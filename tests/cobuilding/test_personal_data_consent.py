"""Partner units and personal data (PIPL art. 23, issue #24): the policy line and the agreement grant
that would give a partner unit personal data are refused with CONSENT_REQUIRED until consents are
recorded; then the partner's system reads exactly the persons who consented for that unit, in the
communities shared with it, in full — and nobody else; withdrawing ends it."""

from __future__ import annotations

from typing import Any

from resolvers.ids import encode_global_id
from tests.support.access import GRANT
from tests.support.cobuilding import CREATE_AGREEMENT, agreement_input, community, make_agreement, make_unit, run
from tests.support.harness import World
from tests.support.partners import VALID_FROM, VALID_UNTIL, PartnerApi, partner_client

RULE = {"role": "partner_unit", "resource": "person", "action": "read", "condition": "agreement"}
RECORD = ("mutation ($i: RecordPersonalDataConsentInput!) { recordPersonalDataConsent(input: $i) { "
          "consent { id personId partnerUnitId purpose grantedAt withdrawnAt } errors { code field } } }")
WITHDRAW = ("mutation ($i: WithdrawPersonalDataConsentInput!) { withdrawPersonalDataConsent(input: $i) { "
            "consent { id withdrawnAt } errors { code field } } }")
PERSONS = "{ persons(first: 50) { totalCount nodes { id name phone idCardNo piiMasked } } }"


async def _gql(p: PartnerApi, tw: Any, user: str, doc: str, variables: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = await p.api.gql(tw, user, doc, variables)
    return body["data"]


async def test_consent_gates_personal_data_for_partners(papi: PartnerApi, fresh: World) -> None:
    tw, other = fresh.a, fresh.b
    h1a = encode_global_id("Person", tw.persons["h1a"])
    unit = await make_unit(papi.api, tw, "市三医院", 11)
    other_unit = await make_unit(papi.api, tw, "蓝天救援队", 12)

    # Without any consent: the policy line and the agreement grant are refused, typed.
    got = (await _gql(papi, tw, "admin", GRANT, {"i": RULE}))["grantPermission"]
    assert got == {"version": None, "errors": [{"code": "CONSENT_REQUIRED", "field": "resource"}]}
    p = await run(papi.api, tw, "admin", CREATE_AGREEMENT, agreement_input(
        unit, [community(tw, "C1")], grants=["person.read"], valid_from=VALID_FROM, valid_until=VALID_UNTIL))
    assert p["agreement"] is None and [(e["code"], e["field"]) for e in p["errors"]] == [("CONSENT_REQUIRED",
                                                                                            "grants")]
    # read_pii and households stay out of partners' reach whatever the consents
    pii = {**RULE, "action": "read_pii"}
    assert (await _gql(papi, tw, "admin", GRANT, {"i": pii}))["grantPermission"]["errors"][0]["code"] == "FORBIDDEN"

    # Recording consent: the street admin's; others refused; unknown or foreign ids NOT_FOUND.
    rec = {"personId": h1a, "partnerUnitId": unit, "purpose": "家庭医生签约随访"}
    denied = (await _gql(papi, tw, "grid1", RECORD, {"i": rec}))["recordPersonalDataConsent"]
    assert denied == {"consent": None, "errors": [{"code": "FORBIDDEN", "field": "personId"}]}
    foreign = {**rec, "personId": encode_global_id("Person", other.persons["h1a"])}
    assert (await _gql(papi, tw, "admin", RECORD, {"i": foreign}))["recordPersonalDataConsent"]["errors"] == [
        {"code": "NOT_FOUND", "field": "personId"}]
    nounit = {**rec, "partnerUnitId": encode_global_id("PartnerUnit", other.tenant_id)}
    assert (await _gql(papi, tw, "admin", RECORD, {"i": nounit}))["recordPersonalDataConsent"]["errors"] == [
        {"code": "NOT_FOUND", "field": "partnerUnitId"}]
    ok = (await _gql(papi, tw, "admin", RECORD, {"i": rec}))["recordPersonalDataConsent"]
    assert ok["errors"] == [] and ok["consent"]["personId"] == h1a and ok["consent"]["withdrawnAt"] is None
    again = (await _gql(papi, tw, "admin", RECORD, {"i": rec}))["recordPersonalDataConsent"]
    assert again["errors"] == [{"code": "CONFLICT", "field": "partnerUnitId"}]
    # h4a consents too, but for the other unit: never seen by the first
    h4a_other = {"personId": encode_global_id("Person", tw.persons["h4a"]), "partnerUnitId": other_unit,
                 "purpose": "救援演练联络"}
    assert (await _gql(papi, tw, "admin", RECORD, {"i": h4a_other}))["recordPersonalDataConsent"]["errors"] == []

    # With consents the line and the grant are allowed.
    assert (await _gql(papi, tw, "admin", GRANT, {"i": RULE}))["grantPermission"]["errors"] == []
    await make_agreement(papi.api, tw, unit, [community(tw, "C1"), community(tw, "C2")],
                         grants=["person.read"], valid_from=VALID_FROM, valid_until=VALID_UNTIL)
    _, client_id, secret = await partner_client(papi, tw, unit)
    token = await papi.access(client_id, secret)

    body = (await papi.gql(token, PERSONS)).json()
    assert "errors" not in body, body
    nodes = body["data"]["persons"]["nodes"]
    assert body["data"]["persons"]["totalCount"] == 1
    assert nodes == [{"id": h1a, "name": nodes[0]["name"], "phone": tw.phones["h1a"], "idCardNo": tw.id_cards["h1a"],
                      "piiMasked": False}]

    # Withdrawn: the partner sees nobody; twice is a conflict; a grid leader may not withdraw.
    cid = ok["consent"]["id"]
    assert (await _gql(papi, tw, "grid1", WITHDRAW, {"i": {"id": cid}}))["withdrawPersonalDataConsent"][
        "errors"] == [{"code": "FORBIDDEN", "field": "id"}]
    gone = (await _gql(papi, tw, "admin", WITHDRAW, {"i": {"id": cid}}))["withdrawPersonalDataConsent"]
    assert gone["errors"] == [] and gone["consent"]["withdrawnAt"] is not None
    assert (await _gql(papi, tw, "admin", WITHDRAW, {"i": {"id": cid}}))["withdrawPersonalDataConsent"][
        "errors"] == [{"code": "CONFLICT", "field": "id"}]
    body = (await papi.gql(token, PERSONS)).json()
    assert body["data"]["persons"] == {"totalCount": 0, "nodes": []}
