"""The working calendar beyond the package's data (issue #22): the statutory holidays of
《全国年节及纪念日放假办法》 computed for any year from 2025, checked against the package's published
arrangements; the precedence tenant override > platform arrangement > package > statutory > weekday;
the arrangement file's format and checks.

Dates written by hand, from the published lunar calendar: 2027's 正月初一 is Saturday 6 February
(除夕 Friday 5 February), 端午 Wednesday 9 June, 中秋 Wednesday 15 September, 清明 Monday 5 April.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from lunar_python import Solar

from resolvers.cases import (
    ArrangementError,
    DaySource,
    WorkCalendar,
    describe_day,
    package_day,
    package_knows,
    parse_arrangement,
    statutory_holidays,
)
from tests.support.paths import ROOT

CAL = WorkCalendar()

STATUTORY_2027 = {
    date(2027, 1, 1): "元旦",
    date(2027, 2, 5): "春节", date(2027, 2, 6): "春节", date(2027, 2, 7): "春节", date(2027, 2, 8): "春节",
    date(2027, 4, 5): "清明节",
    date(2027, 5, 1): "劳动节", date(2027, 5, 2): "劳动节",
    date(2027, 6, 9): "端午节",
    date(2027, 9, 15): "中秋节",
    date(2027, 10, 1): "国庆节", date(2027, 10, 2): "国庆节", date(2027, 10, 3): "国庆节",
}


# --------------------------------------------------------------------------- 2027, without any arrangement


def test_the_package_does_not_know_2027() -> None:
    # The premise of issue #22: if a newer package knows 2027, these tests should move to its first unknown year.
    assert package_knows(2026) and not package_knows(2027)
    assert package_day(date(2027, 1, 1)) is None


def test_2027_statutory_holidays_are_computed() -> None:
    assert dict(statutory_holidays(2027)) == STATUTORY_2027


def test_2027_spring_festival_runs_from_chuxi_to_chusan() -> None:
    # 除夕 is the last day of the twelfth lunar month (the 29th of 2026-27's: it has 29 days), 初三 the third.
    first, last = Solar.fromYmd(2027, 2, 5).getLunar(), Solar.fromYmd(2027, 2, 8).getLunar()
    assert (first.getMonth(), first.getDay()) == (12, 29)
    assert Solar.fromYmd(2027, 2, 6).getLunar().getMonth() == 1
    assert (last.getMonth(), last.getDay()) == (1, 3)


@pytest.mark.parametrize("d", sorted(STATUTORY_2027))
def test_2027_statutory_days_are_days_off(d: date) -> None:
    assert CAL.is_workday(d) is False
    assert CAL.explain(d) == (False, DaySource.STATUTORY)


@pytest.mark.parametrize(
    ("d", "working", "source"),
    [
        (date(2027, 1, 4), True, DaySource.WEEKDAY),  # Mon after New Year's Day
        (date(2027, 2, 4), True, DaySource.WEEKDAY),  # Thu before 除夕
        (date(2027, 2, 9), True, DaySource.WEEKDAY),  # Tue after 初三: no 调休 guessed
        (date(2027, 2, 13), False, DaySource.WEEKEND),  # Sat: no make-up working day guessed
        (date(2027, 5, 3), True, DaySource.WEEKDAY),  # no 补假 guessed for May 1-2 on a weekend
        (date(2027, 10, 4), True, DaySource.WEEKDAY),
    ],
)
def test_2027_other_days_are_plain_weekdays(d: date, working: bool, source: DaySource) -> None:
    assert CAL.explain(d) == (working, source)


def test_2027_due_times_skip_new_year_and_spring_festival() -> None:
    from datetime import datetime

    from resolvers.cases import SHANGHAI

    def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
        return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)

    # Received Thu 2026-12-31: Jan 1 is off, day 1 is Mon Jan 4.
    assert CAL.add_working_days(sh(2026, 12, 31, 10), 1) == sh(2027, 1, 4, 17, 30)
    # Received Thu 2027-02-04: 除夕 (Fri) to 初三 (Mon) off: day 1 is Tue Feb 9.
    assert CAL.add_working_days(sh(2027, 2, 4, 10), 1) == sh(2027, 2, 9, 17, 30)
    # 7 working hours from Thu Feb 4 17:00: 0.5 h that day, then Tue Feb 9 09:00-12:00, 13:30-17:00.
    assert CAL.add_working_hours(sh(2027, 2, 4, 17), 7) == sh(2027, 2, 9, 17)


def test_zhongqiu_inside_guoqing_is_named_for_both() -> None:
    # 2028's 中秋 is 3 October: one day off with both names, not a fourth day.
    days = statutory_holidays(2028)
    assert days[date(2028, 10, 3)] == "中秋节、国庆节"
    assert len(days) == 12


def test_before_2025_nothing_is_computed() -> None:
    assert statutory_holidays(2024) == {}
    assert CAL.explain(date(2003, 1, 1)) == (True, DaySource.WEEKDAY)  # before the package: weekdays only


# --------------------------------------------------------------------------- against the package's published years


def _off_in_package(d: date) -> bool:
    known = package_day(d)
    return known is not None and known[0] is False


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_computed_statutory_holiday_is_off_in_the_package(year: int) -> None:
    days = statutory_holidays(year)
    assert len(days) == 13  # 1 + 4 + 1 + 2 + 1 + 1 + 3, none overlapping in these years
    assert [d for d in days if not _off_in_package(d)] == []
    for d in days:
        assert CAL.explain(d) == (False, DaySource.PACKAGE)


@pytest.mark.parametrize("year", range(2008, 2027))
def test_lunar_and_solar_term_days_agree_with_every_published_year(year: int) -> None:
    """Since 2008 清明, 端午 and 中秋 are holidays, and 初一-初二 always were: in every year the package has,
    the computed days of them are days off — the library's lunar dates and solar terms are the State
    Council's. (The 2025 rules are not applied to earlier years: this checks only the dates.)"""
    from lunar_python import Lunar

    def solar(y: int, m: int, d: int) -> date:
        s = Lunar.fromYmd(y, m, d).getSolar()
        return date(s.getYear(), s.getMonth(), s.getDay())

    qm = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    days = [solar(year, 1, 1), solar(year, 1, 2), date(qm.getYear(), qm.getMonth(), qm.getDay()),
            solar(year, 5, 5), solar(year, 8, 15)]
    assert [d for d in days if not _off_in_package(d)] == []


# --------------------------------------------------------------------------- precedence


def test_arrangement_beats_statutory_and_override_beats_arrangement() -> None:
    arrangement = {
        date(2027, 2, 4): False,  # a day off the law does not name (the notice's longer Spring Festival)
        date(2027, 2, 20): True,  # Saturday: a make-up working day
        date(2027, 4, 5): True,  # the arrangement speaks of 清明 (contrived, to see who wins)
    }
    cal = WorkCalendar(arrangement=arrangement)
    assert cal.explain(date(2027, 2, 4)) == (False, DaySource.PLATFORM_ARRANGEMENT)
    assert cal.explain(date(2027, 2, 20)) == (True, DaySource.PLATFORM_ARRANGEMENT)
    assert cal.is_workday(date(2027, 2, 20))
    assert cal.explain(date(2027, 4, 5)) == (True, DaySource.PLATFORM_ARRANGEMENT)
    assert cal.explain(date(2027, 2, 5)) == (False, DaySource.STATUTORY)  # unnamed days keep their source
    assert cal.explain(date(2027, 2, 27)) == (False, DaySource.WEEKEND)
    tenant = WorkCalendar(overrides={date(2027, 2, 20): False, date(2027, 2, 4): True}, arrangement=arrangement)
    assert tenant.explain(date(2027, 2, 20)) == (False, DaySource.TENANT_OVERRIDE)
    assert tenant.explain(date(2027, 2, 4)) == (True, DaySource.TENANT_OVERRIDE)
    assert tenant.explain(date(2027, 4, 5)) == (True, DaySource.PLATFORM_ARRANGEMENT)


def test_arrangement_beats_the_package() -> None:
    # 2026-02-14 is a make-up Saturday in the package; an arrangement saying otherwise wins.
    assert CAL.explain(date(2026, 2, 14)) == (True, DaySource.PACKAGE)
    cal = WorkCalendar(arrangement={date(2026, 2, 14): False})
    assert cal.explain(date(2026, 2, 14)) == (False, DaySource.PLATFORM_ARRANGEMENT)


def test_make_up_saturday_counts_for_due_times() -> None:
    from datetime import datetime

    from resolvers.cases import SHANGHAI

    start = datetime(2027, 2, 19, 10, tzinfo=SHANGHAI)  # Fri
    assert CAL.add_working_days(start, 1) == datetime(2027, 2, 22, 17, 30, tzinfo=SHANGHAI)  # Mon
    cal = WorkCalendar(arrangement={date(2027, 2, 20): True})
    assert cal.add_working_days(start, 1) == datetime(2027, 2, 20, 17, 30, tzinfo=SHANGHAI)  # the make-up Sat


def test_notes_name_the_holiday() -> None:
    cal = WorkCalendar(overrides={date(2027, 3, 1): False}, arrangement={date(2027, 2, 20): True})

    def note(d: date) -> str | None:
        return describe_day(cal, d, override_notes={date(2027, 3, 1): "街道自定"},
                            holidays={date(2027, 2, 20): "春节"}).note

    assert note(date(2027, 2, 20)) == "春节调休上班"
    assert note(date(2027, 2, 5)) == "春节"
    assert note(date(2027, 3, 1)) == "街道自定"
    assert note(date(2027, 3, 2)) is None
    assert note(date(2026, 2, 14)) == "春节调休上班"  # the package's make-up day
    assert note(date(2026, 10, 7)) == "国庆节"
    assert note(date(2026, 10, 8)) is None


def test_arrangement_days_are_checked() -> None:
    with pytest.raises(TypeError):
        WorkCalendar(arrangement={date(2027, 1, 1): 0})  # type: ignore[dict-item]


# --------------------------------------------------------------------------- the arrangement file


def test_the_example_file_is_2026_as_the_package_has_it() -> None:
    a = parse_arrangement((ROOT / "examples" / "calendar" / "2026.json").read_bytes())
    assert (a.year, a.title, a.warnings) == (2026, "国务院办公厅关于2026年部分节假日安排的通知", ())
    assert a.working_days == [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                              date(2026, 9, 20), date(2026, 10, 10)]
    assert len(a.days_off) == 33
    cal = WorkCalendar(arrangement={d: w for d, (w, _) in a.days.items()})
    d = date(2026, 1, 1)
    while d.year == 2026:  # every day of the year: the file with weekdays == the package
        assert cal.is_workday(d) == CAL.is_workday(d), d
        d += timedelta(days=1)


def _file(**changes: Any) -> str:
    data: dict[str, Any] = {"year": 2027, "title": "国务院办公厅关于2027年部分节假日安排的通知",
                            "holidays": [{"name": "元旦", "off": ["2027-01-01/2027-01-03"]}]}
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)


def test_a_minimal_file_and_its_warnings() -> None:
    a = parse_arrangement(_file(number="国办发明电〔2026〕1号", published="2026-11-04"))
    assert a.days_off == [date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)] and a.working_days == []
    assert a.number == "国办发明电〔2026〕1号" and a.published == date(2026, 11, 4)
    # Only New Year's Day is listed: the other 12 statutory days are named as warnings, not refused.
    assert len(a.warnings) == 12 and "春节 2027-02-05" in a.warnings[0]
    # a make-up working day may lie just before the year (as 2011-12-31 did for 2012)
    b = parse_arrangement(_file(holidays=[{"name": "元旦", "off": ["2027-01-01"], "work": ["2026-12-26"]}]))
    assert b.working_days == [date(2026, 12, 26)]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("not json", "JSON"),
        ("[1]", "JSON 对象"),
        (_file(yaer=2027), "未知的键 'yaer'"),
        (_file(year=1999), "year"),
        (_file(year="2027"), "year"),
        (_file(title=""), "title"),
        (_file(holidays=[]), "holidays"),
        (_file(holidays=[{"name": "元旦", "off": ["2027-1-1"]}]), "日期 '2027-1-1' 无效"),
        (_file(holidays=[{"name": "元旦", "off": ["2027-02-30"]}]), "无效"),
        (_file(holidays=[{"name": "元旦", "off": ["2027-01-03/2027-01-01"]}]), "从前往后"),
        (_file(holidays=[{"name": "春节", "off": ["2027-02-01/2027-03-15"]}]), "不超过 31 天"),
        (_file(holidays=[{"name": "元旦", "off": ["2026-12-31"]}]), "不在 2027 年内"),
        (_file(holidays=[{"name": "元旦", "off": ["2027-01-01"], "work": ["2027-01-01"]}]), "重复"),
        (_file(holidays=[{"name": "元旦", "off": ["2027-01-01"]}, {"name": "x", "off": ["2027-01-01"]}]), "重复"),
        (_file(holidays=[{"name": "元旦", "off": ["2027-01-01"], "work": ["2026-10-01"]}]), "太远"),
        (_file(holidays=[{"name": "元旦", "of": ["2027-01-01"]}]), "未知的键 'of'"),
        (_file(holidays=[{"name": "元旦", "off": "2027-01-01"}]), "日期列表"),
        (_file(holidays=[{"off": ["2027-01-01"]}]), "name"),
    ],
)
def test_bad_files_are_refused_with_the_reason(text: str, needle: str) -> None:
    with pytest.raises(ArrangementError) as e:
        parse_arrangement(text)
    assert any(needle in p for p in e.value.problems), e.value.problems


def test_every_problem_is_reported_at_once() -> None:
    text = _file(yaer=1, title="", holidays=[{"name": "元旦", "off": ["2027-13-01", "2028-01-01"]}])
    with pytest.raises(ArrangementError) as e:
        parse_arrangement(text)
    assert len(e.value.problems) == 4, e.value.problems
