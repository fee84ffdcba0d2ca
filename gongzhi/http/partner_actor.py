"""The actor of a partner unit's API client (co-building, issue #7), read in one statement.

A partner request used to load its actor through an ORM session with two statements (the client, then
its agreements in force), ≈ 2.2–2.5 ms of CPU before its read (issue #21). On PostgreSQL the same two
reads go as one plain SQL text on the driver, rendered once per process from the same rules
(``policies.cobuilding.partner_agreement_rows``: the unit's agreements in force on the Beijing date,
``active_on``) with the tenant named explicitly on every table (the ORM's tenant filter is not there
to add it; row-level security repeats it). The client's state (revoked or not, its unit) and the
agreements are read on every request, so a revocation, a suspension or an expiry cuts access on the
next one, as before. SQLite keeps the ORM path (``load_partner_actor``).
"""

from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime

from sqlalchemy import Text, cast, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from gongzhi.http.auth import AuthError
from models import Agreement, AgreementCommunity, PartnerClient, User
from policies.actor import Actor
from policies.cobuilding import load_partner_actor, local_date, partner_actor, partner_agreement_rows
from policies.enforcer import TenantPolicy
from resolvers.i18n import t
from resolvers.prepared import param
from tenants.session import fetch_first

_DIALECT = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves its __init__ unannotated


def _revoked() -> AuthError:
    return AuthError(401, "CLIENT_REVOKED", t("合作单位客户端已吊销或不存在",
                                              "the partner client is revoked or unknown"))


@functools.cache
def partner_actor_sql() -> str:
    """$1 the tenant, $2 the client id, $3 the token's account, $4 the Beijing date: one row for a client
    of that account in that tenant — its unit, when it was revoked, and its agreements' (grants,
    community path) pairs as JSON text (NULL: none in force)."""
    tenant = param(0, "uuid")
    rows = (partner_agreement_rows(PartnerClient.partner_unit_id, param(3, "date"))
            .where(Agreement.tenant_id == tenant, AgreementCommunity.tenant_id == tenant))
    pairs = rows.with_only_columns(cast(func.json_agg(func.json_build_array(Agreement.grants,
                                                                            AgreementCommunity.community_path)),
                                        Text)).scalar_subquery()
    stmt = (select(PartnerClient.partner_unit_id, PartnerClient.revoked_at, pairs)
            .where(PartnerClient.tenant_id == tenant, PartnerClient.client_id == param(1, "text"),
                   PartnerClient.user_id == param(2, "uuid")))
    sql = str(stmt.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
    for n in range(4):
        sql = sql.replace(f"$__p{n}__", f"${n + 1}")
    return sql


async def load_partner_client_actor(session: AsyncSession, *, user: User, client_id: str, tenant_id: uuid.UUID,
                                    policy: TenantPolicy, now: datetime) -> Actor:
    """The actor of a partner token: the client must still exist, belong to the token's account and
    tenant, and not be revoked. On the driver (PostgreSQL): one statement; otherwise the ORM's two."""
    if session.info.get("raw_driver") or session.info.get("driver_transaction") is not None:
        row = await fetch_first(session, partner_actor_sql(), tenant_id, client_id, user.id, local_date(now))
        if row is None or row[1] is not None:
            raise _revoked()
        pairs = json.loads(row[2]) if row[2] is not None else []
        return partner_actor(user=user, partner_unit_id=row[0], client_id=client_id, tenant_id=tenant_id,
                             policy=policy, now=now, rows=[(g, p) for g, p in pairs])
    client = await session.scalar(select(PartnerClient).where(PartnerClient.client_id == client_id,
                                                              PartnerClient.user_id == user.id))
    if client is None or client.revoked_at is not None:
        raise _revoked()
    return await load_partner_actor(session, user=user, client=client, tenant_id=tenant_id, policy=policy, now=now)
