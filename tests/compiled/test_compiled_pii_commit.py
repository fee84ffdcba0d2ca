"""The commit of a compiled page read in full (issue #21, persons and households): on the driver path the
audit entry of the full reads goes in the read's own DriverTransaction, and the ORM session — which sent
nothing — is not committed (its commit was ≈ 0.15 ms of a 20-person page); the first request, compiled
on an ORM session's connection, still commits that session. Either way the audit row is durable, once per
request, and the answer is the resolvers' byte for byte."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from tenants.rls import set_tenant_sql
from tests.support.compiled import around, both, compiled_statements, module_tenant
from tests.support.harness import Api, DbEnv
from tests.support.world import TenantWorld

PERSONS = "query { persons(first: 50) { nodes { id name piiMasked phone idCardNo careTags } } }"
HOUSEHOLDS = "query { households(first: 50) { nodes { id room persons { id name piiMasked phone } } } }"


@pytest.fixture(scope="module")
async def tenant(db: DbEnv) -> TenantWorld:
    return await module_tenant(db)


@contextmanager
def counted_commits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Each ORM session commit: whether the session held a connection of its own."""
    calls: list[bool] = []
    real = AsyncSession.commit

    async def spy(self: AsyncSession) -> None:
        tx = self.sync_session._transaction
        calls.append(bool(tx is not None and tx._connections))
        await real(self)

    with monkeypatch.context() as m:
        m.setattr(AsyncSession, "commit", spy)
        yield calls


async def _reads(db: DbEnv, tw: TenantWorld) -> list[tuple[Any, ...]]:
    async with db.owner_engine.connect() as c, c.begin():
        await c.execute(sa.text(set_tenant_sql(tw.tenant_id)))
        rows = await c.execute(sa.text(
            "SELECT user_id, roles, action, object_type, object_ids::text, detail::text FROM audit_log "
            "WHERE tenant_id = :t AND action = 'person.read_pii' ORDER BY created_at, id"), {"t": tw.tenant_id})
        return [tuple(r) for r in rows]


@pytest.mark.parametrize("query", [PERSONS, HOUSEHOLDS], ids=["persons", "households"])
async def test_a_full_read_on_the_driver_commits_no_orm_session(api: Api, db: DbEnv, tenant: TenantWorld,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                query: str) -> None:
    tw = tenant
    token = api.token(tw, "grid1")
    before = await _reads(db, tw)
    with counted_commits(monkeypatch) as first_commits, compiled_statements() as first:
        r0 = await api.post(query, token=token)  # the plan made, on an ORM session's connection
    assert [m is not None for m in first] == [True] and "errors" not in r0.json(), r0.text
    assert first_commits == [True], first_commits  # that session's connection: committed as before
    with counted_commits(monkeypatch) as commits, compiled_statements() as made:
        r = await api.post(query, token=token)  # the plan reused: the driver path
    assert [m is not None for m in made] == [True]
    assert commits == [], commits
    assert r.content == r0.content
    rows = (await _reads(db, tw))[len(before):]
    assert len(rows) == 2 and rows[0] == rows[1] and rows[0][4] != "[]", rows  # one durable entry each
    compiled, resolved, taken = await both(api, tw, "grid1", query, {})
    assert taken and compiled == resolved == orjson.dumps(r.json()), around(compiled, resolved)
