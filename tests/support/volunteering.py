"""Shared pieces of the volunteering and evaluation tests (issue #6): GraphQL documents, a mutation
runner, extra residents for a fresh tenant, and ledger facts read straight from the database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from models import Household, Member, Person, PointsAccount, PointsEntry, RewardItem, RoleAssignment, User, uuid7
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv
from tests.support.world import TenantWorld

USERS = ["admin", "secretary", "grid1", "grid2", "grid3", "chair", "firm", "resident", "resident4", "secretary2",
         "expired", "nobody"]

ERR = "errors { code field message }"

AWARD = f"""mutation($p: ID!, $n: Int!, $r: String!) {{
  awardPoints(input: {{personId: $p, points: $n, reason: $r}}) {{ entry {{ id delta balanceAfter kind }} {ERR} }} }}"""
REVERSE = f"""mutation($e: ID!, $r: String!) {{
  reversePointsEntry(input: {{entryId: $e, reason: $r}}) {{ entry {{ id delta balanceAfter kind }} {ERR} }} }}"""
CREATE_ITEM = f"""mutation($c: ID!, $n: String!, $p: Int!, $s: Int!) {{
  createRewardItem(input: {{communityId: $c, name: $n, points: $p, stock: $s}}) {{
    item {{ id stock points }} {ERR} }} }}"""
REQUEST = f"""mutation($i: ID!) {{ requestRedemption(itemId: $i) {{ redemption {{ id state points }} {ERR} }} }}"""
APPROVE = f"""mutation($r: ID!) {{ approveRedemption(input: {{id: $r}}) {{ redemption {{ id state }} {ERR} }} }}"""
REJECT = f"""mutation($r: ID!, $n: String) {{
  rejectRedemption(input: {{id: $r, note: $n}}) {{ redemption {{ id state }} {ERR} }} }}"""
BALANCE = "query($p: ID!) { pointsBalance(personId: $p) }"
LEDGER = "query($p: ID) { pointsLedger(personId: $p, first: 100) { totalCount nodes { id delta kind } } }"


def gid(type_name: str, id_: uuid.UUID) -> str:
    return encode_global_id(type_name, id_)


def person(tw: TenantWorld, key: str) -> str:
    return gid("Person", tw.persons[key])


def area(tw: TenantWorld, key: str, type_name: str) -> str:
    return gid(type_name, tw.areas[key])


async def run(api: Api, tw: TenantWorld, key: str, doc: str, variables: dict[str, Any]) -> dict[str, Any]:
    """A mutation's payload (the one top-level field), GraphQL errors asserted absent."""
    body = await api.gql(tw, key, doc, variables)
    (payload,) = body["data"].values()
    return payload  # type: ignore[no-any-return]


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def add_residents(db: DbEnv, tw: TenantWorld, n: int, building: str = "B1", compound: str = "P1") -> list[str]:
    """n more residents of ``compound``, each with a household in ``building``, a person and a user
    (keys r0, r1, …) — for concurrency tests that need many volunteers."""
    keys: list[str] = []
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            for i in range(n):
                key = f"r{i}"
                h = Household(id=uuid7(), building_id=tw.areas[building], unit="9", room=f"9{i:02d}")
                s.add(h)
                await s.flush()
                p = Person(id=uuid7(), household_id=h.id, name=f"志愿者{i}", party_member=False,
                           in_service_party_member=False)
                u = User(id=uuid7(), username=tw.username(key), display_name=f"{tw.slug} {key}")
                s.add_all([p, u])
                await s.flush()
                s.add(RoleAssignment(user_id=u.id, role="resident", scope_area_id=tw.areas[compound],
                                     valid_from=datetime(2024, 1, 1, tzinfo=UTC)))
                s.add(Member(user_id=u.id, person_id=p.id))
                tw.users[key] = u.id
                tw.persons[key] = p.id
                keys.append(key)
    return keys


async def ledger_facts(db: DbEnv, tw: TenantWorld, person_key: str) -> tuple[int, int, int]:
    """(balance, sum of ledger entries, number of entries) straight from the database."""
    pid = tw.persons[person_key]
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            bal = await s.scalar(select(PointsAccount.balance).where(PointsAccount.person_id == pid))
            total, count = (await s.execute(
                select(func.coalesce(func.sum(PointsEntry.delta), 0), func.count())
                .where(PointsEntry.person_id == pid))).one()
    return int(bal or 0), int(total), int(count)


async def stock_of(db: DbEnv, tw: TenantWorld, item_id: uuid.UUID) -> int:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            return int(await s.scalar(select(RewardItem.stock).where(RewardItem.id == item_id)) or 0)


def raw(global_id: str) -> uuid.UUID:
    import base64

    text = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return uuid.UUID(text.split(":", 1)[1])
