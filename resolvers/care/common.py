"""Helpers the care modules share: an area's path for subtree filters, and local days as UTC bounds."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from models import (
    Area,
)
from resolvers.cases import SHANGHAI
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t


def local_day_bounds(start: date, end: date, fields: tuple[str, str] = ("from", "to")) -> tuple[datetime, datetime]:
    """The local days ``start``–``end`` as UTC [from, to); a day at the calendar's very edge (0001-01-01,
    9999-12-31) has no such bound and is refused as INVALID on its input field (``fields``), not a crash."""
    tz = SHANGHAI
    try:
        lo = datetime.combine(start, time.min, tzinfo=tz).astimezone(UTC)
    except OverflowError:
        raise ServiceError(ErrorCode.INVALID, t("日期超出可处理的范围", "the day is out of range"), fields[0]) from None
    try:
        hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    except OverflowError:
        raise ServiceError(ErrorCode.INVALID, t("日期超出可处理的范围", "the day is out of range"), fields[1]) from None
    return lo, hi


async def area_path(ctx: RequestContext, area_id: uuid.UUID) -> str:
    path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
    if path is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    return str(path)
