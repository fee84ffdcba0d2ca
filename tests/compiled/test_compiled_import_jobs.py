"""The compiled import-job list (compiled/ledgers.py, issue #21) answers exactly what the resolvers answer.

Every world user sends the list compiled, then through strawberry's resolvers, page by page by the
cursors; both bodies must be the same bytes and the compiled path must have been taken. The jobs
belong to several users (each reads their own; the street admin all), of both kinds and several
statuses, with and without a finish time, times with and without microseconds, a message with
quotes and a backslash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from models import ImportJob, ImportStatus
from tenants.session import bind_tenant
from tests.support.compiled import around, both, module_tenant, walk_pages
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")
SELECTION = ("__typename id kind fileName fileSha256 dryRun createAreas status total processed errorRows "
             "createdAreas createdFirms createdContracts createdHouseholds createdPersons unchanged message "
             "createdAt finishedAt")
JOBS = f"""
query Jobs($first: Int, $after: String) {{
  importJobs(first: $first, after: $after) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {SELECTION} }} }}
    nodes {{ id status }}
  }}
}}
"""
# As bench/mix_ops.py sends it.
BENCH = """query ImportJobs { importJobs(first: 20) { totalCount pageInfo { hasNextPage endCursor }
  nodes { id fileName status total processed createdAt } } }"""
EQUIVALENCE_DOCUMENTS = (JOBS, BENCH)

OWNERS = ("admin", "admin", "grid1", "admin", "resident", "grid1", "admin")
STATUSES = tuple(ImportStatus)


@pytest.fixture(scope="module")
async def job_tenant(db: DbEnv) -> TenantWorld:
    tw = await module_tenant(db)
    at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            for i, who in enumerate(OWNERS):
                status = STATUSES[i % len(STATUSES)]
                s.add(ImportJob(
                    user_id=tw.users[who], kind="onboarding" if i % 3 == 2 else "register",
                    file_name=f"户籍{i}.xlsx", file_sha256=f"{i:064d}", dry_run=i % 2 == 0, create_areas=i % 4 == 1,
                    status=status, total=10 * i, processed=5 * i, errors=i % 3, created_areas=i,
                    created_households=2 * i,
                    created_persons=3 * i, unchanged=i % 2, message=None if i % 2 else f'第{i}行 "错误" \\ 说明',
                    created_at=at + timedelta(minutes=i, microseconds=0 if i % 2 else 123456),
                    finished_at=None if i % 3 == 0 else at + timedelta(hours=i)))
    return tw


async def test_import_jobs_compile_to_the_resolvers_answer_for_every_user(api: Api, job_tenant: Any) -> None:
    tw = job_tenant
    pages: dict[str, int] = {}
    for user in USERS:
        for variables in ({}, {"first": 0}, {"first": 100}):
            compiled, resolved, taken = await both(api, tw, user, JOBS, variables)
            assert taken and compiled == resolved, (user, variables, around(compiled, resolved))
        compiled, resolved, taken = await both(api, tw, user, BENCH, {})
        assert taken and compiled == resolved, (user, around(compiled, resolved))
        pages[user] = await walk_pages(api, tw, user, JOBS, "importJobs", {"first": 2})
    assert pages["admin"] == 4 and pages["grid1"] == 1, pages  # all 7 jobs by twos; grid1's own 2

    body = orjson.loads((await both(api, tw, "admin", JOBS, {"first": 100}))[0])["data"]["importJobs"]
    assert body["totalCount"] == len(OWNERS) and {n["status"] for n in body["nodes"]} == {s.name for s in STATUSES}
    mine = orjson.loads((await both(api, tw, "grid1", JOBS, {"first": 100}))[0])["data"]["importJobs"]
    assert mine["totalCount"] == OWNERS.count("grid1")
    nothing = orjson.loads((await both(api, tw, "nobody", JOBS, {}))[0])["data"]["importJobs"]
    assert nothing["totalCount"] == 0


async def test_a_bad_import_jobs_argument_is_the_resolvers_error_either_way(api: Api, job_tenant: Any) -> None:
    tw = job_tenant
    for user in ("admin", "resident"):
        for variables in ({"first": 101}, {"first": -1}, {"after": "not-a-cursor"}):
            compiled, resolved, _ = await both(api, tw, user, JOBS, variables)
            assert compiled == resolved and b'"errors"' in compiled, (user, variables, compiled)
    # reportUrl is not compiled: the request runs through strawberry
    compiled, resolved, taken = await both(api, tw, "admin", "{ importJobs { nodes { reportUrl } } }", {})
    assert compiled == resolved and not taken


async def test_a_compiled_import_job_list_is_one_statement(api: Api, job_tenant: Any) -> None:
    tw = job_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    await api.counted(tw, "admin", "query { __typename }")  # the tenant's policy read once, before counting
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", JOBS, {"first": 50})
    finally:
        state.compiled_reads = True
    counts = [(await api.counted(tw, "admin", JOBS, {"first": first}))[1] for first in (1, 50)]
    assert counts == [baseline + 1, baseline + 1], (counts, baseline)
    assert resolved > baseline + 1, resolved
