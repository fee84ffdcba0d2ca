"""Where a day's holiday facts come from when no one has loaded an arrangement: the ``chinesecalendar``
package (the State Council's published arrangements, 2004–2026 in 1.11.0) and, for years it does not
know, the statutory holidays of 《全国年节及纪念日放假办法》 as in force since 2025-01-01, computed.

Pure code: no database, no I/O.

The statutory holidays for all citizens (第二条), as computed here for a year from 2025 on:

* 元旦 — 1 January;
* 春节 — 除夕 (the last day of the twelfth lunar month, the 29th or the 30th) through 初三: four days;
* 清明节 — the day of the 清明 solar term;
* 劳动节 — 1 and 2 May;
* 端午节 — the 5th day of the fifth lunar month;
* 中秋节 — the 15th day of the eighth lunar month;
* 国庆节 — 1 to 3 October.

The lunar dates and the solar term come from ``lunar-python`` (6tail's calendar library, Beijing time).
What the computation cannot know is left out on purpose: the 调休 make-up working days and the weekday
given in lieu (补假) of a holiday that falls on a weekend are the State Council's yearly decision — the
operator loads it (``resolvers.cases.arrangement``). So a computed year has only the holidays and the
weekends off; it errs towards working days, i.e. towards earlier due times.

Years before 2025 use other rules (three-day 劳动节 until 2008, 春节 from 初一 until 2025); the package
covers 2004–2026, and for an earlier year not in it nothing is computed (plain Monday–Friday).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

import chinese_calendar
from lunar_python import Lunar

__all__ = ["FESTIVALS", "STATUTORY_SINCE", "package_day", "package_knows", "statutory_holidays"]

# The first year of the rules computed here (the State Council's decision of 2024-11-10, in force 2025-01-01).
STATUTORY_SINCE = 2025
# Names as the 放假办法 and the yearly notices write them.
FESTIVALS = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
# The package names its holidays in English; the notices' names for them.
_PACKAGE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
}
_CHINESE = {h.value: h.chinese for h in chinese_calendar.Holiday}


def _lunar(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _qingming(year: int) -> date:
    # The solar terms of lunar year `year`; 清明 (about 5 April) always falls in it, as the lunar year
    # starts between 21 January and 20 February.
    solar = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    found = date(solar.getYear(), solar.getMonth(), solar.getDay())
    if found.year != year:  # pragma: no cover — a guard against a library change, not a reachable case
        raise ValueError(f"清明 of {year} computed as {found}")
    return found


@lru_cache(maxsize=256)
def statutory_holidays(year: int) -> Mapping[date, str]:
    """The statutory days off of ``year`` (date → festival name), computed; empty before 2025."""
    if year < STATUTORY_SINCE:
        return MappingProxyType({})
    spring = _lunar(year, 1, 1)  # 正月初一; 除夕 is the day before, whether the twelfth month had 29 or 30 days
    days: dict[date, list[str]] = {}
    festival_days = [
        ("元旦", [date(year, 1, 1)]),
        ("春节", [spring + timedelta(days=k) for k in (-1, 0, 1, 2)]),
        ("清明节", [_qingming(year)]),
        ("劳动节", [date(year, 5, 1), date(year, 5, 2)]),
        ("端午节", [_lunar(year, 5, 5)]),
        ("中秋节", [_lunar(year, 8, 15)]),
        ("国庆节", [date(year, 10, k) for k in (1, 2, 3)]),
    ]
    for name, ds in festival_days:
        for d in ds:
            days.setdefault(d, []).append(name)  # 中秋 can fall inside 国庆 (2028-10-03)
    return MappingProxyType({d: "、".join(names) for d, names in sorted(days.items())})


@lru_cache(maxsize=512)
def package_knows(year: int) -> bool:
    """Whether the ``chinesecalendar`` package has the State Council's arrangement of ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def package_day(d: date) -> tuple[bool, str | None] | None:
    """The package's (working day?, holiday name) for ``d``; None for a year it does not know. The name is
    the holiday a day off belongs to or a make-up working day is worked for (调休), if any."""
    try:
        working = bool(chinese_calendar.is_workday(d))
        _, name = chinese_calendar.get_holiday_detail(d)
    except NotImplementedError:
        return None
    if name is None:
        return working, None
    return working, _PACKAGE_NAMES.get(name) or _CHINESE.get(name, name)
