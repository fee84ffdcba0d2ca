"""Helpers of the policy-administration tests (the street admin's grants and revocations): the documents,
the grid leader's dispatch right, and a case accepted by grid1 ready to be dispatched."""

from __future__ import annotations

from typing import Any

from resolvers.ids import encode_global_id
from tests.support.harness import Api
from tests.support.world import TenantWorld

POLICY = "{ policy { version rules { role resource action condition } } }"
GRANT = "mutation($i: PolicyRuleInput!) { grantPermission(input: $i) { version errors { code field } } }"
REVOKE = "mutation($i: PolicyRuleInput!) { revokePermission(input: $i) { version errors { code field } } }"
DISPATCH_RULE = {"role": "grid_leader", "resource": "case", "action": "dispatch", "condition": "scope"}


async def accepted_case(api: Api, tw: TenantWorld) -> str:
    r = await api.gql(tw, "grid1", """mutation($i: ReportCaseInput!) { reportCase(input: $i) { case { id } } }""",
                      {"i": {"areaId": encode_global_id("Building", tw.areas["B1"]), "category": "garbage",
                             "title": "垃圾"}})
    cid = str(r["data"]["reportCase"]["case"]["id"])
    await api.gql(tw, "grid1", "mutation($i: CaseTransitionInput!) { acceptCase(input: $i) { errors { code } } }",
                  {"i": {"id": cid}})
    return cid


def partner_dispatch(cid: str) -> dict[str, Any]:
    return {"i": {"id": cid, "handlerKind": "PARTNER_UNIT", "partnerName": "蓝天救援队"}}


DISPATCH = "mutation($i: DispatchCaseInput!) { dispatchCase(input: $i) { case { state } errors { code } } }"
