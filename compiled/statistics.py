"""The compiled review figures (复盘统计, issue #21): ``caseStatistics(areaId:, from:, to:)`` in one statement.

The figures are the resolvers' own aggregate, ``resolvers.cases.statistics_aggregate`` over
``statistics_filters`` (``case_in_area``, the period, ``case_predicate`` of the statistics grant), the
same statement the resolvers run on PostgreSQL — with the area's path looked up inside it (the
resolvers read it in a statement of its own first) and the period's bounds and the clock as
parameters. Around it, the strawberry type's fields: the counts, ``byState``/``byCategory`` sorted by
key as ``schema.cases.types.statistics_from`` sorts them, the two rates as Python's float division
(float8's, written as strawberry writes a Float), and the two handling-hour figures as markers that
``compiled.plans.finish`` rounds in Python by the resolvers' own rule (``resolvers.cases.handling_hours``:
Python's round on the double, half to even, which PostgreSQL's round(numeric) is not).

Left to the resolvers, with their typed errors: a period reversed or longer than a year (INVALID), a
bad or non-area ID, an actor without the statistics grant (FORBIDDEN), and an unknown area (NOT_FOUND:
the statement yields NULL)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, Text, case, cast, func, null, select

from compiled.case_filters import area_uuid
from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.sorted_lists import float_json
from compiled.sql import enum_name, json_list, lit
from models import Area, CaseState
from policies.actor import Actor, Grant
from resolvers.cases import local_bounds, statistics_aggregate, statistics_filters

# Days the compiled figures answer for; outside, the resolvers do (and their date arithmetic's limits).
_FIRST_DAY, _LAST_DAY = date(1971, 1, 1), date(9000, 12, 31)

# The marker compiled.plans.finish replaces by the rounded hours (see HOURS_MARKER there).
HOURS_KEY = "$hours"


def _day(a: dict[str, Any], name: str) -> date:
    d = a[name]
    if not isinstance(d, date) or not _FIRST_DAY <= d <= _LAST_DAY:
        raise Unsupported("day out of range")
    return d


def _period_ok(a: dict[str, Any]) -> bool:
    start, end = _day(a, "from"), _day(a, "to")
    if end < start or (end - start).days > 366:
        raise Unsupported("period")  # the resolvers' INVALID
    return True


def _lo(a: dict[str, Any]) -> Any:
    return local_bounds(_day(a, "from"), _day(a, "to"))[0]


def _hi(a: dict[str, Any]) -> Any:
    return local_bounds(_day(a, "from"), _day(a, "to"))[1]


def figures(cx: Compiler, sel: Sel, type_name: str, path: ColumnElement[str], lo: ColumnElement[Any],
            hi: ColumnElement[Any], grant: Grant, actor: Actor) -> ColumnElement[Any]:
    """The object ``type_name`` (CaseStatistics' fields) of the cases statistics_filters picks: one aggregate row."""
    cases = f"stat_cases_{len(cx.slots)}"  # a name of its own per field (aliases may ask twice)
    agg = statistics_aggregate(statistics_filters(grant, actor, path, lo, hi), cx.now, name=cases).subquery()
    return select(cx.sub(type_name, sel, agg)).select_from(agg).scalar_subquery()


def case_statistics(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    cx.shape(sel, _period_ok)
    grant = cx.ctx.actor.grant("statistics", "read")
    if not grant:
        raise Unsupported("no statistics grant")  # the resolvers' FORBIDDEN (after their NOT_FOUND)
    ar = Area.__table__.alias("stat_area")
    path = (select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == cx.param(sel, area_uuid, "uuid"))
            .scalar_subquery())
    cx.guards.append(path.is_not(None))  # an unknown area is the resolvers' NOT_FOUND
    lo = cx.param(sel, _lo, "timestamptz")
    hi = cx.param(sel, _hi, "timestamptz")
    return figures(cx, sel, "CaseStatistics", cast(path, Text), lo, hi, grant, cx.ctx.actor)


def ratio(part: ColumnElement[Any], whole: ColumnElement[Any]) -> ColumnElement[Any]:
    """part / whole as the resolvers divide two counts (a Python float), none when whole is 0."""
    return case((whole == 0, null()), else_=float_json(cast(part, Float) / cast(whole, Float)))


def hours(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """The unrounded hours as a marker for compiled.plans.finish, none when no case was resolved."""
    return case((value.is_(None), null()), else_=func.json_build_object(lit(HOURS_KEY), value))


def key_counts(cx: Compiler, sel: Sel, counts: ColumnElement[Any], *, states: bool) -> ColumnElement[Any]:
    """A json_object_agg of counts as the list of KeyCount rows, sorted by key (Python's order: code points)."""
    each = func.json_each_text(counts).table_valued("key", "value").render_derived(name="kc")
    rows = select(each.c.key.label("key"), cast(each.c.value, Integer).label("count"),
                  (enum_name(each.c.key, CaseState) if states else null()).label("state")).subquery("kcr")
    order = rows.c.key.collate("C")
    return select(json_list(cx.sub("KeyCount", sel, rows), order)).select_from(rows).scalar_subquery()


def _count(name: str) -> Any:
    return lambda _cx, f, _s: f.c[name]


CASE_STATISTICS: FieldTable = {
    "total": _count("total"),
    "byState": lambda cx, f, s: key_counts(cx, s, f.c.by_state, states=True),
    "byCategory": lambda cx, f, s: key_counts(cx, s, f.c.by_category, states=False),
    "resolved": _count("resolved"),
    "resolvedOnTime": _count("on_time"),
    "onTimeRate": lambda _cx, f, _s: ratio(f.c.on_time, f.c.with_due),
    "meanHandlingHours": lambda _cx, f, _s: hours(f.c.mean_hours),
    "medianHandlingHours": lambda _cx, f, _s: hours(f.c.median_hours),
    "withFeedback": _count("feedback"),
    "satisfied": _count("happy"),
    "satisfactionRate": lambda _cx, f, _s: ratio(f.c.happy, f.c.feedback),
    "reopened": _count("reopened"),
    "openOverdue": _count("overdue"),
}

KEY_COUNT: FieldTable = {
    "key": lambda _cx, r, _s: r.c.key,
    "count": lambda _cx, r, _s: r.c.count,
    "state": lambda _cx, r, _s: r.c.state,
}

TABLES: dict[str, FieldTable] = {"Query": {"caseStatistics": case_statistics},
                                 "CaseStatistics": CASE_STATISTICS, "KeyCount": KEY_COUNT}
