"""Helpers of the case tests (事件/诉求): run a case mutation as a world user, walk a case through the loop
(report, accept, dispatch, start, resolve), read and list cases, change rows behind the API's back.
The world is drawn in tests/support/world.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.sql import Select

from models import (
    Case,
    Member,
    RoleAssignment,
    User,
    uuid7,
)
from resolvers.ids import decode_global_id, encode_global_id
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv
from tests.support.world import TenantWorld

CASE_FIELDS = """
fragment C on Case {
  id number title state version reopenCount supervised overdue dueAt category priority onProblemWall reportedByMe
  satisfied feedbackComment handlerKind handlerName rejectReason resolution
  reporter { username }
  escalatedTo { id }
  timeline { seq action fromState toState actor { username } actorRole note attachmentIds }
}
"""

INPUT_TYPES = {
    "reportCase": "ReportCaseInput",
    "acceptCase": "CaseTransitionInput",
    "rejectCase": "CaseReasonInput",
    "dispatchCase": "DispatchCaseInput",
    "startCase": "CaseTransitionInput",
    "resolveCase": "ResolveCaseInput",
    "closeCase": "CaseTransitionInput",
    "reopenCase": "CaseReasonInput",
    "giveCaseFeedback": "CaseFeedbackInput",
    "superviseCase": "CaseTransitionInput",
    "urgeCase": "CaseReasonInput",
    "escalateCase": "EscalateCaseInput",
    "withdrawCase": "WithdrawCaseInput",
}

NODE = CASE_FIELDS + "query($id: ID!) { node(id: $id) { ...C } }"
LIST = CASE_FIELDS + """
query($areaId: ID, $states: [CaseState!], $supervised: Boolean, $overdue: Boolean, $assigned: Boolean,
      $first: Int, $after: String) {
  cases(areaId: $areaId, states: $states, supervised: $supervised, overdue: $overdue, assignedToMe: $assigned,
        first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { ...C }
  }
}
"""

AREA_TYPE = {"S": "Street", "C": "Community", "Z": "Zone", "P": "Compound", "B": "Building", "G": "Grid"}


def area_gid(tw: TenantWorld, key: str) -> str:
    return encode_global_id(AREA_TYPE[key[0]], tw.areas[key])


def firm_gid(tw: TenantWorld) -> str:
    return encode_global_id("PropertyFirm", tw.firms["F1"])


def case_uuid(case_gid: str) -> uuid.UUID:
    return decode_global_id(case_gid, "Case")[1]


async def call(api: Api, tw: TenantWorld, user: str, name: str, **fields: Any) -> dict[str, Any]:
    """Run one case mutation as a world user; returns its payload {case, errors}."""
    doc = CASE_FIELDS + (f"mutation($i: {INPUT_TYPES[name]}!) {{ m: {name}(input: $i) "
                         "{ case { ...C } errors { code field message } } }")
    body = await api.gql(tw, user, doc, {"i": fields})
    payload: dict[str, Any] = body["data"]["m"]
    return payload


def ok(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["errors"] == [], payload["errors"]
    case: dict[str, Any] = payload["case"]
    assert case is not None
    return case


def failed(payload: dict[str, Any], code: str, field: str | None = None) -> dict[str, Any]:
    assert payload["case"] is None, payload
    assert payload["errors"], payload
    err: dict[str, Any] = payload["errors"][0]
    assert err["code"] == code, payload["errors"]
    if field is not None:
        assert err["field"] == field, payload["errors"]
    return err


async def report(api: Api, tw: TenantWorld, user: str, area: str, title: str = "垃圾未清运",
                 category: str = "garbage", **fields: Any) -> dict[str, Any]:
    return ok(await call(api, tw, user, "reportCase", areaId=area_gid(tw, area), category=category, title=title,
                         **fields))


async def read(api: Api, tw: TenantWorld, case_gid: str, user: str = "admin") -> dict[str, Any] | None:
    node: dict[str, Any] | None = (await api.gql(tw, user, NODE, {"id": case_gid}))["data"]["node"]
    return node


async def reread(api: Api, tw: TenantWorld, case_gid: str) -> dict[str, Any]:
    case = await read(api, tw, case_gid)
    assert case is not None
    return case


async def listed(api: Api, tw: TenantWorld, user: str, **variables: Any) -> dict[str, Any]:
    conn: dict[str, Any] = (await api.gql(tw, user, LIST, variables))["data"]["cases"]
    return conn


def ids(conn: dict[str, Any]) -> set[str]:
    return {n["id"] for n in conn["nodes"]}


def steps(case: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The timeline as (seq, action, from, to, actor username)."""
    return [(e["seq"], e["action"], e["fromState"], e["toState"], (e["actor"] or {}).get("username"))
            for e in case["timeline"]]


async def assert_unchanged(api: Api, tw: TenantWorld, before: dict[str, Any]) -> None:
    after = await reread(api, tw, before["id"])
    assert (after["state"], after["version"], len(after["timeline"])) == (
        before["state"], before["version"], len(before["timeline"]))


async def assert_denied(api: Api, tw: TenantWorld, case: dict[str, Any], name: str, expected: dict[str, str],
                        **fields: Any) -> None:
    """Each user gets the expected error code for the action; the case is unchanged afterwards."""
    got = {}
    for user in expected:
        payload = await call(api, tw, user, name, id=case["id"], **fields)
        got[user] = payload["errors"][0]["code"] if payload["errors"] else "OK"
    assert got == expected, name
    await assert_unchanged(api, tw, case)


async def accept(api: Api, tw: TenantWorld, case: dict[str, Any], user: str = "grid1") -> dict[str, Any]:
    return ok(await call(api, tw, user, "acceptCase", id=case["id"]))


async def dispatch_firm(api: Api, tw: TenantWorld, case: dict[str, Any], user: str = "grid1") -> dict[str, Any]:
    return ok(await call(api, tw, user, "dispatchCase", id=case["id"], handlerKind="PROPERTY_FIRM",
                         firmId=firm_gid(tw)))


async def dispatch_firm_then_contract_ends(api: Api, tw: TenantWorld, case: dict[str, Any], compound: str,
                                           user: str = "grid1") -> dict[str, Any]:
    """Dispatch to F1 a case of a compound F1 does not serve: since issue #23 only a firm serving the
    compound that day is dispatched to, so F1 gets a contract from yesterday, is dispatched to, and the
    contract then ends yesterday — the case stays assigned to a firm that no longer serves it."""
    from datetime import UTC, datetime, timedelta

    from resolvers.ids import encode_global_id

    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    made = (await api.gql(tw, "admin", """mutation($i: CreateServiceContractInput!) {
        createServiceContract(input: $i) { serviceContract { id } errors { code } } }""", {"i": {
        "firmId": firm_gid(tw), "compoundId": encode_global_id("Compound", tw.areas[compound]),
        "validFrom": yesterday}}))["data"]["createServiceContract"]
    assert made["errors"] == [], made
    dispatched = await dispatch_firm(api, tw, case, user)
    ended = (await api.gql(tw, "admin", """mutation($i: EndServiceContractInput!) {
        endServiceContract(input: $i) { errors { code } } }""", {"i": {
        "id": made["serviceContract"]["id"], "validUntil": yesterday}}))["data"]["endServiceContract"]
    assert ended["errors"] == [], ended
    return dispatched


async def start(api: Api, tw: TenantWorld, case: dict[str, Any], user: str = "firm") -> dict[str, Any]:
    return ok(await call(api, tw, user, "startCase", id=case["id"]))


async def resolve(api: Api, tw: TenantWorld, case: dict[str, Any], user: str = "firm") -> dict[str, Any]:
    return ok(await call(api, tw, user, "resolveCase", id=case["id"], resolution="已疏通"))


async def resolved_case(api: Api, tw: TenantWorld, reporter: str = "resident", area: str = "B1") -> dict[str, Any]:
    """A case reported in B1 (G1, P1), accepted and dispatched to F1 by grid1, handled by the firm."""
    case = await report(api, tw, reporter, area)
    case = await dispatch_firm(api, tw, await accept(api, tw, case))
    return await resolve(api, tw, await start(api, tw, case))


async def scalar_count(db: DbEnv, tw: TenantWorld, stmt: Select[Any]) -> int:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            return int(await s.scalar(stmt) or 0)


async def count_cases(db: DbEnv, tw: TenantWorld) -> int:
    return await scalar_count(db, tw, select(func.count()).select_from(Case))


async def add_resident(db: DbEnv, tw: TenantWorld, key: str, scope: str, person: str) -> None:
    """A second resident account (resident role over ``scope``) living as ``person``."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            u = User(id=uuid7(), username=tw.username(key), display_name=f"{tw.slug} {key}")
            s.add(u)
            await s.flush()
            s.add(RoleAssignment(user_id=u.id, role="resident", scope_area_id=tw.areas[scope],
                                 valid_from=datetime(2024, 1, 1, tzinfo=UTC)))
            s.add(Member(user_id=u.id, person_id=tw.persons[person]))
    tw.users[key] = u.id


async def set_case_times(db: DbEnv, tw: TenantWorld, case_gid: str, **values: Any) -> None:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            await s.execute(update(Case).where(Case.id == case_uuid(case_gid)).values(**values))


async def copy_cases(db: DbEnv, tenant_id: uuid.UUID, n: int, where: str, params: dict[str, Any] | None = None, *,
                     on_wall: str = "g % 2 = 0", title: str = "c.title") -> int:
    """``n`` copies of each case of the tenant that ``where`` (SQL over ``c`` and ``params``) picks, as the owner —
    the plan tests' many open cases; the copy ``g`` (1 … n) numbered ``<number>-g``, on the wall by ``on_wall``
    and titled by ``title`` (SQL over ``c`` and ``g``). Returns the rows written. Citus refuses such an
    ``INSERT … SELECT`` under row-level security (tests.support.citus.FILLER_REFUSED)."""
    from sqlalchemy import text

    from tenants.rls import set_tenant_sql

    async with db.owner_engine.begin() as conn:
        await conn.execute(text(set_tenant_sql(tenant_id)))
        copied = await conn.execute(text(
            "INSERT INTO cases (number, area_id, area_path, category_code, priority, title, description, state, "
            "reporter_user_id, reporter_role, on_wall, supervised, reopen_count, version, updated_at, tenant_id, id, "
            "created_at, closure_flagged, return_count, source, due_at) "
            f"SELECT c.number || '-' || g, c.area_id, c.area_path, c.category_code, c.priority, {title}, "
            f"c.description, c.state, c.reporter_user_id, c.reporter_role, {on_wall}, c.supervised, 0, 1, "
            "c.updated_at, c.tenant_id, gen_random_uuid(), c.created_at, false, 0, c.source, c.due_at "
            f"FROM cases c CROSS JOIN generate_series(1, :n) g WHERE c.tenant_id = :t AND ({where})"),
            {**(params or {}), "n": n, "t": tenant_id})
        return int(copied.rowcount)
