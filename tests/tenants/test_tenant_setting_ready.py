"""/readyz fails when the tenant setting does not reach the rows it guards (issue #27): on a Citus
cluster whose workers never got the transaction's tenant, every request answered 200 with empty lists
and /readyz said ready. Simulated here on PostgreSQL by a check whose setting goes to another name:
row-level security then hides the tenant's root area, as it did on the shards."""

from __future__ import annotations

from typing import Any

import pytest

import tenants.rls as rls
from tests.support.harness import Api, DbEnv, World


async def test_ready_when_the_tenant_setting_reaches_the_rows(api: Api, world: World) -> None:
    r = await api.client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ready"


async def test_not_ready_when_it_does_not(api: Api, db: DbEnv, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    if not db.is_pg:
        pytest.skip("PostgreSQL: row-level security (SQLite has none to guard)")

    def lost(tenant_id: Any) -> str:  # the SET a Citus worker never sees: the policies find no tenant
        return f"SET LOCAL app.not_the_tenant = '{rls.tenant_text(tenant_id)}'"

    monkeypatch.setattr(rls, "set_tenant_sql", lost)
    r = await api.client.get("/readyz")
    assert r.status_code == 503, r.text
    assert r.json()["status"] == "tenant setting not applied"
    assert "does not reach" in r.json()["reason"]


async def test_not_ready_on_citus_without_sequential_multi_shard_modify_mode(db: DbEnv, world: World) -> None:
    if not db.is_pg:
        pytest.skip("PostgreSQL")
    async with db.engine.connect() as conn:
        assert await rls.tenant_setting_problem(conn) is None
        # Citus's setting, as a placeholder variable of the same name: what a coordinator left at its
        # default ('parallel') would show.
        await conn.exec_driver_sql("SET citus.multi_shard_modify_mode = 'parallel'")
        await conn.commit()
        try:
            # held to Citus's settings as on a coordinator (on plain PostgreSQL the extension is not installed)
            problem = await rls.tenant_setting_problem(conn, citus=True)
            # a plain database of a server that preloads citus has the setting too: not held to it
            assert await rls.tenant_setting_problem(conn, citus=False) is None
            # by default the database's own pg_extension decides: a distributed test database
            # (scripts/citus-cluster.sh test) has the extension and is held to it, a plain one is not
            installed = (await conn.exec_driver_sql(
                "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")).scalar()
            await conn.commit()
            assert await rls.tenant_setting_problem(conn) == (problem if installed else None)
        finally:
            await conn.exec_driver_sql("RESET citus.multi_shard_modify_mode")
            await conn.commit()
    assert problem is not None and "sequential" in problem
