"""Agreements past their end date are marked expired by the periodic job (access already stopped
on that date); the others keep their status."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from gongzhi.jobs import run_everywhere
from gongzhi.modules.cobuilding import EXPIRE_AGREEMENTS
from tests.support.cobuilding import community, make_agreement, make_unit

# The module's own `db`, `world`, `api`: the expiry job goes through every tenant
# (tests/support/databases.py; CI time, issue #21).
from tests.support.databases import module_api, module_db, module_world  # noqa: F401
from tests.support.harness import Api, DbEnv, World

STATUS = "query($id: ID!) { node(id: $id) { ... on Agreement { status inForce } } }"


async def test_the_job_expires_agreements_past_their_end(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    unit = await make_unit(api, a, "建峰小学", 1)
    today = datetime.now(UTC).date()
    ending = await make_agreement(api, a, unit, [community(a, "C1")], valid_from=date(2020, 1, 1),
                                  valid_until=today + timedelta(days=3))
    lasting = await make_agreement(api, a, unit, [community(a, "C1")], valid_from=date(2020, 1, 1),
                                   valid_until=today + timedelta(days=30))
    later = datetime.now(UTC) + timedelta(days=5)
    expired = await run_everywhere(db.sessionmaker, EXPIRE_AGREEMENTS, now=later)
    assert expired.get(a.slug) == 1 and fresh.b.slug not in expired
    got = {aid: (await api.gql(a, "admin", STATUS, {"id": aid}))["data"]["node"] for aid in (ending, lasting)}
    assert got[ending]["status"] == "EXPIRED" and got[ending]["inForce"] is False
    assert got[lasting]["status"] == "ACTIVE" and got[lasting]["inForce"] is True
    assert await run_everywhere(db.sessionmaker, EXPIRE_AGREEMENTS, now=later) == {}  # once only


async def test_each_expiry_is_audited_before_and_after(api: Api, db: DbEnv, fresh: World) -> None:
    """The job moves each agreement through the agreement machine and writes what changed: status
    active → expired and the version, by the system (no user)."""
    from sqlalchemy import select

    from models import AuditEntry
    from resolvers.ids import decode_global_id
    from tenants.session import bind_tenant

    a = fresh.a
    unit = await make_unit(api, a, "建峰中学", 2)
    today = datetime.now(UTC).date()
    ending = await make_agreement(api, a, unit, [community(a, "C1")], valid_from=date(2020, 1, 1),
                                  valid_until=today + timedelta(days=3))
    assert (await run_everywhere(db.sessionmaker, EXPIRE_AGREEMENTS, now=datetime.now(UTC) + timedelta(days=5))
            ).get(a.slug) == 1
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            entries = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "system.expireAgreement")))
    assert [e.object_ids for e in entries] == [[str(decode_global_id(ending)[1])]]
    assert (entries[0].user_id, entries[0].roles) == (None, "system")
    fields = entries[0].detail["changes"][0]["fields"]  # type: ignore[index]
    assert fields["status"] == ["active", "expired"]
    assert fields["version"][1] == fields["version"][0] + 1
