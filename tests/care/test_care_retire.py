"""retireCareService (issue #23): an entry of a service list retired by who keeps the list
(care_service · manage: the community's party secretary, the street admin); it leaves the lists and
takes no new service record, while the records made under it stay readable and still name it."""

from __future__ import annotations

from tests.care.test_care import ADD_SVC, REC_SVC, RECS, SVCS, TZ8, gid
from tests.support.harness import Api, World

RETIRE = """mutation($i: RetireCareServiceInput!) { retireCareService(input: $i) {
  service { id retiredAt } errors { code field } } }"""
RECORD_SERVICE = "{ careServiceRecords { nodes { providedBy service { name retiredAt } } } }"


async def test_retire_care_service(api: Api, fresh: World) -> None:
    a = fresh.a
    svc = {"tagCode": "living_alone", "areaId": gid("Community", a.areas["C1"]), "name": "上门探视",
           "frequency": "每周一次", "provider": "社区网格员"}
    sid = (await api.gql(a, "secretary", ADD_SVC, {"i": svc}))["data"]["createCareService"]["service"]["id"]
    rec = {"serviceId": sid, "personId": gid("Person", a.persons["h1a"]),
           "providedAt": "2026-11-03T10:00:00" + TZ8, "providedBy": "网格员小王"}
    assert (await api.gql(a, "grid1", REC_SVC, {"i": rec}))["data"]["recordCareService"]["errors"] == []
    # denied: grid leaders record services but do not keep the list; the other community's secretary,
    # residents and firms neither (they do not even see it); another tenant does not find it
    for who, code in (("grid1", "FORBIDDEN"), ("secretary2", "NOT_FOUND"), ("resident", "NOT_FOUND"),
                      ("firm", "NOT_FOUND")):
        r = await api.gql(a, who, RETIRE, {"i": {"id": sid}})
        assert [e["code"] for e in r["data"]["retireCareService"]["errors"]] == [code], who
    r = await api.gql(fresh.b, "admin", RETIRE, {"i": {"id": sid}})
    assert r["data"]["retireCareService"]["errors"][0]["code"] == "NOT_FOUND"
    assert len((await api.gql(a, "grid1", SVCS))["data"]["careServices"]) == 1
    # allowed: the secretary of the community
    r = (await api.gql(a, "secretary", RETIRE, {"i": {"id": sid}}))["data"]["retireCareService"]
    assert r["errors"] == [] and r["service"]["retiredAt"]
    r = (await api.gql(a, "admin", RETIRE, {"i": {"id": sid}}))["data"]["retireCareService"]
    assert [e["code"] for e in r["errors"]] == ["INVALID_TRANSITION"]
    assert (await api.gql(a, "grid1", SVCS))["data"]["careServices"] == []
    r = (await api.gql(a, "grid1", REC_SVC, {"i": rec}))["data"]["recordCareService"]
    assert [(e["code"], e["field"]) for e in r["errors"]] == [("INVALID_TRANSITION", "serviceId")]
    # the record made before stays, still naming the retired service
    assert (await api.gql(a, "grid1", RECS))["data"]["careServiceRecords"]["totalCount"] == 1
    nodes = (await api.gql(a, "grid1", RECORD_SERVICE))["data"]["careServiceRecords"]["nodes"]
    assert nodes[0]["service"]["name"] == "上门探视" and nodes[0]["service"]["retiredAt"]
