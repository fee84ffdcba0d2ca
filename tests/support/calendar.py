"""Holiday arrangements for the working-calendar tests (issue #22). The platform tables are shared by
every tenant of a test database, so tests load only far years (2040s), each test its own, and remove
them afterwards: the 2027 tests need 2027 without any arrangement."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, update

from models import PlatformCalendar, PlatformCalendarDay, Tenant
from resolvers.cases import Arrangement, parse_arrangement, store_arrangement
from tenants.session import make_sessionmaker
from tests.support.harness import DbEnv

Q_CALENDAR = "query($f: Date!, $t: Date!) { workingCalendar(from: $f, to: $t) { date working source note } }"


def arrangement_json(year: int, holidays: list[dict[str, Any]], **head: Any) -> str:
    data = {"year": year, "title": f"国务院办公厅关于{year}年部分节假日安排的通知", **head, "holidays": holidays}
    return json.dumps(data, ensure_ascii=False)


async def unload(db: DbEnv, year: int) -> None:
    """Remove a loaded year, as the owner (the app role may only read these tables)."""
    async with make_sessionmaker(db.owner_engine)() as s, s.begin():
        await s.execute(delete(PlatformCalendarDay).where(PlatformCalendarDay.year == year))
        await s.execute(delete(PlatformCalendar).where(PlatformCalendar.year == year))
        # as store_arrangement does: every tenant's calendar changed (processes keep it per version)
        await s.execute(update(Tenant).values(calendar_version=Tenant.calendar_version + 1))


@asynccontextmanager
async def loaded(db: DbEnv, text: str) -> AsyncIterator[Arrangement]:
    """The arrangement in ``text`` loaded (as the owner) for the block, removed afterwards."""
    arrangement = parse_arrangement(text)
    try:
        async with make_sessionmaker(db.owner_engine)() as s:
            await store_arrangement(s, arrangement, loaded_by="test", now=datetime.now(UTC))
        yield arrangement
    finally:
        await unload(db, arrangement.year)
