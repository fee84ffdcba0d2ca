"""Cases (事件/诉求): the closed loop of DESIGN.md §5 under the case rows of the §4 permission matrix.

Every test that writes uses ``fresh`` tenants (the world of tests/support/world.py, drawn in its
docstring): the grids cover buildings (G1: B1; G2: B2, B3), F1 serves P1 only, residents live in P1 (resident,
H1/B1) and P3 (resident4, H4/B4), secretary2 (C2) lives in P1 and so keeps a resident's rights there.

Sections: reporting · the loop · permissions per action · state machine and versions · lists ·
supervision · input checks and idempotency · waiting-period job · node(id:) · deadlines. Helpers in
tests/support/cases.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from models import (
    Attachment,
    AuditEntry,
    CalendarOverride,
    Case,
    Notification,
    SlaUnit,
    Tenant,
    uuid7,
)
from resolvers.cases import close_waiting_cases, due_time
from resolvers.cases.workcalendar import SHANGHAI, WorkCalendar
from resolvers.context import Db
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.cases import (
    accept,
    add_resident,
    area_gid,
    assert_denied,
    assert_unchanged,
    call,
    case_uuid,
    count_cases,
    dispatch_firm,
    dispatch_firm_then_contract_ends,
    failed,
    firm_gid,
    ids,
    listed,
    ok,
    read,
    report,
    reread,
    resolve,
    resolved_case,
    scalar_count,
    set_case_times,
    start,
    steps,
)
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

# ---------------------------------------------------------------------------------------------- reporting

# (user, area, expected): None = allowed, else the error code. DESIGN.md §4 "case · report".
REPORT_MATRIX: list[tuple[str, str, str | None]] = [
    ("resident", "P1", None), ("resident", "B1", None), ("resident", "B2", None),  # own compound P1
    ("resident", "P3", "FORBIDDEN"), ("resident", "B4", "FORBIDDEN"), ("resident", "P2", "FORBIDDEN"),
    ("resident", "C1", "FORBIDDEN"),
    ("resident4", "B4", None), ("resident4", "B1", "FORBIDDEN"),
    ("firm", "P1", None), ("firm", "B2", None),  # served
    ("firm", "P2", "FORBIDDEN"), ("firm", "P3", "FORBIDDEN"), ("firm", "B4", "FORBIDDEN"),  # 无物业 / expired
    ("chair", "P1", None), ("chair", "B1", None), ("chair", "P2", "FORBIDDEN"),
    ("grid1", "B1", None), ("grid1", "G1", None),
    ("grid1", "B2", "FORBIDDEN"), ("grid1", "B3", "FORBIDDEN"),
    # DESIGN.md §8: at the compound its grid's B1 belongs to (P1) itself yes; not at P2, which G1 does not touch
    ("grid1", "P1", None), ("grid1", "P2", "FORBIDDEN"),
    ("grid2", "B2", None), ("grid2", "B3", None), ("grid2", "B1", "FORBIDDEN"),
    ("grid3", "B4", None), ("grid3", "B1", "FORBIDDEN"),
    ("secretary", "C1", None), ("secretary", "B3", None), ("secretary", "B4", "FORBIDDEN"),
    ("secretary2", "B4", None), ("secretary2", "B1", None),  # C2's secretary lives in P1: own compound
    ("secretary2", "B3", "FORBIDDEN"),
    ("admin", "S", None), ("admin", "B4", None),
    ("expired", "B1", "FORBIDDEN"), ("nobody", "B1", "FORBIDDEN"), ("nobody", "P1", "FORBIDDEN"),
]
WALL_REPORTERS = {"resident", "resident4"}  # holding no role above resident


async def test_report_allowed_and_denied_by_role_and_area(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    got: list[tuple[str, str, str | None]] = []
    wall: dict[str, bool] = {}
    for user, area, _ in REPORT_MATRIX:
        payload = await call(api, tw, user, "reportCase", areaId=area_gid(tw, area), category="garbage",
                             title=f"{user} 在 {area} 上报")
        got.append((user, area, payload["errors"][0]["code"] if payload["errors"] else None))
        if payload["case"] is not None:
            wall[user] = payload["case"]["onProblemWall"]
            assert payload["errors"] == []
    assert got == REPORT_MATRIX
    allowed = sum(1 for *_, code in REPORT_MATRIX if code is None)
    assert await count_cases(db, tw) == allowed  # denied reports wrote nothing
    assert {u for u, on in wall.items() if on} == WALL_REPORTERS


async def test_report_starts_the_timeline(api: Api, fresh: World) -> None:
    tw = fresh.a
    case = await report(api, tw, "grid1", "B1", title="井盖缺失", category="facility", priority="HIGH",
                        description="1栋门口井盖丢失", locationText="1栋门口", latitude=32.9, longitude=117.4)
    assert (case["state"], case["version"], case["reopenCount"], case["supervised"]) == ("REPORTED", 1, 0, False)
    assert (case["category"], case["priority"], case["onProblemWall"], case["reportedByMe"]) == (
        "facility", "HIGH", False, True)
    assert case["reporter"] == {"username": tw.username("grid1")}
    assert steps(case) == [(1, "report", None, "REPORTED", tw.username("grid1"))]
    assert case["timeline"][0]["actorRole"] == "grid_leader"
    assert case["dueAt"] is None and case["overdue"] is False


# ---------------------------------------------------------------------------------------------- the loop


async def test_loop_resident_unsatisfied_then_satisfied(api: Api, db: DbEnv, fresh: World) -> None:
    """Resident reports (问题墙) → grid1 accepts and dispatches to F1 → the firm handles → the resident is not
    satisfied (reopened, reopenCount 1) → dispatched again → handled → satisfied: closed."""
    tw = fresh.a
    case = await report(api, tw, "resident", "B1", title="楼道污水外溢", category="drainage")
    assert case["onProblemWall"] is True
    case = await accept(api, tw, case)
    case = await dispatch_firm(api, tw, case)
    assert (case["state"], case["handlerKind"], case["handlerName"]) == ("DISPATCHED", "PROPERTY_FIRM", "安居物业")
    assert case["dueAt"] is not None
    case = await resolve(api, tw, await start(api, tw, case))
    assert (case["state"], case["resolution"], case["version"]) == ("RESOLVED", "已疏通", 5)

    failed(await call(api, tw, "resident", "giveCaseFeedback", id=case["id"], satisfied=False), "INVALID", "comment")
    await assert_unchanged(api, tw, case)
    case = ok(await call(api, tw, "resident", "giveCaseFeedback", id=case["id"], satisfied=False,
                         comment="还在漏水"))
    assert (case["state"], case["reopenCount"], case["satisfied"], case["feedbackComment"]) == (
        "REOPENED", 1, False, "还在漏水")
    notes = await scalar_count(db, tw, select(func.count()).select_from(Notification).where(
        Notification.case_id == case_uuid(case["id"]), Notification.kind == "reopened",
        Notification.firm_id == tw.firms["F1"]))
    assert notes == 1

    case = await dispatch_firm(api, tw, case, user="secretary")  # reopened → dispatched again
    case = await resolve(api, tw, await start(api, tw, case))
    case = ok(await call(api, tw, "resident", "giveCaseFeedback", id=case["id"], satisfied=True, comment="修好了"))
    assert (case["state"], case["satisfied"], case["reopenCount"], case["version"]) == ("CLOSED", True, 1, 10)

    full = await reread(api, tw, case["id"])
    u = tw.username
    assert steps(full) == [
        (1, "report", None, "REPORTED", u("resident")),
        (2, "accept", "REPORTED", "ACCEPTED", u("grid1")),
        (3, "dispatch", "ACCEPTED", "DISPATCHED", u("grid1")),
        (4, "start", "DISPATCHED", "IN_PROGRESS", u("firm")),
        (5, "resolve", "IN_PROGRESS", "RESOLVED", u("firm")),
        (6, "feedback", "RESOLVED", "REOPENED", u("resident")),
        (7, "dispatch", "REOPENED", "DISPATCHED", u("secretary")),
        (8, "start", "DISPATCHED", "IN_PROGRESS", u("firm")),
        (9, "resolve", "IN_PROGRESS", "RESOLVED", u("firm")),
        (10, "feedback", "RESOLVED", "CLOSED", u("resident")),
    ]
    assert full["timeline"][5]["note"] == "还在漏水"


@pytest.mark.parametrize("handler", ["grid1", "secretary", "admin"])
async def test_loop_handled_in_scope_with_check_reopen_and_close(api: Api, fresh: World, handler: str) -> None:
    """Grid leader, party secretary and street admin (in scope) run every step themselves: accept, dispatch
    (community, then a partner unit), start, resolve, reopen after a failed check, close."""
    tw = fresh.a
    case = await report(api, tw, "grid1", "B1", title="路灯不亮", category="lighting")
    case = await accept(api, tw, case, handler)
    failed(await call(api, tw, handler, "dispatchCase", id=case["id"], handlerKind="COMMUNITY",
                      communityId=area_gid(tw, "C2")), "INVALID", "communityId")  # not the case's community
    case = ok(await call(api, tw, handler, "dispatchCase", id=case["id"], handlerKind="COMMUNITY",
                         communityId=area_gid(tw, "C1")))
    assert (case["handlerKind"], case["handlerName"]) == ("COMMUNITY", "东风社区")
    case = await resolve(api, tw, await start(api, tw, case, handler), handler)
    failed(await call(api, tw, handler, "reopenCase", id=case["id"], reason="  "), "INVALID", "reason")
    case = ok(await call(api, tw, handler, "reopenCase", id=case["id"], reason="复查仍不亮"))
    assert (case["state"], case["reopenCount"]) == ("REOPENED", 1)
    case = ok(await call(api, tw, handler, "dispatchCase", id=case["id"], handlerKind="PARTNER_UNIT",
                         partnerName="市供电公司"))
    assert (case["handlerKind"], case["handlerName"]) == ("PARTNER_UNIT", "市供电公司")
    case = await resolve(api, tw, await start(api, tw, case, handler), handler)
    case = ok(await call(api, tw, handler, "closeCase", id=case["id"], note="复查合格"))
    assert (case["state"], case["version"]) == ("CLOSED", 10)
    h = tw.username(handler)
    assert steps(case) == [
        (1, "report", None, "REPORTED", tw.username("grid1")),
        (2, "accept", "REPORTED", "ACCEPTED", h),
        (3, "dispatch", "ACCEPTED", "DISPATCHED", h),
        (4, "start", "DISPATCHED", "IN_PROGRESS", h),
        (5, "resolve", "IN_PROGRESS", "RESOLVED", h),
        (6, "reopen", "RESOLVED", "REOPENED", h),
        (7, "dispatch", "REOPENED", "DISPATCHED", h),
        (8, "start", "DISPATCHED", "IN_PROGRESS", h),
        (9, "resolve", "IN_PROGRESS", "RESOLVED", h),
        (10, "close", "RESOLVED", "CLOSED", h),
    ]


async def test_reject_needs_a_reason_and_ends_the_loop(api: Api, fresh: World) -> None:
    tw = fresh.a
    case = await report(api, tw, "resident", "B2", title="邻居装修噪音", category="noise")
    failed(await call(api, tw, "grid2", "rejectCase", id=case["id"], reason=""), "INVALID", "reason")
    await assert_unchanged(api, tw, case)
    case = ok(await call(api, tw, "grid2", "rejectCase", id=case["id"], reason="属正常装修时段"))
    assert (case["state"], case["rejectReason"], case["version"]) == ("REJECTED", "属正常装修时段", 2)
    assert steps(case)[-1] == (2, "reject", "REPORTED", "REJECTED", tw.username("grid2"))


# ---------------------------------------------------------------------------------------------- permissions

# Readers of a case in B1 reported by the resident: resident (own), firm (served P1), chair (scope P1), grid1,
# secretary, admin, secretary2 (P1's problem wall). Everyone else gets NOT_FOUND, never FORBIDDEN.
# grid2's G2 covers B2 of P1, so it reads P1's problem wall (DESIGN.md §8), where a resident's B1 case stands:
# it knows the case (FORBIDDEN, not NOT_FOUND) but handles nothing in B1; grid3 (P3 only) does not know it.
NON_READERS = {"grid2": "FORBIDDEN", "grid3": "NOT_FOUND", "resident4": "NOT_FOUND", "expired": "NOT_FOUND",
               "nobody": "NOT_FOUND"}


async def test_accept_reject_dispatch_only_grid_and_above_in_scope(api: Api, fresh: World) -> None:
    tw = fresh.a
    case = await report(api, tw, "resident", "B1")
    denied = {"resident": "FORBIDDEN", "firm": "FORBIDDEN", "chair": "FORBIDDEN", "secretary2": "FORBIDDEN",
              **NON_READERS}
    await assert_denied(api, tw, case, "acceptCase", denied)
    await assert_denied(api, tw, case, "rejectCase", denied, reason="不受理")
    accepted = await accept(api, tw, case)
    await assert_denied(api, tw, accepted, "dispatchCase", denied, handlerKind="PROPERTY_FIRM",
                        firmId=firm_gid(tw))
    assert (await dispatch_firm(api, tw, accepted))["state"] == "DISPATCHED"
    # grid2's grid covers B2: it accepts there, not in B1.
    b2 = await report(api, tw, "resident", "B2")
    assert (await accept(api, tw, b2, "grid2"))["state"] == "ACCEPTED"


async def test_start_resolve_firm_only_when_assigned(api: Api, fresh: World) -> None:
    tw = fresh.a
    assigned = await dispatch_firm(api, tw, await accept(api, tw, await report(api, tw, "resident", "B1")))
    denied = {"resident": "FORBIDDEN", "chair": "FORBIDDEN", "secretary2": "FORBIDDEN", **NON_READERS}
    await assert_denied(api, tw, assigned, "startCase", denied)
    started = await start(api, tw, assigned)  # the firm: dispatched to F1
    await assert_denied(api, tw, started, "resolveCase", denied, resolution="已处理")
    assert (await resolve(api, tw, started))["state"] == "RESOLVED"

    # Served (P1) but dispatched to the community, not to F1: the firm reads it but may not handle it.
    to_community = await accept(api, tw, await report(api, tw, "grid2", "B2"), "grid2")
    to_community = ok(await call(api, tw, "grid2", "dispatchCase", id=to_community["id"], handlerKind="COMMUNITY",
                                 communityId=area_gid(tw, "C1")))
    assert await read(api, tw, to_community["id"], "firm") is not None
    failed(await call(api, tw, "firm", "startCase", id=to_community["id"]), "FORBIDDEN")
    await assert_unchanged(api, tw, to_community)
    started_by_grid = await start(api, tw, to_community, "grid2")
    failed(await call(api, tw, "firm", "resolveCase", id=started_by_grid["id"], resolution="x"), "FORBIDDEN")

    # Not served (P3, contract expired) but dispatched to F1: assigned, so the firm handles it.
    p3 = await report(api, tw, "resident4", "B4")
    assert await read(api, tw, p3["id"], "firm") is None
    p3 = await dispatch_firm_then_contract_ends(api, tw, await accept(api, tw, p3, "grid3"), "P3", "grid3")
    assert await read(api, tw, p3["id"], "firm") is not None
    assert (await resolve(api, tw, await start(api, tw, p3)))["state"] == "RESOLVED"


async def test_close_reopen_only_grid_and_above_in_scope(api: Api, fresh: World) -> None:
    tw = fresh.a
    case = await resolved_case(api, tw)
    denied = {"resident": "FORBIDDEN", "firm": "FORBIDDEN", "chair": "FORBIDDEN", "secretary2": "FORBIDDEN",
              **NON_READERS}
    await assert_denied(api, tw, case, "closeCase", denied)
    await assert_denied(api, tw, case, "reopenCase", denied, reason="复查不合格")
    assert ok(await call(api, tw, "grid1", "reopenCase", id=case["id"], reason="复查不合格"))["state"] == "REOPENED"
    other = await resolved_case(api, tw)
    assert ok(await call(api, tw, "secretary", "closeCase", id=other["id"]))["state"] == "CLOSED"


async def test_feedback_only_by_the_reporter(api: Api, fresh: World) -> None:
    tw = fresh.a
    case = await resolved_case(api, tw)
    denied = {"grid1": "FORBIDDEN", "admin": "FORBIDDEN", "firm": "FORBIDDEN", "secretary": "FORBIDDEN",
              "secretary2": "FORBIDDEN", "chair": "FORBIDDEN", **NON_READERS}
    await assert_denied(api, tw, case, "giveCaseFeedback", denied, satisfied=True)
    assert ok(await call(api, tw, "resident", "giveCaseFeedback", id=case["id"], satisfied=True))["state"] == "CLOSED"
    # Any role gives feedback on its own reports.
    own = await resolved_case(api, tw, reporter="grid1")
    closed = ok(await call(api, tw, "grid1", "giveCaseFeedback", id=own["id"], satisfied=True))
    assert (closed["state"], closed["satisfied"]) == ("CLOSED", True)


# ---------------------------------------------------------------------------------------------- state machine


async def test_wrong_transitions_name_the_state_and_change_nothing(api: Api, fresh: World) -> None:
    tw = fresh.a
    case = await report(api, tw, "resident", "B1")
    wrong: list[tuple[str, str, dict[str, Any]]] = [
        ("grid1", "dispatchCase", {"handlerKind": "PROPERTY_FIRM", "firmId": firm_gid(tw)}),
        ("grid1", "startCase", {}),
        ("grid1", "resolveCase", {"resolution": "已处理"}),
        ("grid1", "closeCase", {}),
        ("grid1", "reopenCase", {"reason": "再办"}),
        ("resident", "giveCaseFeedback", {"satisfied": True}),
    ]
    for user, name, fields in wrong:
        err = failed(await call(api, tw, user, name, id=case["id"], **fields), "INVALID_TRANSITION")
        assert "reported" in err["message"], (name, err)
    await assert_unchanged(api, tw, case)

    dispatched = await dispatch_firm(api, tw, await accept(api, tw, case))
    for user, name, fields in [("grid1", "acceptCase", {}), ("grid1", "dispatchCase", wrong[0][2]),
                               ("firm", "resolveCase", {"resolution": "x"})]:
        err = failed(await call(api, tw, user, name, id=dispatched["id"], **fields), "INVALID_TRANSITION")
        assert "dispatched" in err["message"], (name, err)
    await assert_unchanged(api, tw, dispatched)

    rejected = ok(await call(api, tw, "grid1", "rejectCase", id=(await report(api, tw, "resident", "B1"))["id"],
                             reason="重复上报"))
    for user, name, fields in [("grid1", "acceptCase", {}), ("secretary", "superviseCase", {}),
                               ("secretary", "urgeCase", {"reason": "快"})]:
        err = failed(await call(api, tw, user, name, id=rejected["id"], **fields), "INVALID_TRANSITION")
        assert "rejected" in err["message"], (name, err)
    await assert_unchanged(api, tw, rejected)

    resolved = await resolved_case(api, tw)
    closed = ok(await call(api, tw, "grid1", "closeCase", id=resolved["id"]))
    on_closed: list[tuple[str, str, dict[str, Any]]] = [
        ("grid1", "reopenCase", {"reason": "再办"}), ("grid1", "closeCase", {}),
        ("resident", "giveCaseFeedback", {"satisfied": False, "comment": "不满意"}),
        ("secretary", "escalateCase", {"areaId": area_gid(tw, "C1")})]
    for user, name, fields in on_closed:
        err = failed(await call(api, tw, user, name, id=closed["id"], **fields), "INVALID_TRANSITION")
        assert "closed" in err["message"], (name, err)
    await assert_unchanged(api, tw, closed)


async def test_expected_version_mismatch_is_a_conflict(api: Api, fresh: World) -> None:
    tw = fresh.a
    case = await report(api, tw, "resident", "B1")
    failed(await call(api, tw, "grid1", "acceptCase", id=case["id"], expectedVersion=2), "CONFLICT",
           "expectedVersion")
    await assert_unchanged(api, tw, case)
    case = ok(await call(api, tw, "grid1", "acceptCase", id=case["id"], expectedVersion=1))
    assert case["version"] == 2
    failed(await call(api, tw, "grid1", "dispatchCase", id=case["id"], handlerKind="PROPERTY_FIRM",
                      firmId=firm_gid(tw), expectedVersion=1), "CONFLICT", "expectedVersion")
    await assert_unchanged(api, tw, case)
    case = ok(await call(api, tw, "grid1", "dispatchCase", id=case["id"], handlerKind="PROPERTY_FIRM",
                         firmId=firm_gid(tw), expectedVersion=2))
    assert [e["seq"] for e in case["timeline"]] == [1, 2, 3]


# ---------------------------------------------------------------------------------------------- lists


async def test_firm_lists_assigned_and_served_cases_only(api: Api, fresh: World) -> None:
    tw = fresh.a
    p1 = await report(api, tw, "grid1", "B1")
    p1_compound = await report(api, tw, "chair", "P1")
    p2 = await report(api, tw, "grid2", "B3")
    p3 = await report(api, tw, "grid3", "B4")
    p3_assigned = await dispatch_firm_then_contract_ends(
        api, tw, await accept(api, tw, await report(api, tw, "grid3", "B4"), "grid3"), "P3", "grid3")
    p2_community = await accept(api, tw, await report(api, tw, "secretary", "B3"), "secretary")
    ok(await call(api, tw, "secretary", "dispatchCase", id=p2_community["id"], handlerKind="COMMUNITY",
                  communityId=area_gid(tw, "C1")))

    conn = await listed(api, tw, "firm")
    assert ids(conn) == {p1["id"], p1_compound["id"], p3_assigned["id"]}
    assert conn["totalCount"] == 3
    assert ids(await listed(api, tw, "firm", assigned=True)) == {p3_assigned["id"]}
    for hidden in (p2, p3, p2_community):
        assert await read(api, tw, hidden["id"], "firm") is None
    # Filtered in SQL: pages are full and the cursor continues where the filtered list left off.
    page1 = await listed(api, tw, "firm", first=2)
    assert (len(page1["nodes"]), page1["totalCount"], page1["pageInfo"]["hasNextPage"]) == (2, 3, True)
    page2 = await listed(api, tw, "firm", first=2, after=page1["pageInfo"]["endCursor"])
    assert (len(page2["nodes"]), page2["pageInfo"]["hasNextPage"]) == (1, False)
    assert ids(page1) | ids(page2) == ids(conn)


async def test_resident_lists_own_reports_and_own_compounds_wall(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    await add_resident(db, tw, "neighbour", "P1", "h2a")  # a second resident of P1 (H2, B2)
    mine = await report(api, tw, "resident", "B1", title="我的上报")
    wall = await report(api, tw, "neighbour", "B2", title="邻居的上报")
    other_wall = await report(api, tw, "resident4", "B4", title="湖畔小区的上报")
    by_grid = await report(api, tw, "grid1", "B1", title="网格员上报")
    by_chair = await report(api, tw, "chair", "P1", title="业委会上报")
    assert (wall["onProblemWall"], other_wall["onProblemWall"], by_grid["onProblemWall"],
            by_chair["onProblemWall"]) == (True, True, False, False)
    await accept(api, tw, wall, "grid2")

    conn = await listed(api, tw, "resident")
    assert ids(conn) == {mine["id"], wall["id"]}
    assert conn["totalCount"] == 2
    seen = {n["id"]: n for n in conn["nodes"]}
    assert seen[mine["id"]]["reporter"] == {"username": tw.username("resident")}
    assert seen[mine["id"]]["reportedByMe"] is True
    entry = seen[wall["id"]]
    assert (entry["reporter"], entry["reportedByMe"], entry["state"]) == (None, False, "ACCEPTED")
    assert [(e["action"], e["actor"], e["actorRole"]) for e in entry["timeline"]] == [
        ("report", None, None), ("accept", None, None)]
    for hidden in (other_wall, by_grid, by_chair):
        assert await read(api, tw, hidden["id"], "resident") is None

    assert ids(await listed(api, tw, "resident4")) == {other_wall["id"]}
    neighbour_view = await read(api, tw, mine["id"], "neighbour")
    assert neighbour_view is not None and neighbour_view["reporter"] is None
    assert {e["actor"] is None for e in neighbour_view["timeline"]} == {True}


async def test_list_filters_supervised_overdue_states(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    late = await dispatch_firm(api, tw, await accept(api, tw, await report(api, tw, "grid1", "B1", title="超期")))
    on_time = await accept(api, tw, await report(api, tw, "grid2", "B3", title="未超期"), "grid2")
    on_time = ok(await call(api, tw, "grid2", "dispatchCase", id=on_time["id"], handlerKind="COMMUNITY",
                            communityId=area_gid(tw, "C1")))
    watched = await report(api, tw, "grid2", "B2", title="督办")
    watched = ok(await call(api, tw, "secretary", "superviseCase", id=watched["id"]))
    rejected = ok(await call(api, tw, "secretary", "rejectCase", id=(await report(api, tw, "chair", "P1"))["id"],
                             reason="不属于受理范围"))
    closed_late = await resolved_case(api, tw)
    closed_late = ok(await call(api, tw, "grid1", "closeCase", id=closed_late["id"]))
    outside = await report(api, tw, "grid3", "B4", title="C2 的事件")
    past = datetime.now(UTC) - timedelta(days=2)
    await set_case_times(db, tw, late["id"], due_at=past)
    await set_case_times(db, tw, closed_late["id"], due_at=past)  # closed: not overdue any more

    everything = {late["id"], on_time["id"], watched["id"], rejected["id"], closed_late["id"]}
    assert ids(await listed(api, tw, "secretary")) == everything
    assert ids(await listed(api, tw, "secretary", supervised=True)) == {watched["id"]}
    assert ids(await listed(api, tw, "secretary", supervised=False)) == everything - {watched["id"]}
    overdue = await listed(api, tw, "secretary", overdue=True)
    assert ids(overdue) == {late["id"]}
    assert overdue["nodes"][0]["overdue"] is True
    assert ids(await listed(api, tw, "secretary", overdue=False)) == everything - {late["id"]}
    assert ids(await listed(api, tw, "secretary", states=["REPORTED", "REJECTED"])) == {watched["id"],
                                                                                          rejected["id"]}
    assert ids(await listed(api, tw, "secretary", states=["DISPATCHED"])) == {late["id"], on_time["id"]}
    assert ids(await listed(api, tw, "admin", overdue=True, states=["DISPATCHED"])) == {late["id"]}
    assert outside["id"] in ids(await listed(api, tw, "admin"))


async def test_list_area_filter(api: Api, fresh: World) -> None:
    tw = fresh.a
    b1 = await report(api, tw, "grid1", "B1")
    b2 = await report(api, tw, "grid2", "B2")
    b3 = await report(api, tw, "grid2", "B3")
    p1 = await report(api, tw, "chair", "P1")
    b4 = await report(api, tw, "grid3", "B4")
    assert ids(await listed(api, tw, "admin", areaId=area_gid(tw, "B3"))) == {b3["id"]}
    assert ids(await listed(api, tw, "admin", areaId=area_gid(tw, "P1"))) == {b1["id"], b2["id"], p1["id"]}
    assert ids(await listed(api, tw, "admin", areaId=area_gid(tw, "C1"))) == {b1["id"], b2["id"], b3["id"],
                                                                               p1["id"]}
    assert ids(await listed(api, tw, "admin", areaId=area_gid(tw, "Z1"))) == {b4["id"]}
    # The filter is applied on top of what the actor may read: secretary2 (C2) sees B4, and in P1 only the wall.
    assert ids(await listed(api, tw, "secretary2", areaId=area_gid(tw, "C1"))) == set()
    # grid2 in P1: its B2, and the case at P1 itself (DESIGN.md §8: G2 covers a building of P1); not B1's
    assert ids(await listed(api, tw, "grid2", areaId=area_gid(tw, "P1"))) == {b2["id"], p1["id"]}


async def test_list_area_filter_by_grid_means_its_buildings(api: Api, fresh: World) -> None:
    """A grid covers buildings (DESIGN.md §3: "for a grid: its buildings"), and grid2 may read B2 and B3 cases
    because its grid covers them; `cases(areaId: G2)` must then list the cases in B2 and B3."""
    tw = fresh.a
    b1 = await report(api, tw, "grid1", "B1")
    b2 = await report(api, tw, "grid2", "B2")
    b3 = await report(api, tw, "grid2", "B3")
    at_grid = await report(api, tw, "grid2", "G2")
    assert ids(await listed(api, tw, "grid2")) == {b2["id"], b3["id"], at_grid["id"]}
    assert ids(await listed(api, tw, "admin", areaId=area_gid(tw, "G1"))) == {b1["id"]}
    assert ids(await listed(api, tw, "grid2", areaId=area_gid(tw, "G2"))) == {b2["id"], b3["id"], at_grid["id"]}


# ---------------------------------------------------------------------------------------------- supervision


async def notifications(db: DbEnv, tw: TenantWorld, case_gid: str) -> list[tuple[str, uuid.UUID | None,
                                                                                  uuid.UUID | None]]:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            rows = (await s.execute(select(Notification.kind, Notification.firm_id, Notification.area_id)
                                    .where(Notification.case_id == case_uuid(case_gid))
                                    .order_by(Notification.created_at, Notification.id))).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_supervise_notifies_the_handler_firm(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    case = await dispatch_firm(api, tw, await accept(api, tw, await report(api, tw, "resident", "B1")))
    denied = {"grid1": "FORBIDDEN", "firm": "FORBIDDEN", "chair": "FORBIDDEN", "resident": "FORBIDDEN",
              "secretary2": "FORBIDDEN", **NON_READERS}
    await assert_denied(api, tw, case, "superviseCase", denied)
    f1 = tw.firms["F1"]
    # the reporter hears of the acceptance and the dispatch (issue #22), the firm of the dispatch
    told = [("progress", None, None), ("progress", None, None), ("dispatched", f1, None)]
    assert await notifications(db, tw, case["id"]) == told

    supervised = ok(await call(api, tw, "secretary", "superviseCase", id=case["id"], note="群众反映强烈"))
    assert (supervised["supervised"], supervised["state"], supervised["version"]) == (True, "DISPATCHED", 4)
    assert steps(supervised)[-1] == (4, "supervise", "DISPATCHED", "DISPATCHED", tw.username("secretary"))
    assert await notifications(db, tw, case["id"]) == [*told, ("supervised", f1, None)]
    failed(await call(api, tw, "admin", "superviseCase", id=case["id"]), "CONFLICT")
    await assert_unchanged(api, tw, supervised)
    assert ids(await listed(api, tw, "firm", supervised=True)) == {case["id"]}


async def test_urge_needs_a_reason(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    case = await dispatch_firm(api, tw, await accept(api, tw, await report(api, tw, "resident", "B1")))
    failed(await call(api, tw, "grid1", "urgeCase", id=case["id"], reason="快点"), "FORBIDDEN")
    failed(await call(api, tw, "secretary", "urgeCase", id=case["id"], reason=" "), "INVALID")
    await assert_unchanged(api, tw, case)
    urged = ok(await call(api, tw, "secretary", "urgeCase", id=case["id"], reason="请今日处理"))
    assert (urged["state"], urged["version"], urged["timeline"][-1]["note"]) == ("DISPATCHED", 4, "请今日处理")
    assert steps(urged)[-1] == (4, "urge", "DISPATCHED", "DISPATCHED", tw.username("secretary"))
    assert ("urged", tw.firms["F1"], None) in await notifications(db, tw, case["id"])


async def test_urge_error_names_the_reason_field(api: Api, fresh: World) -> None:
    """UserError.field names "the input field at fault": urgeCase's input has `reason`, not `note`."""
    tw = fresh.a
    case = await report(api, tw, "resident", "B1")
    failed(await call(api, tw, "secretary", "urgeCase", id=case["id"], reason=""), "INVALID", "reason")
    await assert_unchanged(api, tw, case)


async def test_escalate_only_to_an_ancestor_area(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    case = await dispatch_firm(api, tw, await accept(api, tw, await report(api, tw, "resident", "B1")))
    failed(await call(api, tw, "grid1", "escalateCase", id=case["id"], areaId=area_gid(tw, "C1")), "FORBIDDEN")
    for target in (area_gid(tw, "G1"), area_gid(tw, "B2"), area_gid(tw, "B1"), area_gid(tw, "C2"),
                   area_gid(fresh.b, "C1")):
        failed(await call(api, tw, "secretary", "escalateCase", id=case["id"], areaId=target), "INVALID", "areaId")
    await assert_unchanged(api, tw, case)

    up = ok(await call(api, tw, "secretary", "escalateCase", id=case["id"], areaId=area_gid(tw, "C1"),
                       note="需社区协调"))
    assert (up["escalatedTo"], up["supervised"], up["version"]) == ({"id": area_gid(tw, "C1")}, True, 4)
    assert steps(up)[-1] == (4, "escalate", "DISPATCHED", "DISPATCHED", tw.username("secretary"))
    assert ("escalated", None, tw.areas["C1"]) in await notifications(db, tw, case["id"])
    top = ok(await call(api, tw, "admin", "escalateCase", id=case["id"], areaId=area_gid(tw, "S")))
    assert (top["escalatedTo"], top["version"]) == ({"id": area_gid(tw, "S")}, 5)


# ---------------------------------------------------------------------------------------------- input checks


async def test_idempotent_report(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    first = await report(api, tw, "resident", "B1", idempotencyKey="mini-program-42")
    again = await report(api, tw, "resident", "B1", idempotencyKey="mini-program-42")
    assert again["id"] == first["id"]
    assert len(again["timeline"]) == 1
    rows = await scalar_count(db, tw, select(func.count()).select_from(Case).where(
        Case.idempotency_key == "mini-program-42"))
    assert rows == 1
    # The key is the reporter's own: another user's identical key is another case.
    theirs = await report(api, tw, "grid1", "B1", idempotencyKey="mini-program-42")
    assert theirs["id"] != first["id"]
    assert await count_cases(db, tw) == 2


async def test_bad_report_input_changes_nothing(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    base = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "垃圾"}
    failed(await call(api, tw, "resident", "reportCase", **{**base, "category": "ufo"}), "INVALID", "category")
    failed(await call(api, tw, "resident", "reportCase", **{**base, "title": "长" * 101}), "TOO_LONG", "title")
    failed(await call(api, tw, "resident", "reportCase", **{**base, "latitude": 32.9}), "INVALID", "latitude")
    failed(await call(api, tw, "resident", "reportCase", **{**base, "latitude": 95.0, "longitude": 117.0}),
           "INVALID", "latitude")
    both = await call(api, tw, "resident", "reportCase", **{**base, "category": "ufo", "title": "长" * 101})
    assert {(e["code"], e["field"]) for e in both["errors"]} == {("INVALID", "category"), ("TOO_LONG", "title")}

    # Photos must be the actor's own, unused uploads: someone else's upload and an unknown id are refused.
    theirs = uuid7()
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            s.add(Attachment(id=theirs, uploader_user_id=tw.users["grid1"], case_id=None, content_type="image/png",
                             size=8, sha256="0" * 64, storage_key=f"{tw.tenant_id.hex}/{theirs.hex}"))
    for photo in (theirs, uuid7()):
        failed(await call(api, tw, "resident", "reportCase", **base,
                          photoIds=[encode_global_id("Attachment", photo)]), "INVALID", "photoIds")
    assert await count_cases(db, tw) == 0
    still_unused = await scalar_count(db, tw, select(func.count()).select_from(Attachment).where(
        Attachment.id == theirs, Attachment.case_id.is_(None)))
    assert still_unused == 1
    assert (await report(api, tw, "resident", "B1", title="长" * 100))["title"] == "长" * 100


async def test_reports_whose_numbers_collide_both_succeed(api: Api, db: DbEnv, fresh: World,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The case number is the local date and the last 6 hex digits of the id (24 random bits): two reports of a
    day may draw the same digits (for 1000 reports a day, about 3 % of days). That is not the reporter's fault;
    both reports must be recorded, with distinct numbers."""
    tw = fresh.a

    def same_tail() -> uuid.UUID:  # a fresh UUIDv7 whose last 24 bits are always the same
        return uuid.UUID(int=(uuid7().int & ~0xFFFFFF) | 0xABCDEF)

    monkeypatch.setattr("resolvers.cases.report.uuid7", same_tail)
    first = await report(api, tw, "grid1", "B1", title="第一件")
    second = await call(api, tw, "grid1", "reportCase", areaId=area_gid(tw, "B1"), category="garbage", title="第二件")
    assert second["errors"] == []
    assert second["case"]["number"] != first["number"]
    assert await count_cases(db, tw) == 2


# ---------------------------------------------------------------------------------------------- waiting period job


async def test_close_waiting_cases_after_the_waiting_period(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    old = await resolved_case(api, tw)
    recent = await resolved_case(api, tw)
    other_tenant = await resolved_case(api, fresh.b)
    resolved_at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    now = resolved_at + timedelta(days=8)
    await set_case_times(db, tw, old["id"], resolved_at=resolved_at)  # 8 days before now: past the 7 days
    await set_case_times(db, tw, recent["id"], resolved_at=now - timedelta(days=6))
    await set_case_times(db, fresh.b, other_tenant["id"], resolved_at=resolved_at)

    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            events = await close_waiting_cases(Db(s), now=now)
    assert [(e["case_id"], e["action"], e["state"], e["seq"]) for e in events] == [
        (str(case_uuid(old["id"])), "auto_close", "closed", 6)]

    closed = await reread(api, tw, old["id"])
    assert (closed["state"], closed["version"]) == ("CLOSED", 6)
    last = closed["timeline"][-1]
    assert (last["seq"], last["action"], last["fromState"], last["toState"], last["actor"]) == (
        6, "auto_close", "RESOLVED", "CLOSED", None)
    await assert_unchanged(api, tw, recent)
    await assert_unchanged(api, fresh.b, other_tenant)  # the run was bound to one tenant
    # Feedback after the automatic close is a wrong transition.
    failed(await call(api, tw, "resident", "giveCaseFeedback", id=old["id"], satisfied=True), "INVALID_TRANSITION")


async def test_a_case_the_job_closes_is_audited_before_and_after(api: Api, db: DbEnv, fresh: World) -> None:
    """The system's close (no actor) goes through the case machine like a person's, and the audit
    log says what changed: the state resolved → closed and the version, under the case's area."""
    tw = fresh.a
    old = await resolved_case(api, tw)
    resolved_at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    await set_case_times(db, tw, old["id"], resolved_at=resolved_at)
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            await close_waiting_cases(Db(s), now=resolved_at + timedelta(days=8))
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            entries = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "system.closeWaitingCase")))
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.user_id, entry.roles, entry.object_ids) == (None, "system", [str(case_uuid(old["id"]))])
    assert entry.area_path is not None and entry.area_path.startswith("/")
    fields = entry.detail["changes"][0]["fields"]  # type: ignore[index]
    assert fields["state"] == ["resolved", "closed"]
    assert fields["version"] == [5, 6]
    assert fields["closed_at"][0] is None and fields["closed_at"][1] is not None


# ---------------------------------------------------------------------------------------------- node(id:)


async def test_node_for_readers_only_and_never_across_tenants(api: Api, fresh: World) -> None:
    tw = fresh.a
    case = await report(api, tw, "resident", "B1", title="node 测试")
    for user in ("resident", "grid1", "secretary", "admin", "firm", "chair"):
        seen = await read(api, tw, case["id"], user)
        assert seen is not None and seen["title"] == "node 测试", user
        assert seen["reporter"] == {"username": tw.username("resident")}, user
    # grid2 (G2 covers B2 of P1) reads P1's problem wall (DESIGN.md §8): the case anonymised, no reporter
    seen = await read(api, tw, case["id"], "grid2")
    assert seen is not None and (seen["title"], seen["reporter"]) == ("node 测试", None)
    for user in ("grid3", "resident4", "expired", "nobody"):
        assert await read(api, tw, case["id"], user) is None, user
    for user in ("admin", "grid1", "resident"):
        assert await read(api, fresh.b, case["id"], user) is None, user
    # Nor can the other tenant act on it.
    failed(await call(api, fresh.b, "admin", "acceptCase", id=case["id"]), "NOT_FOUND", "id")
    await assert_unchanged(api, tw, case)


# ---------------------------------------------------------------------------------------------- deadlines


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def test_due_in_working_days_across_national_day() -> None:
    # Received Tue 2025-09-30. Oct 1-8 are off; Thu Oct 9 is working day 1, Fri Oct 10 day 2 and the 调休
    # Saturday Oct 11 day 3: due 17:30 that Saturday.
    due = due_time(WorkCalendar(), sh(2025, 9, 30, 10), 3, SlaUnit.WORKING_DAYS)
    assert due == sh(2025, 10, 11, 17, 30)
    assert due.tzinfo is UTC
    # One working day from Friday Sep 26: Sat 27 is off, the 调休 Sunday Sep 28 is worked.
    assert due_time(WorkCalendar(), sh(2025, 9, 26, 16), 1, SlaUnit.WORKING_DAYS) == sh(2025, 9, 28, 17, 30)


def test_due_in_working_hours_across_national_day() -> None:
    cal = WorkCalendar()
    # drainage/HIGH = 8 working hours from Tue 2025-09-30 15:00: 2.5 h that day (to 17:30), then Thu Oct 9:
    # 3 h (09:00-12:00) and 2.5 h from 13:30 -> 16:00.
    assert due_time(cal, sh(2025, 9, 30, 15), 8, SlaUnit.WORKING_HOURS) == sh(2025, 10, 9, 16)
    # 4 working hours from Sat 2025-09-27 10:00 (off): the 调休 Sunday 28th, 09:00-12:00 and 13:30-14:30.
    assert due_time(cal, sh(2025, 9, 27, 10), 4, SlaUnit.WORKING_HOURS) == sh(2025, 9, 28, 14, 30)
    # Calendar hours ignore the calendar.
    assert due_time(cal, sh(2025, 9, 30, 15), 8, SlaUnit.CALENDAR_HOURS) == sh(2025, 9, 30, 23)


def _first_workday_after(cal: WorkCalendar, day: date) -> date:
    d = day + timedelta(days=1)
    while not cal.is_workday(d):
        d += timedelta(days=1)
    return d


async def dispatch_and_bracket(api: Api, tw: TenantWorld, category: str, priority: str, cal: WorkCalendar,
                               amount: float, unit: SlaUnit) -> tuple[datetime, datetime, datetime]:
    """Dispatch a new case now; returns (dueAt, expected due computed just before, and just after the call)."""
    case = await accept(api, tw, await report(api, tw, "grid1", "B1", category=category, priority=priority))
    before = due_time(cal, datetime.now(UTC), amount, unit)
    case = await dispatch_firm(api, tw, case)
    after = due_time(cal, datetime.now(UTC), amount, unit)
    return datetime.fromisoformat(case["dueAt"]), before, after


async def test_dispatch_due_at_follows_the_sla_rule_and_the_tenants_calendar(
        api: Api, db: DbEnv, fresh: World) -> None:
    plain = WorkCalendar()
    # drainage/HIGH: 8 working hours (tenant default rules from provisioning).
    due, lo, hi = await dispatch_and_bracket(api, fresh.a, "drainage", "HIGH", plain, 8, SlaUnit.WORKING_HOURS)
    assert lo <= due <= hi
    # garbage/NORMAL falls back to the default NORMAL rule: 3 working days.
    due, lo, hi = await dispatch_and_bracket(api, fresh.a, "garbage", "NORMAL", plain, 3, SlaUnit.WORKING_DAYS)
    assert lo <= due <= hi
    assert due.astimezone(SHANGHAI).time() == time(17, 30)

    # Tenant a declares its next working day a day off (calendar_overrides); tenant b does not.
    today = datetime.now(SHANGHAI).date()
    day_off = _first_workday_after(plain, today)
    async with db.sessionmaker() as s:
        bind_tenant(s, fresh.a.tenant_id)
        async with s.begin():
            s.add(CalendarOverride(day=day_off, workday=False, note="街道自定休息日"))
            # as setCalendarOverride does: a new calendar version in the same transaction (processes keep
            # the calendar per tenant and version, issue #21)
            await s.execute(update(Tenant).where(Tenant.id == fresh.a.tenant_id)
                            .values(calendar_version=Tenant.calendar_version + 1))
    with_override = WorkCalendar(overrides={day_off: False})
    due_a, lo, hi = await dispatch_and_bracket(api, fresh.a, "garbage", "NORMAL", with_override, 3,
                                               SlaUnit.WORKING_DAYS)
    assert lo <= due_a <= hi
    due_b, lo_b, hi_b = await dispatch_and_bracket(api, fresh.b, "garbage", "NORMAL", plain, 3,
                                                   SlaUnit.WORKING_DAYS)
    assert lo_b <= due_b <= hi_b
    assert due_a > due_b  # the override pushed tenant a's deadline back by a working day
