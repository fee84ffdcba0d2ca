"""Helpers the care modules share: an area's path for subtree filters, and local days as UTC bounds."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from models import (
    Area,
)
from resolvers.cases import WorkCalendar
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t


def local_day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = WorkCalendar().tz
    return (datetime.combine(start, time.min, tzinfo=tz).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC))


async def area_path(ctx: RequestContext, area_id: uuid.UUID) -> str:
    path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
    if path is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    return str(path)
