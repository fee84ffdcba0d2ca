"""The partner side of co-building (issue #7): the app's clock fixed at NOON inside the agreements'
validity window, a client for /oauth/token and partner-token GraphQL (the `papi` fixture builds it), a
partner system's credentials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx

from tests.support.cobuilding import (
    CREATE_CLIENT,
    run,
)
from tests.support.harness import Api
from tests.support.world import TenantWorld

# 2026-06-15 12:00 in 郴州/涪陵 (UTC+8): the tests' agreements run 2026-06-01 .. 2026-06-20.
NOON = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)
VALID_FROM, VALID_UNTIL = date(2026, 6, 1), date(2026, 6, 20)


@dataclass
class PartnerApi:
    api: Api
    state: Any

    def at(self, when: datetime) -> None:
        self.state.clock = lambda: when

    async def token(self, client_id: str, secret: str, **extra: str) -> httpx.Response:
        return await self.api.client.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, **extra})

    async def access(self, client_id: str, secret: str) -> str:
        r = await self.token(client_id, secret)
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    async def gql(self, token: str, query: str, variables: dict[str, Any] | None = None,
                  tenant: str | None = None) -> httpx.Response:
        return await self.api.post(query, variables, token=token, tenant=tenant)


async def partner_client(p: PartnerApi, tw: TenantWorld, unit: str, key: str = "admin") -> tuple[str, str, str]:
    out = await run(p.api, tw, key, CREATE_CLIENT, {"u": unit, "l": "共建系统"})
    assert out["errors"] == [], out
    return out["client"]["id"], out["client"]["clientId"], out["clientSecret"]
