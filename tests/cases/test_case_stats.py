"""Review figures (复盘统计, caseStatistics) and recorded reviews (createCaseReview, caseReviews), checked against
counts made by hand over cases inserted with fixed times.

The period is by Asia/Shanghai local dates: April 2026 runs from 2026-03-31 16:00 UTC to 2026-04-30 16:00 UTC.

Sections: fixture data · figures · who may read them · reviews.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from models import Area, Case, CasePriority, CaseState, uuid7
from tenants.session import bind_tenant
from tests.support.cases import area_gid
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

# ---------------------------------------------------------------------------------------------- fixture data

S = CaseState


def utc(m: int, d: int, hh: int = 0, mm: int = 0, y: int = 2026) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


FAR = utc(1, 1, y=2099)  # a due time that is never reached

# key: (area, category, state, created, due, resolved, satisfied, reopen_count) — all times UTC.
CASES: dict[str, tuple[str, str, CaseState, datetime, datetime | None, datetime | None, bool | None, int]] = {
    # --- in C1, April 2026 (local) ---
    "A": ("B1", "drainage", S.CLOSED, utc(4, 2, 1), utc(4, 3, 9), utc(4, 2, 21), True, 0),  # 20 h, on time
    "B": ("B2", "drainage", S.CLOSED, utc(4, 5), utc(4, 6), utc(4, 7), False, 1),  # 48 h, late, reopened once
    "C": ("B3", "garbage", S.RESOLVED, utc(4, 10, 2), utc(4, 15, 9, 30), utc(4, 11, 2), None, 0),  # 24 h, on time
    "D": ("P1", "garbage", S.DISPATCHED, utc(4, 12, 3), utc(4, 14, 9, 30), None, None, 0),  # open, overdue
    "E": ("B1", "noise", S.REJECTED, utc(4, 15, 6), None, None, None, 0),
    "F": ("P2", "lighting", S.IN_PROGRESS, utc(4, 20, 4), FAR, None, None, 0),  # open, not overdue
    "G": ("G1", "garbage", S.REPORTED, utc(4, 25, 8), None, None, None, 0),
    # 2026-03-31 17:00 UTC = 2026-04-01 01:00 in Shanghai: April.
    "H": ("B1", "drainage", S.CLOSED, utc(3, 31, 17), utc(4, 1, 9), utc(4, 1, 5), True, 0),  # 12 h, on time
    "I": ("B2", "noise", S.REOPENED, utc(4, 28), utc(4, 29, 9, 30), None, False, 1),  # open, overdue, reopened
    # --- outside: other months (local), or C2 ---
    "J": ("B1", "drainage", S.CLOSED, utc(3, 31, 15, 59), utc(4, 1, 9), utc(4, 1, 5), True, 0),  # 03-31 23:59
    "K": ("B2", "garbage", S.REPORTED, utc(4, 30, 16), None, None, None, 0),  # 2026-05-01 00:00 local
    "L": ("B4", "drainage", S.CLOSED, utc(4, 10), utc(4, 11), utc(4, 10, 6), True, 0),  # C2
    "M": ("P3", "garbage", S.DISPATCHED, utc(4, 11), utc(4, 12), None, None, 0),  # C2, overdue
}

# Whose verdict it is (DESIGN.md §8, resolvers/cases/verdicts.py): A, B and I were reported by a resident
# (their own verdicts count); the others by a grid leader, whose own feedback is a self-rating (H's True
# does not count). At 回访 staff relayed H's resident as unsatisfied (it counts), and could not reach A's
# (no verdict: A's own stands). key: (callback result, hours after the closure).
RESIDENT_REPORTS = frozenset({"A", "B", "I"})
CALLBACKS: dict[str, tuple[str, int]] = {"A": ("unreachable", 24), "H": ("unsatisfied", 24)}

# Hand count for C1, April 2026: A B C D E F G H I (J and K are in March and May, L and M in C2).
APRIL_C1: dict[str, Any] = {
    "total": 9,
    "byState": [  # sorted by key
        {"key": "closed", "count": 3},  # A B H
        {"key": "dispatched", "count": 1},  # D
        {"key": "in_progress", "count": 1},  # F
        {"key": "rejected", "count": 1},  # E
        {"key": "reopened", "count": 1},  # I
        {"key": "reported", "count": 1},  # G
        {"key": "resolved", "count": 1},  # C
    ],
    "byCategory": [
        {"key": "drainage", "count": 3},  # A B H
        {"key": "garbage", "count": 3},  # C D G
        {"key": "lighting", "count": 1},  # F
        {"key": "noise", "count": 2},  # E I
    ],
    "resolved": 4,  # A B C H have a resolution time
    "resolvedOnTime": 3,  # A C H; B resolved 04-07 after its due 04-06
    "onTimeRate": 0.75,  # 3 / 4 resolved with a due time
    "meanHandlingHours": 26.0,  # (20 + 48 + 24 + 12) / 4 = 104 / 4
    "medianHandlingHours": 22.0,  # sorted 12 20 24 48 -> (20 + 24) / 2
    "withFeedback": 4,  # A B I (their own), H (relayed at 回访; its reporter's own True is a self-rating)
    "satisfied": 1,  # A
    "satisfactionRate": 0.25,  # 1 / 4
    "reopened": 2,  # B I
    "openOverdue": 2,  # D (due 04-14) and I (due 04-29); F is due in 2099, E rejected, G has no due time
}

STATS_FIELDS = """
  total byState { key count } byCategory { key count } resolved resolvedOnTime onTimeRate meanHandlingHours
  medianHandlingHours withFeedback satisfied satisfactionRate reopened openOverdue
"""
STATS = f"""query($area: ID!, $from: Date!, $to: Date!) {{
  caseStatistics(areaId: $area, from: $from, to: $to) {{ {STATS_FIELDS} }}
}}"""
CREATE_REVIEW = f"""mutation($i: CreateCaseReviewInput!) {{
  createCaseReview(input: $i) {{
    review {{ id periodStart periodEnd summary decisions statistics {{ {STATS_FIELDS} }} }}
    errors {{ code field message }}
  }}
}}"""
REVIEWS = "query($area: ID!) { caseReviews(areaId: $area) { id periodStart periodEnd summary statistics { total } } }"
REVIEW_NODE = "query($id: ID!) { node(id: $id) { ... on CaseReview { id summary statistics { total } } } }"


async def insert_cases(db: DbEnv, tw: TenantWorld) -> dict[str, uuid.UUID]:
    """The CASES rows in the tenant, reported by grid1, with area_path copied from the area."""
    out: dict[str, uuid.UUID] = {}
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            paths: dict[uuid.UUID, str] = {aid: path for aid, path in (await s.execute(select(Area.id, Area.path)))}
            for i, (key, (area, category, state, created, due, resolved, satisfied, reopens)) in enumerate(
                    CASES.items()):
                case_id = uuid7()
                closed = resolved if state is S.CLOSED else (created if state is S.REJECTED else None)
                result, after = CALLBACKS.get(key, (None, 0))
                called = None if result is None or closed is None else closed + timedelta(hours=after)
                resident = key in RESIDENT_REPORTS
                s.add(Case(
                    id=case_id, number=f"STAT-{i:03d}", area_id=tw.areas[area], area_path=paths[tw.areas[area]],
                    category_code=category, priority=CasePriority.NORMAL, title=f"统计用例 {key}", description="",
                    state=state, reporter_user_id=tw.users["grid1"], on_wall=False,
                    reporter_role="resident" if resident else "grid_leader", callback_result=result, callback_at=called,
                    supervised=False, reopen_count=reopens, version=1, created_at=created, updated_at=created,
                    due_at=due, resolved_at=resolved, closed_at=closed, satisfied=satisfied,
                ))
                out[key] = case_id
    return out


async def stats(api: Api, tw: TenantWorld, user: str, area: str, start: str, end: str) -> dict[str, Any]:
    body = await api.gql(tw, user, STATS, {"area": area_gid(tw, area), "from": start, "to": end})
    figures: dict[str, Any] = body["data"]["caseStatistics"]
    return figures


def counts(figures: dict[str, Any], field: str) -> dict[str, int]:
    return {kc["key"]: kc["count"] for kc in figures[field]}


# ---------------------------------------------------------------------------------------------- figures


async def test_statistics_equal_the_hand_count(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    await insert_cases(db, tw)
    assert await stats(api, tw, "secretary", "C1", "2026-04-01", "2026-04-30") == APRIL_C1
    assert await stats(api, tw, "admin", "C1", "2026-04-01", "2026-04-30") == APRIL_C1


async def test_period_is_by_local_dates(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    await insert_cases(db, tw)
    march = await stats(api, tw, "admin", "C1", "2026-03-01", "2026-03-31")
    assert (march["total"], counts(march, "byCategory")) == (1, {"drainage": 1})  # J only: 03-31 23:59 local
    may = await stats(api, tw, "admin", "C1", "2026-05-01", "2026-05-31")
    assert (may["total"], counts(may, "byState")) == (1, {"reported": 1})  # K: 05-01 00:00 local
    first_day = await stats(api, tw, "admin", "C1", "2026-04-01", "2026-04-01")
    assert first_day["total"] == 1  # H (2026-04-01 01:00 local)
    # C2 in April: L (closed, 6 h, on time, satisfied) and M (dispatched, overdue).
    c2 = await stats(api, tw, "admin", "C2", "2026-04-01", "2026-04-30")
    assert (c2["total"], c2["resolved"], c2["meanHandlingHours"], c2["openOverdue"], c2["onTimeRate"]) == (
        2, 1, 6.0, 1, 1.0)
    # The street: C1's 9 and C2's 2.
    assert (await stats(api, tw, "admin", "S", "2026-04-01", "2026-04-30"))["total"] == 11
    # A period without cases has no rates.
    empty = await stats(api, tw, "admin", "C1", "2025-01-01", "2025-01-31")
    assert (empty["total"], empty["onTimeRate"], empty["meanHandlingHours"], empty["satisfactionRate"]) == (
        0, None, None, None)


async def test_statistics_of_a_grid_count_the_cases_in_its_buildings(api: Api, db: DbEnv, fresh: World) -> None:
    """A grid covers buildings (DESIGN.md §3): G1's April figures are those of B1 (A E H) and of G1 itself (G)."""
    tw = fresh.a
    await insert_cases(db, tw)
    g1 = await stats(api, tw, "admin", "G1", "2026-04-01", "2026-04-30")
    assert (g1["total"], counts(g1, "byState")) == (4, {"closed": 2, "rejected": 1, "reported": 1})


async def test_bad_period_is_invalid(api: Api, fresh: World) -> None:
    tw = fresh.a
    for start, end in (("2026-04-30", "2026-04-01"), ("2025-01-01", "2026-04-30")):
        body = await api.gql(tw, "admin", STATS, {"area": area_gid(tw, "C1"), "from": start, "to": end},
                             allow_errors=True)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "INVALID", body


# ---------------------------------------------------------------------------------------------- who may read them


async def test_figures_cover_only_what_the_reader_may_see(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    await insert_cases(db, tw)
    april = ("2026-04-01", "2026-04-30")
    # grid1 (scope G1: building B1 and the grid itself): A E G H.
    grid1 = await stats(api, tw, "grid1", "C1", *april)
    assert (grid1["total"], grid1["resolved"], grid1["meanHandlingHours"]) == (4, 2, 16.0)  # (20 + 12) / 2
    # The resident's own compound P1 (public figures): A B D E H I.
    resident = await stats(api, tw, "resident", "C1", *april)
    assert (resident["total"], resident["openOverdue"]) == (6, 2)  # D and I
    # The firm serves P1: the same six.
    assert (await stats(api, tw, "firm", "C1", *april))["total"] == 6
    # Scopes elsewhere see nothing of C1.
    for user in ("grid3", "resident4"):
        assert (await stats(api, tw, user, "C1", *april))["total"] == 0, user
    # No role at all: FORBIDDEN.
    for user in ("nobody", "expired"):
        body = await api.gql(tw, user, STATS, {"area": area_gid(tw, "C1"), "from": april[0], "to": april[1]},
                             allow_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (user, body)
    # Another tenant's area is not found.
    body = await api.gql(fresh.b, "admin", STATS, {"area": area_gid(tw, "C1"), "from": april[0], "to": april[1]},
                         allow_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", body


# ---------------------------------------------------------------------------------------------- reviews


async def test_create_review_records_the_figures(api: Api, db: DbEnv, fresh: World) -> None:
    tw = fresh.a
    await insert_cases(db, tw)
    review_input = {"areaId": area_gid(tw, "C1"), "periodStart": "2026-04-01", "periodEnd": "2026-04-30",
                    "summary": "4月共受理9件，按时办结率75%", "decisions": "排水问题列入5月重点"}
    denied = (await api.gql(tw, "grid1", CREATE_REVIEW, {"i": review_input}))["data"]["createCaseReview"]
    assert (denied["review"], [e["code"] for e in denied["errors"]]) == (None, ["FORBIDDEN"])

    payload = (await api.gql(tw, "secretary", CREATE_REVIEW, {"i": review_input}))["data"]["createCaseReview"]
    assert payload["errors"] == []
    review = payload["review"]
    assert (review["periodStart"], review["periodEnd"], review["summary"], review["decisions"]) == (
        "2026-04-01", "2026-04-30", "4月共受理9件，按时办结率75%", "排水问题列入5月重点")
    assert review["statistics"] == APRIL_C1

    listed = (await api.gql(tw, "secretary", REVIEWS, {"area": area_gid(tw, "C1")}))["data"]["caseReviews"]
    assert [(r["id"], r["periodStart"], r["statistics"]["total"]) for r in listed] == [
        (review["id"], "2026-04-01", 9)]
    assert (await api.gql(tw, "admin", REVIEW_NODE, {"id": review["id"]}))["data"]["node"]["statistics"] == {
        "total": 9}
    assert (await api.gql(tw, "grid1", REVIEWS, {"area": area_gid(tw, "C1")}))["data"]["caseReviews"] == []
    assert (await api.gql(fresh.b, "admin", REVIEW_NODE, {"id": review["id"]}))["data"]["node"] is None

    again = (await api.gql(tw, "admin", CREATE_REVIEW, {"i": {**review_input, "summary": "重复"}})
             )["data"]["createCaseReview"]
    assert (again["review"], [e["code"] for e in again["errors"]]) == (None, ["CONFLICT"])
    listed = (await api.gql(tw, "admin", REVIEWS, {"area": area_gid(tw, "C1")}))["data"]["caseReviews"]
    assert [r["summary"] for r in listed] == ["4月共受理9件，按时办结率75%"]
    # Another period of the same area is a new review, listed newest period first.
    march = {**review_input, "periodStart": "2026-03-01", "periodEnd": "2026-03-31", "summary": "3月"}
    assert (await api.gql(tw, "secretary", CREATE_REVIEW, {"i": march}))["data"]["createCaseReview"]["errors"] == []
    listed = (await api.gql(tw, "secretary", REVIEWS, {"area": area_gid(tw, "C1")}))["data"]["caseReviews"]
    assert [(r["periodStart"], r["statistics"]["total"]) for r in listed] == [("2026-04-01", 9), ("2026-03-01", 1)]


async def test_review_errors_name_input_fields(api: Api, fresh: World) -> None:
    """UserError.field names "the input field at fault"; CreateCaseReviewInput has periodStart/periodEnd (the
    `from`/`to` of the caseStatistics query are no fields of it)."""
    tw = fresh.a
    fields = {"periodStart", "periodEnd"}
    review_input = {"areaId": area_gid(tw, "C1"), "periodStart": "2026-04-01", "periodEnd": "2026-04-30",
                    "summary": "4月"}
    first = (await api.gql(tw, "secretary", CREATE_REVIEW, {"i": review_input}))["data"]["createCaseReview"]
    assert first["errors"] == []
    backwards = {**review_input, "periodStart": "2026-05-31", "periodEnd": "2026-05-01"}
    got: list[tuple[str, str | None]] = []
    for bad in (backwards, review_input):
        payload = (await api.gql(tw, "secretary", CREATE_REVIEW, {"i": bad}))["data"]["createCaseReview"]
        assert payload["review"] is None and len(payload["errors"]) == 1
        got.append((payload["errors"][0]["code"], payload["errors"][0]["field"]))
    assert [code for code, _ in got] == ["INVALID", "CONFLICT"]
    assert all(field in fields for _, field in got), got
