"""node(id:) for the types the module registry found without a resolver (issue #20): audit entries,
care service records and notifications — each visible exactly where its list is, and null for
another tenant or an actor who may not read it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from models import AuditEntry
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv, World

NODE = "query($id: ID!) { node(id: $id) { id __typename } }"


async def _node(api: Api, tw: Any, who: str, gid: str) -> Any:
    return (await api.gql(tw, who, NODE, {"id": gid}))["data"]["node"]


async def test_audit_entry_node_follows_the_audit_log_grant(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    h1b = encode_global_id("Person", a.persons["h1b"])
    await api.gql(a, "resident", """mutation($i: UpdatePersonInput!) { updatePerson(input: $i) {
        person { id } errors { code } } }""", {"i": {"id": h1b, "phone": "13700001111"}})
    log = (await api.gql(a, "admin", "{ auditLog(first: 1) { nodes { id action } } }"))["data"]["auditLog"]["nodes"]
    assert log and log[0]["action"] == "updatePerson"
    entry = log[0]["id"]
    assert await _node(api, a, "admin", entry) == {"id": entry, "__typename": "AuditEntry"}
    for who in ("resident", "grid1", "firm"):  # no audit_log·read
        assert await _node(api, a, who, entry) is None, who
    assert await _node(api, fresh.b, "admin", entry) is None  # another tenant's admin
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            assert await s.scalar(select(AuditEntry.id).where(AuditEntry.action == "updatePerson")) is not None


async def test_care_service_record_node_needs_the_full_read_right_and_is_audited(api: Api, db: DbEnv,
                                                                                 fresh: World) -> None:
    a = fresh.a
    svc = {"tagCode": "living_alone", "areaId": encode_global_id("Community", a.areas["C1"]), "name": "上门探视",
           "frequency": "每周一次", "provider": "社区网格员"}
    r = await api.gql(a, "secretary", """mutation($i: CreateCareServiceInput!) { createCareService(input: $i) {
        service { id } errors { code } } }""", {"i": svc})
    sid = r["data"]["createCareService"]["service"]["id"]
    rec = {"serviceId": sid, "personId": encode_global_id("Person", a.persons["h1a"]),
           "providedAt": "2026-11-03T10:00:00+08:00", "providedBy": "网格员小王"}
    r = await api.gql(a, "grid1", """mutation($i: RecordCareServiceInput!) { recordCareService(input: $i) {
        record { id } errors { code } } }""", {"i": rec})
    record = r["data"]["recordCareService"]["record"]["id"]
    assert await _node(api, a, "grid1", record) == {"id": record, "__typename": "CareServiceRecord"}
    for who in ("firm", "chair", "resident4", "grid3"):  # as careServiceRecords: none of theirs
        assert await _node(api, a, who, record) is None, who
    assert await _node(api, fresh.b, "admin", record) is None
    rid = "node-care-record-1"
    resp = await api.post(NODE, {"id": record}, token=api.token(a, "grid1"), headers={"x-request-id": rid})
    assert resp.json()["data"]["node"]["id"] == record
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            actions = list(await s.scalars(select(AuditEntry.action).where(AuditEntry.request_id == rid)))
    assert actions == ["person.read_pii"]


async def test_notification_node_reaches_whom_the_notification_reaches(api: Api, fresh: World) -> None:
    a = fresh.a
    area = encode_global_id("Building", a.areas["B1"])
    r = await api.gql(a, "grid1", """mutation($i: ReportCaseInput!) { reportCase(input: $i) { case { id }
        errors { code } } }""", {"i": {"areaId": area, "category": "drainage", "title": "下水道堵塞"}})
    case = r["data"]["reportCase"]["case"]["id"]
    await api.gql(a, "grid1", "mutation($i: CaseTransitionInput!) { acceptCase(input: $i) { errors { code } } }",
                  {"i": {"id": case}})
    r = await api.gql(a, "grid1", """mutation($i: DispatchCaseInput!) { dispatchCase(input: $i) {
        errors { code } } }""", {"i": {"id": case, "handlerKind": "PROPERTY_FIRM",
                               "firmId": encode_global_id("PropertyFirm", a.firms["F1"])}})
    assert r["data"]["dispatchCase"]["errors"] == []
    mine = (await api.gql(a, "firm", "{ notifications(first: 5) { nodes { id kind } } }"))["data"]["notifications"]
    assert mine["nodes"], "the firm is notified of the dispatch"
    nid = mine["nodes"][0]["id"]
    assert await _node(api, a, "firm", nid) == {"id": nid, "__typename": "Notification"}
    assert await _node(api, a, "resident", nid) is None
    assert await _node(api, fresh.b, "admin", nid) is None
