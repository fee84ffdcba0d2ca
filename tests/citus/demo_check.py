"""The demo on a Citus cluster, asked while one tenant moves to the other worker (issue #27).

    scripts/citus-cluster.sh demo         # in one shell: seeds and serves the demo on the cluster
    scripts/citus-cluster.sh demo-check   # in another: this module

1. The demo's users (two per street office, different roles) ask the same question — who am I, my
   roles, the areas, households and cases I may see — of the served demo; every answer must have
   roles (the silent failure of a tenant setting that does not reach the workers is an empty list)
   and the street office's admins must see households.
2. One tenant (``--tenant``, default langya) is isolated to its own shards
   (``isolate_tenant_to_new_shard(…, 'CASCADE')``) and its shard group moved to the other worker
   (``citus_move_shard_placement``, logical replication), while clients keep asking.
3. Every answer during and after the move must equal the first; the tenant's households must now be
   on the other worker (counted there, in the shard itself) and no longer on the first.

Prints what it saw (docs/scaling.md quotes it); exit 1 when an answer differed or a request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

import asyncpg
import httpx
from sqlalchemy import select

from gongzhi.demo import demo_users
from gongzhi.http.auth import issue_dev_token
from gongzhi.settings import Settings
from models import User
from tenants.session import make_engine, make_sessionmaker

QUERY = """{ me { username tenant { slug } roles { role active } }
  areas(first: 100) { totalCount nodes { name } }
  households(first: 20) { totalCount nodes { room } }
  cases(first: 20) { totalCount nodes { title } } }"""
PORT = int(os.environ.get("CITUS_PORT", "9700"))
DEMO = f"http://127.0.0.1:{os.environ.get('CITUS_DEMO_PORT', '8700')}"


def _answer(body: dict[str, Any]) -> str:
    """The answer as compared: data and the error codes (not their request-dependent text)."""
    errors = sorted((e.get("path") and e["path"][0], (e.get("extensions") or {}).get("code"))
                    for e in body.get("errors", []))
    return json.dumps({"data": body.get("data"), "errors": errors}, ensure_ascii=False, sort_keys=True)


async def _users(settings: Settings, per_tenant: int) -> list[tuple[str, str, str, str]]:
    """(tenant slug, username, role, token) of a few demo users of different roles per tenant."""
    engine = make_engine(settings.owner_url, pool_size=1)
    try:
        rows = await demo_users(make_sessionmaker(engine))
        # Roles not asked yet first, so that the street offices together cover as many roles as they can.
        chosen: list[dict[str, str]] = []
        for tenant in sorted({r["tenant"] for r in rows}):
            mine = [r for r in rows if r["tenant"] == tenant]
            asked = {r["role"] for r in chosen}
            mine.sort(key=lambda r: (r["role"] in asked, r["role"], r["user"]))
            for row in mine:
                if sum(r["tenant"] == tenant for r in chosen) < per_tenant and \
                        row["role"] not in {r["role"] for r in chosen if r["tenant"] == tenant}:
                    chosen.append(row)
        async with make_sessionmaker(engine)() as s:
            ids = {u.username: u.id for u in await s.scalars(select(User).where(
                User.username.in_([r["user"] for r in chosen])))}
    finally:
        await engine.dispose()
    return [(r["tenant"], r["user"], r["role"],
             issue_dev_token(settings, user_id=ids[r["user"]], username=r["user"], tenants=[r["tenant"]]))
            for r in chosen]


async def _ask(client: httpx.AsyncClient, token: str) -> str:
    r = await client.post("/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {token}"})
    if r.status_code != 200:
        return f"HTTP {r.status_code}: {r.text[:200]}"
    return _answer(r.json())


async def _placement(conn: asyncpg.Connection, table: str, tenant: Any) -> tuple[int, int, bool]:
    """(shard id, worker port, the shard holds this tenant only) of the tenant's rows of ``table``."""
    shard = await conn.fetchval("SELECT get_shard_id_for_distribution_column($1::regclass, $2::uuid)", table, tenant)
    row = await conn.fetchrow(
        "SELECT n.nodeport, s.shardminvalue = s.shardmaxvalue AS alone FROM pg_dist_shard s"
        " JOIN pg_dist_placement p USING (shardid) JOIN pg_dist_node n USING (groupid) WHERE s.shardid = $1", shard)
    return int(shard), int(row["nodeport"]), bool(row["alone"])


async def _rows_on(port: int, table: str, shard: int, tenant: Any) -> int | None:
    """The tenant's rows in the shard itself, asked on that worker (None: no such shard there)."""
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/gongzhi_demo")
    try:
        await conn.execute("SET citus.show_shards_for_app_name_prefixes = '*'")
        if await conn.fetchval("SELECT to_regclass($1)", f"{table}_{shard}") is None:
            return None
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}_{shard} WHERE tenant_id = $1", tenant))
    finally:
        await conn.close()


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--tenant", default="langya", help="the street office to move (slug)")
    p.add_argument("--per-tenant", type=int, default=2, help="users asked per street office")
    args = p.parse_args(argv)
    settings = Settings.from_env()
    users = await _users(settings, args.per_tenant)
    async with httpx.AsyncClient(base_url=DEMO, timeout=60) as client:
        first = {u[1]: await _ask(client, u[3]) for u in users}
        print(f"{len(users)} demo users of {len({u[2] for u in users})} roles in {len({u[0] for u in users})} "
              f"street offices asked {DEMO}:")
        empty = []
        for tenant, user, role, _ in users:
            body = json.loads(first[user]) if first[user].startswith("{") else {"data": None}
            data = body["data"] or {}
            roles = len((data.get("me") or {}).get("roles") or [])
            counts = {k: (data.get(k) or {}).get("totalCount") for k in ("areas", "households", "cases")}
            print(f"  {tenant:<8} {user:<24} {role:<22} roles={roles} areas={counts['areas']} "
                  f"households={counts['households']} cases={counts['cases']}")
            if roles == 0:
                empty.append(user)
        if empty:
            print(f"FAILED: no roles in the answers of {', '.join(empty)} (the tenant setting does not reach the "
                  "shards?)")
            return 1

        coord = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{PORT}/gongzhi_demo")
        try:
            tenant_id = await coord.fetchval("SELECT id FROM tenants WHERE slug = $1", args.tenant)
            if tenant_id is None:
                print(f"no tenant {args.tenant!r}")
                return 2
            shard, source, alone = await _placement(coord, "households", tenant_id)
            target = await coord.fetchval(
                "SELECT nodeport FROM pg_dist_node WHERE groupid <> 0 AND nodeport <> $1 ORDER BY nodeport LIMIT 1",
                source)
            stop = asyncio.Event()
            seen = {"requests": 0, "different": 0}

            async def keep_asking() -> None:
                while not stop.is_set():
                    for _, user, _, token in users:
                        answer = await _ask(client, token)
                        seen["requests"] += 1
                        if answer != first[user]:
                            seen["different"] += 1
                            print(f"  DIFFERENT during the move, {user}: {answer[:300]}")
                    await asyncio.sleep(0.05)

            asking = asyncio.create_task(keep_asking())
            started = time.perf_counter()
            isolated = "already alone in its shard"
            if not alone:
                await coord.execute("SELECT isolate_tenant_to_new_shard('households', $1::uuid, 'CASCADE',"
                                    " shard_transfer_mode => 'force_logical')", tenant_id)
                isolated = "isolated to its own shards"
            shard, at, _ = await _placement(coord, "households", tenant_id)
            await coord.execute("SELECT citus_move_shard_placement($1, '127.0.0.1', $2, '127.0.0.1', $3,"
                                " shard_transfer_mode => 'force_logical')", shard, at, target)
            moved_in = time.perf_counter() - started
            await asyncio.sleep(1.0)  # a few more rounds on the new placement
            stop.set()
            await asking
            after_shard, after_port, after_alone = await _placement(coord, "households", tenant_id)
            # The old placements are dropped later by Citus's cleanup (deferred drop): now.
            await coord.execute("CALL citus_cleanup_orphaned_resources()")
            total = int(await coord.fetchval("SELECT count(*) FROM households WHERE tenant_id = $1", tenant_id))
        finally:
            await coord.close()
        last = {u[1]: await _ask(client, u[3]) for u in users}
    on_target = await _rows_on(after_port, "households", after_shard, tenant_id)
    on_source = await _rows_on(source, "households", after_shard, tenant_id)
    changed = [u for u in first if last[u] != first[u]]
    print(f"tenant {args.tenant}: {isolated}, shard group {shard} moved from worker :{source} to :{after_port} "
          f"in {moved_in:.1f} s (shard alone: {after_alone}); {seen['requests']} requests during the move, "
          f"{seen['different']} answered differently; after it {len(users) - len(changed)}/{len(users)} answers "
          f"equal to the first")
    print(f"households of {args.tenant}: {on_target} rows in households_{after_shard} on :{after_port} "
          f"({total} through the coordinator), {'no such shard' if on_source is None else on_source} on :{source} "
          "after Citus's cleanup of the old placement")
    ok = (not changed and seen["different"] == 0 and after_port == target and on_source is None
          and on_target == total > 0)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
