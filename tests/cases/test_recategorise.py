"""recategoriseCase (改类, issue #23): the dispatchers (case · recategorise: grid leader in scope,
party secretary by inheritance, street admin) move an open case to another active category; the
state stays, the version moves, the timeline and the audit log keep the old and the new category;
others are refused, a finished case keeps its category, bad input changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from models import AuditEntry
from tenants.session import bind_tenant
from tests.support.cases import (
    INPUT_TYPES,
    accept,
    assert_denied,
    assert_unchanged,
    call,
    case_uuid,
    failed,
    ok,
    report,
    resolved_case,
)
from tests.support.harness import Api, DbEnv, World

INPUT_TYPES.setdefault("recategoriseCase", "RecategoriseCaseInput")


async def test_dispatchers_recategorise_an_open_case(api: Api, fresh: World, db: DbEnv) -> None:
    a = fresh.a
    case = await report(api, a, "resident", "B1", title="下水道冒水", category="garbage")
    done = ok(await call(api, a, "grid1", "recategoriseCase", id=case["id"], category="drainage", note="实为管道堵塞",
                         expectedVersion=case["version"]))
    assert (done["category"], done["state"], done["version"]) == ("drainage", "REPORTED", case["version"] + 1)
    last = done["timeline"][-1]
    assert (last["action"], last["fromState"], last["toState"], last["note"]) == (
        "recategorise", "REPORTED", "REPORTED", "实为管道堵塞")
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            entry = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "recategoriseCase"))).one()
    assert str(case_uuid(case["id"])) in entry.object_ids
    fields = {k: v for c in entry.detail["changes"] for k, v in c["fields"].items()}
    assert fields["category_code"] == ["garbage", "drainage"]
    # accepted (still open): the community's secretary and the street admin may too
    accepted = await accept(api, a, done)
    again = ok(await call(api, a, "secretary", "recategoriseCase", id=accepted["id"], category="garbage"))
    assert (again["category"], again["state"]) == ("garbage", "ACCEPTED")
    assert ok(await call(api, a, "admin", "recategoriseCase", id=again["id"], category="drainage"))[
        "category"] == "drainage"


async def test_who_may_not_and_when_not(api: Api, fresh: World) -> None:
    a = fresh.a
    case = await report(api, a, "resident", "B1")
    # the reporter, the chair and the firm (who read it) may not; grid2, whose grid touches B1's compound,
    # sees the case on that compound's wall (DESIGN.md §8) but may not recategorise it; grid3 (elsewhere),
    # the other community's secretary and another tenant do not see it
    await assert_denied(api, a, case, "recategoriseCase", {
        "resident": "FORBIDDEN", "chair": "FORBIDDEN", "firm": "FORBIDDEN", "grid2": "FORBIDDEN", "grid3": "NOT_FOUND",
        "secretary2": "FORBIDDEN", "expired": "NOT_FOUND", "nobody": "NOT_FOUND"}, category="drainage")
    failed(await call(api, fresh.b, "admin", "recategoriseCase", id=case["id"], category="drainage"), "NOT_FOUND")
    # bad input: unknown category, the same category, a long note, a stale version
    failed(await call(api, a, "grid1", "recategoriseCase", id=case["id"], category="nope"), "INVALID", "category")
    failed(await call(api, a, "grid1", "recategoriseCase", id=case["id"], category="garbage"), "INVALID", "category")
    failed(await call(api, a, "grid1", "recategoriseCase", id=case["id"], category="drainage", note="理" * 1001),
           "TOO_LONG", "note")
    failed(await call(api, a, "grid1", "recategoriseCase", id=case["id"], category="drainage",
                      expectedVersion=case["version"] + 3), "CONFLICT", "expectedVersion")
    await assert_unchanged(api, a, case)
    # a resolved case keeps its category
    done = await resolved_case(api, a)
    failed(await call(api, a, "admin", "recategoriseCase", id=done["id"], category="drainage"),
           "INVALID_TRANSITION")
    await assert_unchanged(api, a, done)
