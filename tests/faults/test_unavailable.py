"""The database refusing connections, and a lock held longer than the statement timeout (issue #26):
every route answers 503 SERVICE_UNAVAILABLE in the GraphQL error shape, with Retry-After and the
client's X-Request-Id; /readyz is 503 while requests cannot be served; once the database is back the
next requests succeed without a restart (and before any /readyz); nothing is written twice or lost."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import text

from models import uuid7
from resolvers.ids import encode_global_id
from tests.support.faults import KINDS, FaultDb, answered, app_on, report, reported, request, unavailable, warm


async def test_refused_connections_answer_503_on_every_route_then_recover(fdb: FaultDb) -> None:
    tw = fdb.tw
    async with app_on(fdb, platform_api=True, migration_database_url=fdb.owner_proxy_url) as app:
        api = app.api
        case_gid = reported(await report(api, tw, f"seed-{uuid.uuid4().hex}"))
        await warm(app, tw, case_gid)
        before = await fdb.cases()
        await fdb.proxy.refuse()  # down: every connection cut, every new one refused
        try:
            for kind in KINDS:  # GraphQL: the general path (report, me) and the compiled one (node)
                rid = f"fault-refused-{kind}"
                unavailable(await request(api, tw, kind, case_gid=case_gid, key=f"refused-{kind}",
                                          headers={"X-Request-Id": rid}), rid)
            admin = {"authorization": f"Bearer {api.token(tw, 'admin')}"}
            photo = encode_global_id("Attachment", uuid7())
            for path in (f"/uploads/{photo}", "/ledgers/register.xlsx"):
                rid = f"fault-refused-{path.split('/')[1]}"
                unavailable(await api.client.get(path, headers={**admin, "x-request-id": rid}), rid)
            platform = {"authorization": f"Bearer {api.token(tw, 'admin', platform='admin')}",
                        "x-request-id": "fault-refused-platform"}
            unavailable(await api.client.post("/platform/graphql", json={"query": "{ tenants { slug } }"},
                                              headers=platform), "fault-refused-platform")
            ready = await api.client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["status"] == "unavailable", ready.text
            assert 1 <= int(ready.headers["retry-after"]) <= 5
        finally:
            await fdb.proxy.accept()
        # Back: the next requests are served, no restart and no /readyz first.
        for kind in KINDS:
            answered(await request(api, tw, kind, case_gid=case_gid, key=f"back-{uuid.uuid4().hex}"))
        r = await api.client.post("/platform/graphql", json={"query": "{ tenants { slug } }"}, headers=platform)
        assert r.status_code == 200 and tw.slug in {t["slug"] for t in r.json()["data"]["tenants"]}, r.text
        ready = await api.client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert await fdb.cases() == before + 1  # the refused report wrote nothing; the one after, one case


@pytest.mark.parametrize(("statement_ms", "lock_ms", "waited"), [(1000, 0, 1.0), (5000, 400, 0.4)])
async def test_a_request_blocked_by_a_lock_answers_503_after_the_timeout(fdb: FaultDb, statement_ms: int,
                                                                         lock_ms: int, waited: float) -> None:
    tw = fdb.tw
    async with app_on(fdb) as app:
        api = app.api
        case_gid = reported(await report(api, tw, f"seed-{uuid.uuid4().hex}"))
        # Warmed at the default timeouts: warm() sends 8 requests at once on new connections, and in CI one of
        # them once ran past a 1 s statement timeout with no lock held (503 in the warm-up, not the subject here).
        # A request reads the timeouts from the app's settings as it begins (its first statement sets them), so
        # the timeouts under test apply from the locked requests on; `took` below shows they do.
        await warm(app, tw, case_gid)
        warmed = app.state.settings
        app.state.settings = warmed.model_copy(update={"db_statement_timeout_ms": statement_ms,
                                                        "db_lock_timeout_ms": lock_ms})
        before = await fdb.cases()
        key = f"locked-{uuid.uuid4().hex}"
        async with fdb.owner_engine.connect() as owner:
            await owner.execute(text("LOCK TABLE cases IN ACCESS EXCLUSIVE MODE"))  # held until the rollback
            for kind in ("report", "node"):  # a write (general path) and a compiled read
                rid = f"fault-lock-{kind}"
                started = time.monotonic()
                r = await request(api, tw, kind, case_gid=case_gid, key=key, headers={"X-Request-Id": rid})
                took = time.monotonic() - started
                unavailable(r, rid)
                assert waited * 0.9 <= took < waited + 2.0, took
            # What does not need the locked table is served meanwhile.
            answered(await request(api, tw, "me", case_gid=case_gid, key=key))
            await owner.rollback()
        app.state.settings = warmed
        # The lock is gone: the same report (same key) is made once; the pool's connections still work.
        reported(await report(api, tw, key))
        reported(await report(api, tw, key))
        answered(await request(api, tw, "node", case_gid=case_gid, key=key))
        assert await fdb.cases() == before + 1
