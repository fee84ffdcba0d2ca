"""The partner side's app (``papi``), shared by the partner and in-service tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gongzhi.http.app import create_app
from gongzhi.settings import Settings
from tests.support.harness import JWT_SECRET, Api, DbEnv
from tests.support.partners import NOON, PartnerApi


@pytest.fixture
async def papi(db: DbEnv) -> AsyncIterator[PartnerApi]:
    """The real app with its clock fixed at NOON (agreements start and end by the request's time)."""
    settings = Settings(database_url=db.app_url, jwt_secret=JWT_SECRET, graphiql=False)
    app = create_app(settings, engine=db.engine)
    state = app.state.gongzhi
    state.clock = lambda: NOON
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield PartnerApi(Api(client, settings), state)
