"""The compiled working calendar (工作日历, issue #21): ``workingCalendar(from:, to:)`` as the resolvers
answer it, from the days this process keeps per (tenant, year, calendar version)
(``resolvers.cases.kept_calendar_years``) — not from SQL: the days come from the tenant's overrides, the
platform's arrangements, the package and the statutory holidays computed in Python. The resolvers'
refusals first (``check_calendar_period``: the period, then calendar · read).

Why a compiled field and not an answer kept per process beside the compiled path: the days are a
parameter of the plan (``$n::json``, the selection's JSON of each day, rendered once per kept year), so a
document that asks the calendar beside other compiled fields stays one statement, and a request costs
what any compiled read costs — one plan lookup, one statement; graphql-core no longer walks four fields
of up to 366 days. When a year of the period is not kept at the calendar version the request read (the
first request of a version, a change of the calendar since), the plan's parameter declines and the
resolvers answer — and keep the years, so the next request is compiled.

``TABLES`` is what ``compiled.fields`` adds to ``FIELDS``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import orjson
from graphql import GraphQLObjectType
from sqlalchemy import ColumnElement

from compiled.compiler import Bindings, Compiler, FieldTable, Sel, Unsupported
from models.bounded import keep
from resolvers.cases import CalendarDay, check_calendar_period, kept_calendar_years
from resolvers.errors import ServiceError

# How each field of WorkingDay is written (its GraphQL value from a described day).
_VALUES: dict[str, Callable[[CalendarDay], Any]] = {
    "__typename": lambda _d: "WorkingDay",
    "date": lambda d: d.day.isoformat(),
    "working": lambda d: d.working,
    "source": lambda d: d.source.name,
    "note": lambda d: d.note,
}

# Per (kept year, selection): each day's JSON text. Keyed by the kept tuple's identity (the tuple is kept
# in the value, so its id is not reused while the entry lives); a new version is a new tuple.
_rendered: dict[tuple[int, tuple[tuple[str, str], ...]], tuple[tuple[CalendarDay, ...], tuple[str, ...]]] = {}
_RENDERED_MAX = 256


def _days_json(days: tuple[CalendarDay, ...], fields: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    key = (id(days), fields)
    hit = _rendered.get(key)
    if hit is not None and hit[0] is days:
        return hit[1]
    texts = tuple(orjson.dumps({k: _VALUES[name](d) for k, name in fields}).decode() for d in days)
    keep(_rendered, key, (days, texts), _RENDERED_MAX)
    return texts


def _period(a: dict[str, Any]) -> tuple[date, date]:
    return a["from"], a["to"]


def working_calendar(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    ref = cx.ref(sel)
    day_type = cx.schema.get_type("WorkingDay")
    assert isinstance(day_type, GraphQLObjectType)
    fields = tuple((s.key, s.name) for s in cx.collect(day_type, cx.subsets(sel)))
    if any(name not in _VALUES for _, name in fields):
        raise Unsupported("WorkingDay field")

    def days(b: Bindings) -> str:
        start, end = _period(b.args(ref))
        try:
            check_calendar_period(b.ctx, start, end)
        except ServiceError:
            raise Unsupported("refused by the resolvers") from None  # strawberry answers with their error
        years = kept_calendar_years(b.ctx, start.year, end.year)
        if years is None:
            raise Unsupported("a year not kept at this calendar version")  # the resolvers load and keep it
        parts: list[str] = []
        for y in range(start.year, end.year + 1):
            texts = _days_json(years[y], fields)
            first = (start if y == start.year else date(y, 1, 1)) - date(y, 1, 1)
            last = (end if y == end.year else date(y, 12, 31)) - date(y, 1, 1)
            parts.extend(texts[first.days:last.days + 1])
        return "[" + ",".join(parts) + "]"

    days(cx.bindings)  # refuse now what a reuse would refuse (and decline until the years are kept)
    return cx.slot(days, "json")


TABLES: dict[str, FieldTable] = {"Query": {"workingCalendar": working_calendar}}
