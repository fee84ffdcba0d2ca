"""withdrawCase (撤回, issue #23): the reporter takes back a report nobody has accepted yet — the state
machine, the policy line (case · withdraw · own_reports, inherited by every role), the timeline, the
audit entry, exactly one winner against an acceptance at the same moment, and bad input changing
nothing."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from models import AuditEntry
from tenants.session import bind_tenant
from tests.support.cases import (
    accept,
    assert_denied,
    assert_unchanged,
    call,
    case_uuid,
    failed,
    ok,
    report,
    reread,
    steps,
)
from tests.support.harness import Api, DbEnv, World


async def test_the_reporter_withdraws_a_report_nobody_accepted(api: Api, fresh: World, db: DbEnv) -> None:
    a = fresh.a
    case = await report(api, a, "resident", "B1", title="楼道灯不亮")
    done = ok(await call(api, a, "resident", "withdrawCase", id=case["id"], reason="已自行修好"))
    assert done["state"] == "WITHDRAWN" and done["version"] == case["version"] + 1
    assert steps(done)[-1][:3] == (2, "withdraw", "REPORTED") and done["timeline"][-1]["note"] == "已自行修好"
    # final: nothing moves it on, and the reporter cannot withdraw it twice
    failed(await call(api, a, "grid1", "acceptCase", id=case["id"]), "INVALID_TRANSITION")
    failed(await call(api, a, "resident", "withdrawCase", id=case["id"]), "INVALID_TRANSITION")
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            entries = list(await s.scalars(select(AuditEntry).where(AuditEntry.action.like("%withdraw%"))))
    # the withdrawal (naming the case) and the refused second attempt, audited too (naming nothing)
    done = [e for e in entries if e.object_ids]
    assert len(entries) == 2 and len(done) == 1, [(e.action, e.object_ids) for e in entries]
    assert (done[0].action, done[0].user_id) == ("withdrawCase", a.users["resident"])
    assert str(case_uuid(case["id"])) in done[0].object_ids
    # a staff member withdraws their own report the same way (the line is inherited up the chain)
    own = await report(api, a, "grid1", "B1", title="井盖松动")
    assert ok(await call(api, a, "grid1", "withdrawCase", id=own["id"]))["state"] == "WITHDRAWN"


async def test_only_the_reporter_and_only_before_acceptance(api: Api, fresh: World) -> None:
    a = fresh.a
    case = await report(api, a, "resident", "B1")
    # staff who may accept, reject or close it may still not withdraw someone else's report
    await assert_denied(api, a, case, "withdrawCase", {"grid1": "FORBIDDEN", "admin": "FORBIDDEN",
                                                       "secretary": "FORBIDDEN"})
    # a neighbour does not even see it (NOT_FOUND), another tenant's user neither
    failed(await call(api, a, "resident4", "withdrawCase", id=case["id"]), "NOT_FOUND")
    failed(await call(api, fresh.b, "resident", "withdrawCase", id=case["id"]), "NOT_FOUND")
    accepted = await accept(api, a, case)
    failed(await call(api, a, "resident", "withdrawCase", id=accepted["id"]), "INVALID_TRANSITION")
    await assert_unchanged(api, a, accepted)


async def test_bad_input_changes_nothing(api: Api, fresh: World) -> None:
    a = fresh.a
    case = await report(api, a, "resident", "B1")
    failed(await call(api, a, "resident", "withdrawCase", id=case["id"], reason="理" * 2001), "TOO_LONG", "reason")
    failed(await call(api, a, "resident", "withdrawCase", id=case["id"], expectedVersion=case["version"] + 5),
           "CONFLICT")
    await assert_unchanged(api, a, case)


async def test_withdrawal_and_acceptance_at_once_one_wins(api: Api, fresh: World, db: DbEnv) -> None:
    a = fresh.a
    doc = ("mutation($i: {t}!) {{ m: {n}(input: $i) {{ case {{ state version }} errors {{ code }} }} }}")

    async def attempt(user: str, name: str, kind: str, case: dict[str, object]) -> dict[str, object]:
        body = await api.gql(a, user, doc.format(t=kind, n=name),
                             {"i": {"id": case["id"], "expectedVersion": case["version"]}}, allow_errors=True)
        if "errors" in body:  # SQLite's one writer: the loser may be told to retry (503), never worse
            assert not db.is_pg and body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE", body
            return {"case": None, "errors": [{"code": "SERVICE_UNAVAILABLE"}]}
        payload: dict[str, object] = body["data"]["m"]
        return payload

    for _ in range(3):
        case = await report(api, a, "resident", "B1")
        withdrawn, accepted = await asyncio.gather(attempt("resident", "withdrawCase", "WithdrawCaseInput", case),
                                                   attempt("grid1", "acceptCase", "CaseTransitionInput", case))
        winners = [p for p in (withdrawn, accepted) if not p["errors"]]
        assert len(winners) == 1, (withdrawn, accepted)
        loser = accepted if winners[0] is withdrawn else withdrawn
        assert loser["errors"][0]["code"] in ("CONFLICT", "INVALID_TRANSITION", "SERVICE_UNAVAILABLE"), loser  # type: ignore[index]
        after = await reread(api, a, case["id"])
        assert after["state"] == winners[0]["case"]["state"] and after["version"] == case["version"] + 1  # type: ignore[index]
