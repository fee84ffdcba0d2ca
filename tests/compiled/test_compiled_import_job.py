"""The compiled ``importJob(id:)`` (compiled/ledgers.py, issue #21) answers exactly what the resolvers
answer: every job of the tenant asked by every world user (their own; the street admin every one; null
for the others), an id of no job, and the other tenant's job — the same bytes, compiled, one statement.
An id that is not an ImportJob's, or no global ID at all, is the resolvers' error on either path, also
when a plan of the same document is cached already."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from models import ImportJob, ImportStatus
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.compiled import around, both, module_world
from tests.support.harness import Api, DbEnv, World
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")
SELECTION = ("__typename id kind fileName fileSha256 dryRun createAreas status total processed errorRows "
             "createdAreas createdFirms createdContracts createdHouseholds createdPersons unchanged message "
             "createdAt finishedAt")
JOB = f"query Job($id: ID!) {{ importJob(id: $id) {{ {SELECTION} }} }}"
# As bench/mix_ops.py sends it.
BENCH = "query ImportJob($id: ID!) { importJob(id: $id) { id status total processed } }"
EQUIVALENCE_DOCUMENTS = (JOB, BENCH)

OWNERS = ("admin", "grid1", "resident", "admin")


async def _jobs(db: DbEnv, tw: TenantWorld) -> list[str]:
    at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    ids = []
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            for i, who in enumerate(OWNERS):
                job = ImportJob(
                    user_id=tw.users[who], kind="onboarding" if i % 2 else "register", file_name=f"户籍{i}.xlsx",
                    file_sha256=f"{i:064d}", dry_run=i % 2 == 0, create_areas=i == 1, status=tuple(ImportStatus)[i],
                    total=10 * i, processed=5 * i, errors=i % 3, created_areas=i, created_households=2 * i,
                    created_persons=3 * i, unchanged=i % 2, message=None if i % 2 else f'第{i}行 "错误" \\ 说明',
                    created_at=at + timedelta(minutes=i, microseconds=0 if i % 2 else 123456),
                    finished_at=None if i == 0 else at + timedelta(hours=i))
                s.add(job)
                await s.flush()
                ids.append(encode_global_id("ImportJob", job.id))
    return ids


@pytest.fixture(scope="module")
async def job_world(db: DbEnv) -> tuple[World, list[str], list[str]]:
    world = await module_world(db)
    return world, await _jobs(db, world.a), await _jobs(db, world.b)


async def test_import_job_compiles_to_the_resolvers_answer_for_every_user(
        api: Api, job_world: tuple[World, list[str], list[str]]) -> None:
    world, mine, others = job_world
    tw = world.a
    unknown = encode_global_id("ImportJob", uuid.uuid4())
    read: dict[str, int] = {}
    for user in USERS:
        for job in (*mine, others[0], unknown):
            for document in (JOB, BENCH):
                compiled, resolved, taken = await both(api, tw, user, document, {"id": job})
                assert taken and compiled == resolved, (user, job, around(compiled, resolved))
            read[user] = read.get(user, 0) + (orjson.loads(compiled)["data"]["importJob"] is not None)
    assert read["admin"] == len(mine) and read["grid1"] == 1 and read["resident"] == 1 and read["nobody"] == 0, read


async def test_a_bad_import_job_id_is_the_resolvers_error_on_a_new_and_a_reused_plan(
        api: Api, job_world: tuple[World, list[str], list[str]]) -> None:
    world, mine, _ = job_world
    tw = world.a
    bad = (encode_global_id("Case", uuid.uuid4()), "nonsense", "")
    for user in ("admin", "resident", "nobody"):
        compiled, resolved, taken = await both(api, tw, user, JOB, {"id": mine[0]})  # the plan is cached now
        assert taken and compiled == resolved
        for job in bad:
            compiled, resolved, taken = await both(api, tw, user, JOB, {"id": job})
            assert not taken and compiled == resolved and b'"errors"' in compiled, (user, job, compiled)


async def test_a_compiled_import_job_is_one_statement(api: Api, job_world: tuple[World, list[str], list[str]]
                                                      ) -> None:
    world, mine, _ = job_world
    tw = world.a
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:  # a query that needs no statement of its own: the request's start-up alone (policy cached)
        await api.counted(tw, "admin", "query { __typename }")
        _, baseline = await api.counted(tw, "admin", "query { __typename }")
        _, resolved = await api.counted(tw, "admin", JOB, {"id": mine[1]})
    finally:
        state.compiled_reads = True
    counts = [(await api.counted(tw, "admin", JOB, {"id": job}))[1] for job in mine[:2]]
    assert counts == [baseline + 1, baseline + 1] and resolved == baseline + 1, (counts, baseline, resolved)
