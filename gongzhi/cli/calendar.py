"""Working-calendar commands of the `gongzhi` CLI (issue #22), for the platform operator:

    gongzhi calendar load FILE     load (or replace) a year's State Council holiday arrangement for every tenant
    gongzhi calendar show YEAR     the year's days off and make-up working days, and where they come from

They connect as the database owner (``GONGZHI_MIGRATION_DATABASE_URL``). The file format is in
``resolvers/cases/arrangement.py`` and docs/operations.md; ``examples/calendar/2026.json`` is one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.settings import Settings
from resolvers import cases as case_service

T = TypeVar("T")
_WEEKDAYS = "一二三四五六日"


def _run(settings: Settings, fn: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    from tenants.session import make_engine, make_sessionmaker

    async def run() -> T:
        engine = make_engine(settings.owner_url)
        try:
            return await fn(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cmd_calendar_load(settings: Settings, args: argparse.Namespace) -> int:
    try:
        arrangement = case_service.parse_arrangement(Path(args.file).read_bytes())
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except case_service.ArrangementError as e:
        for problem in e.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    for warning in arrangement.warnings:
        print(f"warning: {warning}", file=sys.stderr)

    async def store(sm: async_sessionmaker[AsyncSession]) -> None:
        async with sm() as session:
            await case_service.store_arrangement(session, arrangement, loaded_by="cli", now=datetime.now(UTC))

    try:
        _run(settings, store)
    except case_service.ArrangementError as e:
        for problem in e.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    number = f" ({arrangement.number})" if arrangement.number else ""
    print(f"loaded {arrangement.year}: {arrangement.title}{number}")
    print(f"  days off ({len(arrangement.days_off)}): {case_service.describe_days(arrangement.days_off)}")
    print(f"  make-up working days ({len(arrangement.working_days)}): "
          f"{case_service.describe_days(arrangement.working_days) or '-'}")
    return 0


def cmd_calendar_show(settings: Settings, args: argparse.Namespace) -> int:
    year: int = args.year
    if not 2000 <= year <= 2100:
        print("error: YEAR between 2000 and 2100", file=sys.stderr)
        return 2

    async def read(sm: async_sessionmaker[AsyncSession]) -> case_service.StoredArrangement | None:
        async with sm() as session:
            return await case_service.read_arrangement(session, year)

    stored = _run(settings, read)
    if stored is not None:
        a = stored.arrangement
        print(f"{year}: platform arrangement — {a.title}" + (f" ({a.number})" if a.number else "")
              + (f", published {a.published}" if a.published else "")
              + f"; loaded {stored.loaded_at.isoformat(timespec='seconds')} by {stored.loaded_by or '-'}")
    elif case_service.package_knows(year):
        print(f"{year}: the chinesecalendar package's data (no arrangement loaded)")
    else:
        print(f"{year}: NO ARRANGEMENT — computed statutory holidays and weekends only, no 调休 make-up days; "
              f"load the State Council's notice with `gongzhi calendar load FILE`")
    days = stored.arrangement.days if stored else {}
    calendar = case_service.WorkCalendar(arrangement={d: w for d, (w, _) in days.items()})
    holidays = {d: name for d, (_, name) in days.items()}
    d = date(year, 1, 1)
    while d.year == year:
        day = case_service.describe_day(calendar, d, override_notes={}, holidays=holidays)
        if day.note or day.working != (d.weekday() < 5):  # only what differs from an ordinary week
            print(f"{d.isoformat()} 周{_WEEKDAYS[d.weekday()]} {'班' if day.working else '休'} "
                  f"{day.note or ''} [{day.source.value}]".replace("  [", " ["))
        d += timedelta(days=1)
    return 0


def add_calendar_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser("calendar", help="the working calendar: the State Council's yearly holiday arrangements"
                       ).add_subparsers(dest="calendar_cmd", required=True)
    load = c.add_parser("load", help="load (or replace) a year's holiday arrangement for every tenant, from JSON")
    load.add_argument("file", help="the arrangement, JSON (docs/operations.md)")
    load.set_defaults(fn=cmd_calendar_load)
    show = c.add_parser("show", help="a year's days off and make-up working days, and where they come from")
    show.add_argument("year", type=int)
    show.set_defaults(fn=cmd_calendar_show)
