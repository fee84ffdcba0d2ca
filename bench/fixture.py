"""What the operations need from a bench database: the actors (with tokens for both servers), the
ids they use, and the request bodies of every operation for gongzhi and PostGraphile."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

HERE = Path(__file__).resolve().parent
OPS = ("op1_case_list", "op2_household_page", "op3_dashboard", "op4_report_case", "op5_node")
# Which actor runs which operation.
ACTOR_OF = {"op1_case_list": "bench.grid", "op2_household_page": "bench.firm", "op3_dashboard": "bench.secretary",
            "op4_report_case": "bench.grid", "op5_node": "bench.grid"}
JWT_SECRET = "gongzhi-bench-secret-not-for-production-0123456789abcdef"


def gid(type_name: str, id_: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{id_}".encode()).decode().rstrip("=")


def pgl_node_id(type_name: str, tenant_id: uuid.UUID, id_: uuid.UUID) -> str:
    """PostGraphile v5's node id: base64 of the JSON list [type, ...primary key]."""
    return base64.b64encode(json.dumps([type_name, str(tenant_id), str(id_)], separators=(",", ":")).encode()
                            ).decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def hs256(payload: dict[str, Any], secret: str = JWT_SECRET) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


@dataclass
class Actor:
    username: str
    user_id: uuid.UUID
    role: str
    scope_id: uuid.UUID
    scope_path: str
    firm_id: uuid.UUID | None
    token: str = ""


@dataclass
class Fixture:
    tenant_slug: str
    tenant_id: uuid.UUID
    actors: dict[str, Actor]
    grid_id: uuid.UUID
    community_id: uuid.UUID
    building_id: uuid.UUID
    report_area_ids: list[uuid.UUID]
    node_case_ids: list[uuid.UUID]
    month: tuple[date, date]
    db_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, op: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.actors[ACTOR_OF[op]].token}", "content-type": "application/json"}

    def document(self, server: str, op: str) -> str:
        return (HERE / "ops" / server / f"{op}.graphql").read_text(encoding="utf-8")

    def variables(self, server: str, op: str, rng: random.Random | None = None) -> dict[str, Any]:
        """Variables of one request; op 4 and op 5 vary per request (the Lua driver does the same)."""
        rng = rng or random.Random()
        g = server == "gongzhi"
        if op == "op1_case_list":
            return {}
        if op == "op2_household_page":
            return {"buildingId": gid("Building", self.building_id) if g else str(self.building_id)}
        if op == "op3_dashboard":
            cid = gid("Community", self.community_id) if g else str(self.community_id)
            return {"communityId": cid, "from": self.month[0].isoformat(), "to": self.month[1].isoformat()}
        if op == "op4_report_case":
            area = rng.choice(self.report_area_ids)
            key = uuid.UUID(int=rng.getrandbits(128)).hex
            if g:
                return {"input": {"areaId": gid("Building", area), "category": "garbage", "title": "压测上报",
                                  "priority": "NORMAL", "idempotencyKey": key}}
            return {"input": {"areaId": str(area), "category": "garbage", "title": "压测上报", "priority": "normal",
                              "idempotencyKey": key}}
        if op == "op5_node":
            case = rng.choice(self.node_case_ids)
            return {"id": gid("Case", case) if g else pgl_node_id("Case", self.tenant_id, case)}
        raise KeyError(op)

    def body(self, server: str, op: str, rng: random.Random | None = None) -> bytes:
        return json.dumps({"query": self.document(server, op), "variables": self.variables(server, op, rng)},
                          ensure_ascii=False).encode()

    def id_lists(self, server: str) -> dict[str, list[str]]:
        """Per-request random pieces for the Lua driver."""
        g = server == "gongzhi"
        return {
            "node_ids": [gid("Case", c) if g else pgl_node_id("Case", self.tenant_id, c) for c in self.node_case_ids],
            "area_ids": [gid("Building", a) if g else str(a) for a in self.report_area_ids],
        }


async def load_fixture(dsn: str) -> Fixture:
    conn = await asyncpg.connect(dsn)
    try:
        t = await conn.fetchrow("SELECT id, slug FROM tenants WHERE slug = 'bench-01'")
        rows = await conn.fetch(
            "SELECT u.username, u.id, ra.role, ra.scope_area_id, a.path, ra.firm_id FROM users u "
            "JOIN role_assignments ra ON ra.user_id = u.id JOIN areas a ON a.tenant_id = ra.tenant_id "
            "AND a.id = ra.scope_area_id WHERE u.username LIKE 'bench.%' AND ra.tenant_id = $1", t["id"])
        now = int(time.time())
        actors = {}
        for r in rows:
            a = Actor(r["username"], r["id"], r["role"], r["scope_area_id"], r["path"], r["firm_id"])
            a.token = hs256({"sub": str(a.user_id), "preferred_username": a.username, "tenants": [t["slug"]],
                             "iss": "gongzhi", "aud": "gongzhi", "iat": now, "exp": now + 7 * 86400,
                             # PostGraphile's pgSettings (gongzhi ignores these claims and looks roles up)
                             "tid": str(t["id"]), "role": a.role, "scope_path": a.scope_path,
                             "firm_id": str(a.firm_id) if a.firm_id else None})
            actors[a.username] = a
        grid = actors["bench.grid"]
        community_id = (await conn.fetchval("SELECT parent_id FROM areas WHERE tenant_id = $1 AND id = $2",
                                            t["id"], grid.scope_id))
        firm = actors["bench.firm"]
        building_id = await conn.fetchval(
            "SELECT id FROM areas WHERE tenant_id = $1 AND parent_id = $2 AND kind = 'building' ORDER BY name, id "
            "LIMIT 1", t["id"], firm.scope_id)
        report_area_ids = [r["building_id"] for r in await conn.fetch(
            "SELECT building_id FROM grid_buildings WHERE tenant_id = $1 AND grid_id = $2", t["id"], grid.scope_id)]
        node_case_ids = [r["id"] for r in await conn.fetch(
            "SELECT id FROM cases WHERE tenant_id = $1 AND area_id = ANY($2::uuid[]) AND idempotency_key IS NULL "
            "ORDER BY id DESC LIMIT 500", t["id"], report_area_ids)]
        today = datetime.now(UTC).date()
        last = today.replace(day=1) - timedelta(days=1)
        return Fixture(t["slug"], t["id"], actors, grid.scope_id, community_id, building_id, report_area_ids,
                       node_case_ids, (last.replace(day=1), last))
    finally:
        await conn.close()
