"""Real handlers (issue #22, DESIGN.md §8 "Handlers"): a case's handling unit is a record — a property firm,
the community, a grid or a partner unit — and a partner unit handles what is dispatched to it through its
API client: it sees it, starts, asks for an extension (the dispatcher decides), resolves, or returns it
(退单) — nothing else, no other case, no other tenant. Everyone concerned is notified, each user with
their own read state. The app's clock is fixed (MONDAY_10, inside the agreements' validity)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update

from models import Notification
from resolvers.ids import decode_global_id, encode_global_id
from tenants.session import bind_tenant, count_statements
from tests.support.case_steps import MONDAY_10, ClockApi, case_now, input_type, refused, reported, run, step, unchanged
from tests.support.cases import area_gid
from tests.support.cobuilding import community, make_agreement, make_unit
from tests.support.harness import DbEnv, World
from tests.support.partners import PartnerApi, partner_client
from tests.support.world import TenantWorld

ASSIGNED = """query($s: [CaseState!]) { assignedCases(states: $s, first: 20) { totalCount nodes { id number title
  state dueAt overdue requestedDueAt resolution version locationText } } }"""
UNIT_FEED = """query($u: Boolean!) { unitNotifications(unreadOnly: $u, first: 20) { totalCount
  nodes { id kind caseId readAt } } }"""
FEED = """query($u: Boolean!) { notifications(unreadOnly: $u, first: 50) { totalCount
  nodes { id kind message readAt case { id } } } }"""
MARK = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { marked errors { code field } } }"
DESK = "case { id state dueAt requestedDueAt version } errors { code field }"
START = f"mutation($i: StartAssignedCaseInput!) {{ m: startAssignedCase(input: $i) {{ {DESK} }} }}"
RESOLVE = f"mutation($i: ResolveAssignedCaseInput!) {{ m: resolveAssignedCase(input: $i) {{ {DESK} }} }}"
RETURN = f"mutation($i: ReturnAssignedCaseInput!) {{ m: returnAssignedCase(input: $i) {{ {DESK} }} }}"
EXTEND = (f"mutation($i: RequestAssignedCaseExtensionInput!) {{ m: requestAssignedCaseExtension(input: $i) "
          f"{{ {DESK} }} }}")


async def _unit(c: ClockApi, tw: TenantWorld, name: str, seq: int, communities: tuple[str, ...] = ("C1",),
                **agreement: Any) -> tuple[str, str]:
    """A partner unit with an agreement in force for ``communities`` and an API client: (its id, a token)."""
    unit = await make_unit(c.api, tw, name, seq)
    if communities:
        await make_agreement(c.api, tw, unit, [community(tw, k) for k in communities], **agreement)
    p = PartnerApi(c.api, c.state)
    _, client_id, secret = await partner_client(p, tw, unit)
    return unit, await p.access(client_id, secret)


async def _partner(c: ClockApi, token: str, doc: str, variables: dict[str, Any] | None = None,
                   tenant: str | None = None) -> Any:
    return await c.api.post(doc, variables, token=token, tenant=tenant)


async def _desk(c: ClockApi, token: str, doc: str, **fields: Any) -> dict[str, Any]:
    r = await _partner(c, token, doc, {"i": fields})
    assert r.status_code == 200, r.text
    payload: dict[str, Any] = r.json()["data"]["m"]
    return payload


async def _assigned(c: ClockApi, token: str, states: list[str] | None = None) -> list[dict[str, Any]]:
    r = await _partner(c, token, ASSIGNED, {"s": states})
    assert r.status_code == 200, r.text
    return list(r.json()["data"]["assignedCases"]["nodes"])


async def _unit_feed(c: ClockApi, token: str, unread: bool = False) -> list[dict[str, Any]]:
    r = await _partner(c, token, UNIT_FEED, {"u": unread})
    assert r.status_code == 200, r.text
    return list(r.json()["data"]["unitNotifications"]["nodes"])


async def _feed(c: ClockApi, tw: TenantWorld, user: str, unread: bool = False) -> list[dict[str, Any]]:
    return list((await c.api.gql(tw, user, FEED, {"u": unread}))["data"]["notifications"]["nodes"])


async def _accepted(c: ClockApi, tw: TenantWorld) -> dict[str, Any]:
    case = await reported(c.api, tw)  # by the resident, in B1 (幸福小区, 东风社区 C1, grid G1)
    return await step(c.api, tw, "grid1", "acceptCase", id=case["id"])


def _refused_at_the_door(r: Any, field: str) -> None:
    body = r.json()
    assert r.status_code == 403 and "data" not in body, body
    assert [(e["extensions"]["code"], e["path"][0]) for e in body["errors"]] == [("FORBIDDEN", field)], body


async def test_partner_unit_handles_a_case_end_to_end(capi: ClockApi, fresh: World) -> None:
    c, a = capi, fresh.a
    unit, token = await _unit(c, a, "蓝天救援队", 41)
    _, other_token = await _unit(c, a, "林邑社工服务中心", 42)
    case = await _accepted(c, a)
    await step(c.api, a, "secretary", "superviseCase", id=case["id"], note="群众反映强烈")
    sent = await step(c.api, a, "grid1", "dispatchCase", id=case["id"], handlerKind="PARTNER_UNIT", partnerUnitId=unit)
    node = (await c.api.gql(a, "grid1", "query($id: ID!) { node(id: $id) { ... on Case { handlerKind handlerName "
                                        "handlerId } } }", {"id": case["id"]}))["data"]["node"]
    assert node == {"handlerKind": "PARTNER_UNIT", "handlerName": "蓝天救援队", "handlerId": unit}

    # dispatched to it → it sees it (and only it), and is told
    seen = await _assigned(c, token)
    assert [(n["id"], n["state"], n["title"]) for n in seen] == [(case["id"], "DISPATCHED", "扬天小区11栋污水外溢")]
    assert await _assigned(c, other_token) == []
    feed = await _unit_feed(c, token)
    assert [(n["kind"], n["caseId"], n["readAt"]) for n in feed] == [("DISPATCHED", case["id"], None)]
    assert await _unit_feed(c, other_token) == []
    r = await _partner(c, token, MARK, {"ids": [feed[0]["id"]]})  # its own read state, like any account's
    assert r.json()["data"]["markNotificationsRead"] == {"marked": 1, "errors": []}, r.text
    assert await _unit_feed(c, token, unread=True) == []
    r = await _partner(c, other_token, MARK, {"ids": [feed[0]["id"]]})  # not addressed to the other unit
    assert r.json()["data"]["markNotificationsRead"] == {"marked": 0, "errors": [{"code": "NOT_FOUND",
                                                                                  "field": "ids"}]}, r.text

    # another unit may do nothing with it: it does not even find it
    for doc, fields in ((START, {}), (RETURN, {"reason": "x"}), (RESOLVE, {"resolution": "x"}),
                        (EXTEND, {"dueAt": "2026-12-20T10:00:00+08:00", "reason": "x"})):
        out = await _desk(c, other_token, doc, id=case["id"], **fields)
        assert (out["case"], [e["code"] for e in out["errors"]]) == (None, ["NOT_FOUND"]), (doc, out)

    # → starts
    started = await _desk(c, token, START, id=case["id"], expectedVersion=sent["version"])
    assert started["errors"] == [] and started["case"]["state"] == "IN_PROGRESS", started
    due = datetime.fromisoformat(started["case"]["dueAt"])
    # → asks for an extension; the dispatcher decides
    wanted = (due + timedelta(days=2)).isoformat()
    asked = await _desk(c, token, EXTEND, id=case["id"], dueAt=wanted, reason="需协调市政管网维修")
    assert asked["errors"] == [] and datetime.fromisoformat(asked["case"]["requestedDueAt"]) == due + timedelta(days=2)
    assert "extension_requested" in [n["kind"] for n in await _feed(c, a, "grid1")]  # the dispatcher is told
    again = await _desk(c, token, EXTEND, id=case["id"], dueAt=wanted, reason="再申请")
    assert [e["code"] for e in again["errors"]] == ["CONFLICT"]  # one request at a time
    granted = await step(c.api, a, "grid1", "decideCaseExtension", id=case["id"], approve=True)
    assert datetime.fromisoformat(granted["dueAt"]) == due + timedelta(days=2)
    assert [n["kind"] for n in await _unit_feed(c, token)] == ["EXTENSION_DECIDED", "DISPATCHED"]
    (mine,) = await _assigned(c, token)
    assert datetime.fromisoformat(mine["dueAt"]) == due + timedelta(days=2) and mine["requestedDueAt"] is None
    # → resolves
    done = await _desk(c, token, RESOLVE, id=case["id"], resolution="已联系市政疏通，污水排净")
    assert done["errors"] == [] and done["case"]["state"] == "RESOLVED", done
    (mine,) = await _assigned(c, token, ["RESOLVED"])
    assert mine["resolution"] == "已联系市政疏通，污水排净"
    # no step after its own: closing, reopening, a second resolve
    out = await _desk(c, token, RESOLVE, id=case["id"], resolution="再办结")
    assert [e["code"] for e in out["errors"]] == ["INVALID_TRANSITION"], out

    # everyone concerned was told: the reporter of its progress, the supervisor of the handler's steps
    progress = [n["message"] for n in await _feed(c, a, "resident") if n["kind"] == "progress"]
    assert len(progress) == 3 and "已办结" in progress[0] and "蓝天救援队" in progress[1], progress
    updates = [n["message"] for n in await _feed(c, a, "secretary") if n["kind"] == "supervision_update"]
    assert len(updates) == 3, updates  # started, asked for an extension, resolved

    # the timeline says who acted: the unit's client account, in the partner_unit role
    timeline = (await c.api.gql(a, "admin", "query($id: ID!) { node(id: $id) { ... on Case { timeline { action "
                                            "actorRole } } } }", {"id": case["id"]}))["data"]["node"]["timeline"]
    assert [(e["action"], e["actorRole"]) for e in timeline][-3:] == [
        ("request_extension", "partner_unit"), ("decide_extension", "grid_leader"), ("resolve", "partner_unit")]


async def test_partner_unit_returns_a_case(capi: ClockApi, fresh: World) -> None:
    c, a = capi, fresh.a
    unit, token = await _unit(c, a, "市三医院", 43)
    case = await _accepted(c, a)
    sent = await step(c.api, a, "grid1", "dispatchCase", id=case["id"], handlerKind="PARTNER_UNIT", partnerUnitId=unit)
    before = await case_now(c.api, a, case["id"])
    out = await _desk(c, token, RETURN, id=case["id"], reason=" ")
    assert [(e["code"], e["field"]) for e in out["errors"]] == [("INVALID", "reason")]
    out = await _desk(c, token, RETURN, id=case["id"], reason="x", expectedVersion=sent["version"] - 1)
    assert [e["code"] for e in out["errors"]] == ["CONFLICT"]
    await unchanged(c.api, a, before)  # bad input changes nothing
    back = await _desk(c, token, RETURN, id=case["id"], reason="不属于本单位服务范围", expectedVersion=sent["version"])
    assert back["errors"] == [] and back["case"]["state"] == "ACCEPTED", back
    assert "returned" in [n["kind"] for n in await _feed(c, a, "grid1")]  # the dispatcher is told
    after = await step(c.api, a, "admin", "superviseCase", id=case["id"])
    assert after["handlerName"] is None and after["returnCount"] == 1
    # no longer its case: it neither sees nor acts on it
    assert await _assigned(c, token) == []
    out = await _desk(c, token, START, id=case["id"])
    assert [e["code"] for e in out["errors"]] == ["NOT_FOUND"]


async def test_partner_unit_may_do_nothing_else(capi: ClockApi, fresh: World) -> None:
    """The other steps and the staff API are refused before anything runs; the other tenant is closed."""
    c, a, b = capi, fresh.a, fresh.b
    unit, token = await _unit(c, a, "蓝天救援队", 44)
    case = await _accepted(c, a)
    await step(c.api, a, "grid1", "dispatchCase", id=case["id"], handlerKind="PARTNER_UNIT", partnerUnitId=unit)
    for name, fields in (("acceptCase", {}), ("startCase", {}), ("closeCase", {}), ("transferCase", {
            "handlerKind": "COMMUNITY", "communityId": area_gid(a, "C1"), "reason": "x"}),
            ("decideCaseExtension", {"approve": True}), ("dispatchCase", {"handlerKind": "GRID"}),
            ("superviseCase", {}), ("reopenCase", {"reason": "x"})):
        doc = f"mutation($i: {input_type(name)}!) {{ {name}(input: $i) {{ errors {{ code }} }} }}"
        _refused_at_the_door(await _partner(c, token, doc, {"i": {"id": case["id"], **fields}}), name)
    _refused_at_the_door(await _partner(c, token, "{ cases(first: 5) { totalCount } }"), "cases")
    _refused_at_the_door(await _partner(c, token, "query($id: ID!) { node(id: $id) { id } }", {"id": case["id"]}),
                         "node")
    # its token names its tenant only; another tenant's case is not found
    r = await _partner(c, token, ASSIGNED, {"s": None}, tenant=b.slug)
    assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "TENANT_NOT_ALLOWED"
    theirs = await _accepted(c, b)
    b_unit = await make_unit(c.api, b, "蓝天救援队", 44)
    await make_agreement(c.api, b, b_unit, [community(b, "C1")])
    await step(c.api, b, "grid1", "dispatchCase", id=theirs["id"], handlerKind="PARTNER_UNIT", partnerUnitId=b_unit)
    out = await _desk(c, token, START, id=theirs["id"])
    assert [e["code"] for e in out["errors"]] == ["NOT_FOUND"]
    assert [n["id"] for n in await _assigned(c, token)] == [case["id"]]
    # staff keep their own rules: the resident reporter may not act as the handler
    refused(await run(c.api, a, "resident", "startCase", id=case["id"]), "FORBIDDEN")


async def test_partner_unit_acts_only_under_an_agreement_in_force(capi: ClockApi, fresh: World) -> None:
    """DESIGN.md §4: a partner unit acts only under agreements in force. Once its agreement for the case's
    community has ended — on the Beijing date, not the UTC one — the unit no longer finds the case: not in
    assignedCases, and every step answers NOT_FOUND (the case machine's answer for a case the actor may not
    read) and changes nothing; an agreement in force for another community does not help; the dispatcher
    still sees and moves the case; a renewed agreement gives the unit its case back."""
    c, a = capi, fresh.a
    # its agreement for 东风社区 (C1) runs until Monday 2026-12-07 (Beijing) inclusive; another, for C2, runs on
    unit, token = await _unit(c, a, "蓝天救援队", 49, valid_from=date(2026, 11, 1), valid_until=date(2026, 12, 7))
    await make_agreement(c.api, a, unit, [community(a, "C2")], title="西湖社区协议", valid_from=date(2026, 11, 1),
                         valid_until=date(2027, 6, 30))
    case = await _accepted(c, a)
    await step(c.api, a, "grid1", "dispatchCase", id=case["id"], handlerKind="PARTNER_UNIT", partnerUnitId=unit)
    started = await _desk(c, token, START, id=case["id"])
    assert started["errors"] == [] and started["case"]["state"] == "IN_PROGRESS", started

    c.at(datetime(2026, 12, 7, 15, 59, tzinfo=UTC))  # 23:59 in Beijing: the last day of the agreement
    assert [n["id"] for n in await _assigned(c, token)] == [case["id"]]
    c.at(datetime(2026, 12, 7, 16, 1, tzinfo=UTC))  # 00:01 on 12-08 in Beijing (still 12-07 in UTC): ended
    assert await _assigned(c, token) == []
    assert await _assigned(c, token, ["IN_PROGRESS"]) == []
    before = await case_now(c.api, a, case["id"])
    wanted = (datetime.fromisoformat(before["dueAt"]) + timedelta(days=2)).isoformat()
    for doc, fields in ((RESOLVE, {"resolution": "已疏通"}), (RETURN, {"reason": "协议已到期"}),
                        (EXTEND, {"dueAt": wanted, "reason": "x"}), (START, {})):
        out = await _desk(c, token, doc, id=case["id"], **fields)
        assert (out["case"], [(e["code"], e["field"]) for e in out["errors"]]) == (None, [("NOT_FOUND", "id")]), (
            doc, out)
    await unchanged(c.api, a, before)
    # the staff's view is theirs: the dispatcher still sees the case, its handler, and may move it on
    moved = await step(c.api, a, "grid1", "transferCase", id=case["id"], handlerKind="COMMUNITY",
                       communityId=area_gid(a, "C1"), reason="共建协议已到期")
    assert (moved["state"], moved["handlerName"]) == ("DISPATCHED", "东风社区"), moved
    # dispatched to it again under a renewed agreement: the unit finds and handles it again
    await make_agreement(c.api, a, unit, [community(a, "C1")], title="续签协议", valid_from=date(2026, 12, 8),
                         valid_until=date(2027, 12, 7))
    await step(c.api, a, "grid1", "transferCase", id=case["id"], handlerKind="PARTNER_UNIT", partnerUnitId=unit,
               reason="已续签")
    assert [n["id"] for n in await _assigned(c, token)] == [case["id"]]
    again = await _desk(c, token, START, id=case["id"])
    assert again["errors"] == [] and again["case"]["state"] == "IN_PROGRESS", again


async def test_dispatch_names_a_record(capi: ClockApi, fresh: World) -> None:
    """Every kind by its record; each id checked (this tenant's, the kind's own, covering the case); the old
    free-text partner name still works (deprecated) and names no record."""
    c, a, b = capi, fresh.a, fresh.b
    unit, _ = await _unit(c, a, "蓝天救援队", 45)
    far, _ = await _unit(c, a, "西湖救援队", 46, ("C2",))  # its agreement covers 西湖社区 only
    idle = await make_unit(c.api, a, "无协议单位", 47)
    foreign = await make_unit(c.api, b, "外街道单位", 48)
    case = await _accepted(c, a)
    grid1, grid2 = encode_global_id("Grid", a.areas["G1"]), encode_global_id("Grid", a.areas["G2"])
    for fields, code, field in (
            ({"handlerKind": "PARTNER_UNIT", "partnerUnitId": far}, "INVALID", "partnerUnitId"),
            ({"handlerKind": "PARTNER_UNIT", "partnerUnitId": idle}, "INVALID", "partnerUnitId"),
            ({"handlerKind": "PARTNER_UNIT", "partnerUnitId": foreign}, "NOT_FOUND", "partnerUnitId"),
            ({"handlerKind": "PARTNER_UNIT"}, "INVALID", "partnerUnitId"),
            ({"handlerKind": "PARTNER_UNIT", "partnerUnitId": unit, "partnerName": "蓝天救援队"}, "INVALID",
             "partnerName"),
            ({"handlerKind": "COMMUNITY", "communityId": area_gid(a, "C1"), "partnerUnitId": unit}, "INVALID",
             "partnerUnitId"),
            ({"handlerKind": "GRID", "gridId": grid2}, "INVALID", "gridId"),  # G2 does not cover B1
            ({"handlerKind": "GRID"}, "INVALID", "gridId"),
            ({"handlerKind": "PROPERTY_FIRM", "gridId": grid1}, "INVALID", "gridId")):
        refused(await run(c.api, a, "grid1", "dispatchCase", id=case["id"], **fields), code, field)
    sent = await step(c.api, a, "grid1", "dispatchCase", id=case["id"], handlerKind="GRID", gridId=grid1)
    assert (sent["state"], sent["handlerName"]) == ("DISPATCHED", "一网格")
    assert "dispatched" in [n["kind"] for n in await _feed(c, a, "grid1")]  # the grid's workers are told
    assert "dispatched" not in [n["kind"] for n in await _feed(c, a, "grid2")]
    moved = await step(c.api, a, "grid1", "transferCase", id=case["id"], handlerKind="PARTNER_UNIT",
                       partnerUnitId=unit, reason="需专业救援力量")
    assert moved["handlerName"] == "蓝天救援队"
    refused(await run(c.api, a, "grid1", "transferCase", id=case["id"], handlerKind="PARTNER_UNIT",
                      partnerUnitId=unit, reason="再转"), "INVALID", "handlerKind")  # the same handler
    # the deprecated free-text form: a name, no record, so no system sees it
    other = await _accepted(c, a)
    old = await step(c.api, a, "grid1", "dispatchCase", id=other["id"], handlerKind="PARTNER_UNIT",
                     partnerName="市供电公司")
    assert old["handlerName"] == "市供电公司"
    node = (await c.api.gql(a, "grid1", "query($id: ID!) { node(id: $id) { ... on Case { handlerId } } }",
                            {"id": other["id"]}))["data"]["node"]
    assert node == {"handlerId": None}


async def test_read_state_is_per_user(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    """A notification to the community reaches its secretary and the street admin: one marking it read leaves
    it unread for the other; unread counts are per user; marking twice marks nothing more; a notification
    read before per-user read state stays read for all."""
    c, a = capi, fresh.a
    case = await _accepted(c, a)
    await step(c.api, a, "grid1", "dispatchCase", id=case["id"], handlerKind="COMMUNITY",
               communityId=area_gid(a, "C1"))
    (sec,) = [n for n in await _feed(c, a, "secretary", unread=True) if n["kind"] == "dispatched"]
    (adm,) = [n for n in await _feed(c, a, "admin", unread=True) if n["kind"] == "dispatched"]
    assert sec["id"] == adm["id"] and sec["readAt"] is None
    out = (await c.api.gql(a, "secretary", MARK, {"ids": [sec["id"]]}))["data"]["markNotificationsRead"]
    assert out == {"marked": 1, "errors": []}
    again = (await c.api.gql(a, "secretary", MARK, {"ids": [sec["id"]]}))["data"]["markNotificationsRead"]
    assert again == {"marked": 0, "errors": []}
    assert [n for n in await _feed(c, a, "secretary", unread=True) if n["id"] == sec["id"]] == []
    (mine,) = [n for n in await _feed(c, a, "secretary") if n["id"] == sec["id"]]
    assert mine["readAt"] is not None
    (theirs,) = [n for n in await _feed(c, a, "admin", unread=True) if n["id"] == sec["id"]]
    assert theirs["readAt"] is None  # still unread for the street admin
    unread = "query { unreadNotificationCount notifications(unreadOnly: true) { totalCount } }"
    counts = {}
    for user in ("secretary", "admin"):
        body = (await c.api.gql(a, user, unread))["data"]
        assert body["unreadNotificationCount"] == body["notifications"]["totalCount"], (user, body)
        counts[user] = body["unreadNotificationCount"]
    assert counts == {"secretary": 0, "admin": 1}, counts
    # read before migration 0045 (one shared read state): read for everyone it reaches
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            await s.execute(update(Notification).where(Notification.id == decode_global_id(adm["id"]).id)
                            .values(read_at=datetime(2026, 12, 1, tzinfo=UTC)))
    assert [n for n in await _feed(c, a, "admin", unread=True) if n["id"] == adm["id"]] == []
    out = (await c.api.gql(a, "admin", MARK, {"ids": [adm["id"]]}))["data"]["markNotificationsRead"]
    assert out == {"marked": 0, "errors": []}


async def test_marking_and_counting_take_fixed_statements(capi: ClockApi, fresh: World, db: DbEnv) -> None:
    """markNotificationsRead and unreadNotificationCount cost the same for 2 notifications as for 20."""
    c, a = capi, fresh.a
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            rows = [Notification(firm_id=a.firms["F1"], kind="urged", message=f"催办{i}", created_at=MONDAY_10)
                    for i in range(22)]
            s.add_all(rows)
    ids = [encode_global_id("Notification", n.id) for n in rows]
    await c.api.gql(a, "firm", "{ unreadNotificationCount }")  # warms the tenant's policy cache
    counts = []
    for batch in (ids[:2], ids[2:]):
        with count_statements() as stmts:
            out = (await c.api.gql(a, "firm", MARK, {"ids": batch}))["data"]["markNotificationsRead"]
        assert out == {"marked": len(batch), "errors": []}
        counts.append(len(stmts))
        with count_statements() as stmts:
            left = (await c.api.gql(a, "firm", "{ unreadNotificationCount }"))["data"]["unreadNotificationCount"]
        assert left == (20 if len(batch) == 2 else 0)
        counts.append(len(stmts))
    assert counts[0] == counts[2] and counts[1] == counts[3], counts
