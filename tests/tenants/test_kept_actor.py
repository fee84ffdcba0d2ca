"""The actor kept per process (migration 0055, issue #21): a request's first statement reads the user's role
assignments and own household only when the tenant's ``actor_version`` moved since the process read them, or the
request's time left the interval they hold for. A revocation, a moved household, a renamed or moved area take
effect on the very next request; a change of anything else reads nothing again. PostgreSQL only: SQLite reads the
actor with ORM statements on every request."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from gongzhi.http import state as http_state
from policies import actor as actor_module
from tenants.rls import set_tenant_sql
from tests.support import citus
from tests.support.harness import Api, DbEnv, new_slug
from tests.support.world import TenantWorld, build_tenant

pytestmark = pytest.mark.asyncio

ME = "{ me { roles { role scope { name } } person { id } } households { totalCount } }"


@pytest.fixture
async def tw(db: DbEnv) -> TenantWorld:
    if not db.is_pg:
        pytest.skip("the actor is kept on PostgreSQL only (gongzhi_request_actor_unless_kept)")
    if citus.ENABLED:  # 0055's triggers return at once there (they would write the reference table from the shards)
        pytest.skip("the actor is not kept on Citus: the version does not move there, every request reads the actor")
    return await build_tenant(db.sessionmaker, new_slug("kept"))


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, uuid.UUID]]:
    """(slug, user) of each first statement whose function read the actor (not kept): keep_actor's calls."""
    seen: list[tuple[str, uuid.UUID]] = []
    real: Callable[..., None] = actor_module.keep_actor

    def spy(slug: str, user_id: uuid.UUID, *args: Any) -> None:
        seen.append((slug, user_id))
        real(slug, user_id, *args)

    monkeypatch.setattr(http_state, "keep_actor", spy)
    return seen


def _roles(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["role"], r["scope"]["name"]) for r in body["data"]["me"]["roles"]]


async def _version(db: DbEnv, tw: TenantWorld) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text("SELECT actor_version FROM tenants WHERE id = :t"),
                                       {"t": tw.tenant_id})).scalar_one())


async def _in_tenant(db: DbEnv, tw: TenantWorld, *statements: tuple[str, dict[str, Any]]) -> None:
    async with db.engine.connect() as conn, conn.begin():
        await conn.execute(text(set_tenant_sql(tw.tenant_id)))
        for sql, params in statements:
            await conn.execute(text(sql), params)


async def test_a_kept_actor_serves_until_a_revocation_which_acts_on_the_next_request(
        api: Api, db: DbEnv, tw: TenantWorld, reads: list[tuple[str, uuid.UUID]]) -> None:
    grid2 = (tw.slug, tw.users["grid2"])
    first = await api.gql(tw, "grid2", ME)
    assert _roles(first) == [("GRID_LEADER", "二网格")] and first["data"]["households"]["totalCount"] == 2
    assert reads.count(grid2) == 1
    for _ in range(3):  # the same answer, the actor not read again
        assert await api.gql(tw, "grid2", ME) == first
    assert reads.count(grid2) == 1
    before = await _version(db, tw)
    revoke = "mutation($i: RevokeRoleInput!) { revokeRole(input: $i) { errors { code } } }"
    revoked = await api.gql(tw, "secretary", revoke, {"i": {"id": await _assignment_gid(api, tw, "grid2")}})
    assert revoked["data"]["revokeRole"]["errors"] == []
    assert await _version(db, tw) != before
    after = await api.gql(tw, "grid2", ME)
    assert _roles(after) == [] and after["data"]["households"]["totalCount"] == 0
    assert reads.count(grid2) == 2


async def _assignment_gid(api: Api, tw: TenantWorld, user: str) -> str:
    body = await api.gql(tw, "admin", "{ roleAssignments(first: 100) { nodes { id user { username } active } } }")
    return next(n["id"] for n in body["data"]["roleAssignments"]["nodes"]
                if n["active"] and n["user"]["username"] == tw.username(user))


async def test_a_moved_household_and_a_renamed_scope_act_on_the_next_request(
        api: Api, db: DbEnv, tw: TenantWorld, reads: list[tuple[str, uuid.UUID]]) -> None:
    """The resident's own household (its person's household, that household's building) and a staff member's
    scope's name, each changed by plain SQL — no resolver told anything — are what the next request sees."""
    resident = "resident"  # h1b of H1 in B1
    own = await api.gql(tw, resident, ME)
    person = own["data"]["me"]["person"]
    assert person is not None
    await api.gql(tw, resident, ME)
    n = len(reads)
    # the resident's person moves to H4 (another community's building): its own-compound rows change
    await _in_tenant(db, tw, ("UPDATE persons SET household_id = :h WHERE id = "
                              "(SELECT person_id FROM members WHERE user_id = :u)",
                              {"h": tw.households["H4"], "u": tw.users[resident]}))
    await api.gql(tw, resident, ME)
    assert len(reads) == n + 1
    assert await _own_building(db, tw, tw.users[resident]) == tw.areas["B4"]
    # the grid's name: the scope's name in the actor's assignment
    assert _roles(await api.gql(tw, "grid1", ME)) == [("GRID_LEADER", "一网格")]
    await _in_tenant(db, tw, ("UPDATE areas SET name = '第一网格' WHERE id = :a", {"a": tw.areas["G1"]}))
    assert _roles(await api.gql(tw, "grid1", ME)) == [("GRID_LEADER", "第一网格")]


async def _own_building(db: DbEnv, tw: TenantWorld, user: uuid.UUID) -> uuid.UUID:
    async with db.engine.connect() as conn, conn.begin():
        await conn.execute(text(set_tenant_sql(tw.tenant_id)))
        return uuid.UUID(str((await conn.execute(text(
            "SELECT h.building_id FROM members m JOIN persons p ON p.tenant_id = m.tenant_id AND p.id = m.person_id "
            "JOIN households h ON h.tenant_id = p.tenant_id AND h.id = p.household_id WHERE m.user_id = :u"),
            {"u": user})).scalar_one()))


# (statement, parameters from the world) → whether it moves the tenant's actor_version
CHANGES: list[tuple[str, str, Callable[[TenantWorld], dict[str, Any]], bool]] = [
    ("revoke", "UPDATE role_assignments SET revoked_at = now() WHERE user_id = :u",
     lambda w: {"u": w.users["grid1"]}, True),
    ("grant", "INSERT INTO role_assignments (id, tenant_id, user_id, role, scope_area_id, valid_from, created_at) "
     "VALUES (gen_random_uuid(), :t, :u, 'grid_leader', :a, now(), now())",
     lambda w: {"t": w.tenant_id, "u": w.users["grid1"], "a": w.areas["G2"]}, True),
    ("unlink member", "UPDATE members SET person_id = NULL WHERE user_id = :u", lambda w: {"u": w.users["grid1"]},
     True),
    ("person's household", "UPDATE persons SET household_id = :h WHERE id = :p",
     lambda w: {"h": w.households["H2"], "p": w.persons["h1b"]}, True),
    ("household's building", "UPDATE households SET building_id = :b WHERE id = :h",
     lambda w: {"b": w.areas["B2"], "h": w.households["H1"]}, True),
    ("area's name", "UPDATE areas SET name = '新名' WHERE id = :a", lambda w: {"a": w.areas["P1"]}, True),
    ("area's path", "UPDATE areas SET path = path || 'x/' WHERE id = :a", lambda w: {"a": w.areas["B3"]}, True),
    ("person's phone", "UPDATE persons SET phone = '13900000000' WHERE id = :p", lambda w: {"p": w.persons["h1b"]},
     False),
    ("person's household, unchanged", "UPDATE persons SET household_id = household_id WHERE id = :p",
     lambda w: {"p": w.persons["h1b"]}, False),
    ("household's room", "UPDATE households SET room = '999' WHERE id = :h", lambda w: {"h": w.households["H1"]},
     False),
    ("area's floors", "UPDATE areas SET floors = 9 WHERE id = :a", lambda w: {"a": w.areas["B1"]}, False),
]


@pytest.mark.parametrize("name", [c[0] for c in CHANGES])
async def test_what_moves_the_actor_version(db: DbEnv, tw: TenantWorld, name: str) -> None:
    """Each input of the actor moves the version to the writing transaction's id, in that transaction, when it
    commits (the triggers are deferred: ``SET CONSTRAINTS ALL IMMEDIATE`` runs them here); other columns of the same
    tables do not. Rolled back afterwards: each case starts from the world."""
    _, sql, params, moves = next(c for c in CHANGES if c[0] == name)
    before = await _version(db, tw)
    read = text("SELECT actor_version, txid_current() FROM tenants WHERE id = :t")
    async with db.engine.connect() as conn:
        tx = await conn.begin()
        await conn.execute(text(set_tenant_sql(tw.tenant_id)))
        await conn.execute(text(sql), params(tw))
        deferred, _ = (await conn.execute(read, {"t": tw.tenant_id})).one()
        await conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        version, xid = (await conn.execute(read, {"t": tw.tenant_id})).one()
        await tx.rollback()
    assert deferred == before, name  # not before the commit: the tenant's row is not locked until then
    assert (version == xid) is moves and (version != before) is moves, (name, before, version, xid)
    assert await _version(db, tw) == before  # rolled back with the change


async def test_one_bump_per_transaction_and_none_from_a_rolled_back_savepoint(db: DbEnv, tw: TenantWorld) -> None:
    async with db.engine.connect() as conn:
        tx = await conn.begin()
        await conn.execute(text(set_tenant_sql(tw.tenant_id)))
        savepoint = await conn.begin_nested()
        await conn.execute(text("UPDATE areas SET name = name || '·' WHERE tenant_id = :t"), {"t": tw.tenant_id})
        await conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        assert await _bumped_setting(conn) == str(tw.tenant_id)
        await savepoint.rollback()
        assert await _bumped_setting(conn) is None  # undone with the savepoint, as the bump is
        await conn.execute(text("SET CONSTRAINTS ALL DEFERRED"))
        updates = await _tenant_updates(conn)
        await conn.execute(text("UPDATE persons SET household_id = :h WHERE id = :p"),
                           {"h": tw.households["H2"], "p": tw.persons["h1b"]})
        await conn.execute(text("UPDATE areas SET name = name || '·' WHERE tenant_id = :t"), {"t": tw.tenant_id})
        await conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        assert await _bumped_setting(conn) == str(tw.tenant_id)
        assert await _tenant_updates(conn) == updates + 1  # a person, every area: one UPDATE
        xid = (await conn.execute(text("SELECT txid_current()"))).scalar_one()
        await tx.commit()
    assert await _version(db, tw) == xid


async def test_a_long_transaction_holds_no_lock_the_tenants_other_writers_wait_on(db: DbEnv, tw: TenantWorld) -> None:
    """An area renamed in a transaction still open (an import, say) does not keep another transaction of the tenant
    from granting a role and committing, nor the tenant's row from an update: the bump locks the tenant's row only
    while a transaction commits. Both changes move the version; the last commit's id is the version."""
    async with db.engine.connect() as long, db.engine.connect() as other:
        slow = await long.begin()
        await long.execute(text(set_tenant_sql(tw.tenant_id)))
        await long.execute(text("UPDATE areas SET name = name || '·' WHERE id = :a"), {"a": tw.areas["G1"]})
        async with other.begin():
            await other.execute(text("SET LOCAL lock_timeout = '500ms'"))
            await other.execute(text(set_tenant_sql(tw.tenant_id)))
            await other.execute(text(
                "INSERT INTO role_assignments (id, tenant_id, user_id, role, scope_area_id, valid_from, created_at) "
                "VALUES (gen_random_uuid(), :t, :u, 'grid_leader', :a, now(), now())"),
                {"t": tw.tenant_id, "u": tw.users["grid2"], "a": tw.areas["G1"]})
            other_xid = (await other.execute(text("SELECT txid_current()"))).scalar_one()
        assert await _version(db, tw) == other_xid
        long_xid = (await long.execute(text("SELECT txid_current()"))).scalar_one()
        await slow.commit()
    assert await _version(db, tw) == long_xid


async def _tenant_updates(conn: AsyncConnection) -> int:
    """Rows of ``tenants`` updated so far in this transaction."""
    return int((await conn.execute(text(
        "SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'tenants'"))).scalar_one())


async def _bumped_setting(conn: AsyncConnection) -> str | None:
    value = (await conn.execute(text("SELECT current_setting('gongzhi.actor_changed', true)"))).scalar_one()
    return value or None


async def test_an_assignment_starting_or_ending_reads_the_actor_again(
        api: Api, db: DbEnv, tw: TenantWorld, reads: list[tuple[str, uuid.UUID]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No row changes when an assignment's time comes: the kept actor holds for [held_from, held_until) only —
    the nearest start or end of any of the user's assignments either side of the request's time."""
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    t0 = datetime(2030, 3, 1, 2, 0, tzinfo=UTC)
    await _in_tenant(db, tw, (
        "INSERT INTO role_assignments (id, tenant_id, user_id, role, scope_area_id, valid_from, valid_until, "
        "created_at) VALUES (gen_random_uuid(), :t, :u, 'party_secretary', :a, :f, :e, now())",
        {"t": tw.tenant_id, "u": tw.users["grid1"], "a": tw.areas["C1"], "f": t0 + timedelta(hours=1),
         "e": t0 + timedelta(hours=3)}))
    grid1 = (tw.slug, tw.users["grid1"])

    async def roles_at(when: datetime) -> list[str]:
        monkeypatch.setattr(state, "clock", lambda: when)
        return sorted(r for r, _scope in _roles(await api.gql(tw, "grid1", ME)))

    assert await roles_at(t0) == ["GRID_LEADER"]
    assert reads.count(grid1) == 1
    assert await roles_at(t0 + timedelta(minutes=30)) == ["GRID_LEADER"]
    assert reads.count(grid1) == 1  # inside [valid_from of grid1's own, the secretary's start): kept
    assert await roles_at(t0 + timedelta(hours=1)) == ["GRID_LEADER", "PARTY_SECRETARY"]
    assert reads.count(grid1) == 2
    assert await roles_at(t0 + timedelta(hours=2)) == ["GRID_LEADER", "PARTY_SECRETARY"]
    assert reads.count(grid1) == 2
    assert await roles_at(t0 + timedelta(hours=3)) == ["GRID_LEADER"]  # ended
    assert reads.count(grid1) == 3
    assert await roles_at(t0 + timedelta(minutes=90)) == ["GRID_LEADER", "PARTY_SECRETARY"]  # the clock went back
    assert reads.count(grid1) == 4
