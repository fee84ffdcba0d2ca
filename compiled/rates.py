"""The compiled case rates (考核指标, issue #21): ``caseRates(period:, groupBy:, areaId:)``,
``handlingUnitRanking(period:, areaId:)`` and ``caseRateDefinitions``, each in one statement.

The counts are the resolvers' own aggregate, ``resolvers.cases.rate_aggregate`` over ``rate_filters``
(the period, ``case_predicate`` of the statistics grant, ``case_in_area``), the statement the resolvers
run — with the area's path looked up inside it under ``area_read_predicate`` (the resolvers read it
first, in a statement of its own), the tenant's definitions (case_settings) and the groups' names
(categories, or the communities the rows name) beside it, and the period's bounds and the clock as
parameters. What the rows become is Python's, as in the resolvers: the 响应率 of cases without a 受理
stage due time judged on the working calendar, the composite score rounded by Python's round (half to
even on the double: PostgreSQL's round(numeric) rounds half up, and float8 → numeric keeps 15 digits),
the ranking sorted by that rounded score. So the statement returns the data as a "$rates" marker (the
payload as one JSON string, with the selection it must be written as), and ``compiled.plans.finish``
replaces it by the object, made by the resolvers' functions (``rate_rows``, ``labelled``, ``ranked``,
``definitions_from``) and written in the selection's order by ``written`` below.

The calendar: a process keeps it per tenant and calendar version (``resolvers.cases.kept_calendar``, no
statement). When the rows hold cases judged on working time ("$calendar" : true) and the process does not
keep the calendar, ``plans.run_compiled`` hands the request to the resolvers, which load it.

Left to the resolvers, with their typed errors: a bad period (INVALID), a bad or non-area ID, an actor
without the statistics grant or (caseRateDefinitions) without a role (FORBIDDEN), and an unknown area or
one the actor may not read (the statement yields NULL: NOT_FOUND)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import orjson
from graphql import GraphQLObjectType, SelectionSetNode, get_named_type
from sqlalchemy import ColumnElement, Text, and_, cast, false, func, literal_column, select, true
from sqlalchemy.orm import aliased

from compiled.case_filters import area_uuid
from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.sql import lit, once
from models import Area, CaseCategory, CaseSettings, SlaUnit
from models.area import community_id_sql
from policies.filters import area_read_predicate
from resolvers.cases import (
    RATE_KEYS,
    PeriodKind,
    RateGroupBy,
    RatesResult,
    definitions_from,
    group_width,
    kept_calendar,
    labelled,
    labels_of,
    local_bounds,
    period_bounds,
    ranked,
    rate_aggregate,
    rate_filters,
    rate_rows,
    require_staff,
)
from resolvers.context import RequestContext
from resolvers.errors import ServiceError

# Days the compiled rates answer for (as compiled.statistics); outside, the resolvers do.
_FIRST_DAY, _LAST_DAY = date(1971, 1, 1), date(9000, 12, 31)
# The units whose response limit is counted on the working calendar (resolvers.cases.rates.deadline).
_WORKING = (SlaUnit.WORKING_HOURS.value, SlaUnit.WORKING_DAYS.value)


def _member(cls: type[Any], value: Any) -> Any:
    """An enum argument as graphql-core coerced it (the member, or its value)."""
    return value if isinstance(value, cls) else cls(getattr(value, "value", value))


@lru_cache(maxsize=256)
def _period(kind: Any, year: int | None, number: int | None, start: date | None, end: date | None
            ) -> tuple[date, date, datetime, datetime]:
    """The period's first and last day by the resolvers' rule (period_bounds) and their local bounds
    (local_bounds), once per process for each period asked: a request reads them five times (its plan's
    check and four parameters), and each made the days, enum members and a time zone again (issue #21).
    A bad period is the resolvers' to refuse (Unsupported, not kept)."""
    try:
        first, last = period_bounds(_member(PeriodKind, kind), year=year, number=number, start=start, end=end)
    except ServiceError:
        raise Unsupported("period") from None
    if not (_FIRST_DAY <= first and last <= _LAST_DAY):
        raise Unsupported("day out of range")
    return (first, last, *local_bounds(first, last))


def _period_of(a: dict[str, Any]) -> tuple[date, date, datetime, datetime]:
    p = a["period"]
    return _period(p["kind"], p.get("year"), p.get("number"), p.get("from"), p.get("to"))


def _period_ok(a: dict[str, Any]) -> bool:
    _period_of(a)
    return True


def _group_by(a: dict[str, Any]) -> RateGroupBy:
    group_by: RateGroupBy = _member(RateGroupBy, a.get("groupBy") or RateGroupBy.TOTAL)
    return group_by


def _spec(cx: Compiler, type_name: str, sets: list[SelectionSetNode]) -> list[Any]:
    """The selection as ``written`` writes it: [type, [[response key, field, its own spec or null], …]]."""
    type_ = cx.schema.get_type(type_name)
    assert isinstance(type_, GraphQLObjectType)
    fields: list[list[Any]] = []
    for s in cx.collect(type_, sets):
        if s.name != "__typename" and s.name not in WRITERS[type_name]:
            raise Unsupported(f"{type_name}.{s.name}")
        inner = None if s.field_def is None else get_named_type(s.field_def.type)
        child = _spec(cx, inner.name, cx.subsets(s)) if isinstance(inner, GraphQLObjectType) else None
        fields.append([s.key, s.name, child])
    return [type_name, fields]


def _settings() -> tuple[ColumnElement[Any], ColumnElement[bool]]:
    """The tenant's case_settings columns the definitions are made of (NULL: no row), and whether its
    response limit is counted on the working calendar (resolvers.cases.definitions_from's unit)."""
    row = select(func.json_build_array(CaseSettings.response_limit_amount, CaseSettings.response_limit_unit,
                                       CaseSettings.rate_weights)).limit(1).scalar_subquery()
    unit = (select(cast(CaseSettings.response_limit_unit, Text))
            .where(CaseSettings.response_limit_amount.is_not(None)).limit(1).scalar_subquery())
    return row, func.coalesce(unit, lit(SlaUnit.WORKING_HOURS.value)).in_([lit(u) for u in _WORKING])


def _marker(payload: dict[str, ColumnElement[Any]], calendar: ColumnElement[bool]) -> ColumnElement[Any]:
    """{"$rates" : the payload's JSON text, "$calendar" : whether finishing it needs the working calendar}."""
    pairs = [x for k, v in payload.items() for x in (lit(k), v)]
    return func.json_build_object(lit("$rates"), cast(func.json_build_object(*pairs), Text), lit("$calendar"),
                                  calendar)


def _json_literal(value: Any) -> ColumnElement[Any]:
    text = orjson.dumps(value).decode()  # GraphQL names and keys only: no quote to escape
    assert "'" not in text
    return literal_column(f"'{text}'::json")


def _rates(cx: Compiler, sel: Sel, group_by: RateGroupBy, ranking: bool) -> ColumnElement[Any]:
    cx.shape(sel, _period_ok)
    actor = cx.ctx.actor
    grant = actor.grant("statistics", "read")
    if not grant:
        raise Unsupported("no statistics grant")  # the resolvers' FORBIDDEN (before their NOT_FOUND)
    spec = _spec(cx, "CaseRates", cx.subsets(sel))
    path = None
    if cx.shape(sel, lambda a: a.get("areaId") is not None):
        ra = aliased(Area, name="rate_area")
        path = cast(once(select(ra.path).where(ra.id == cx.param(sel, area_uuid, "uuid"),
                                               area_read_predicate(actor.grant("area", "read"), actor, ra)),
                         f"rate{len(cx.slots)}_area"), Text)  # the guard's and the filters' (compiled.sql.once)
        cx.guards.append(path.is_not(None))  # an unknown area, or one the actor may not read: NOT_FOUND
    lo = cx.param(sel, lambda a: _period_of(a)[2], "timestamptz")
    hi = cx.param(sel, lambda a: _period_of(a)[3], "timestamptz")
    name = f"rate{len(cx.slots)}"  # names of its own per field (aliases may ask twice)
    found = rate_aggregate(group_by, rate_filters(grant, actor, lo, hi, path), lo, hi, cx.now,
                           name=name).cte(f"{name}_found")
    names: ColumnElement[Any] = literal_column("NULL::json")
    if group_by is RateGroupBy.CATEGORY:
        names = select(func.json_object_agg(CaseCategory.code, CaseCategory.name)).scalar_subquery()
    elif group_by is RateGroupBy.COMMUNITY:
        ids = select(community_id_sql(found.c.g_path))
        names = select(func.json_object_agg(Area.id, Area.name)).where(Area.id.in_(ids)).scalar_subquery()
    settings, working = _settings()
    payload = {"spec": _json_literal(spec), "group": lit(group_by.value),
               "ranked": true() if ranking else false(),
               "start": cx.param(sel, lambda a: _period_of(a)[0], "date"),
               "end": cx.param(sel, lambda a: _period_of(a)[1], "date"),
               "settings": settings, "found": func.json_agg(func.json_build_array(*found.c)), "names": names}
    fallback = func.coalesce(func.bool_or(found.c.fallback_reported.is_not(None)), false())
    return select(_marker(payload, and_(fallback, working))).select_from(found).scalar_subquery()


def case_rates(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    return _rates(cx, sel, cx.shape(sel, _group_by), False)


def handling_unit_ranking(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    return _rates(cx, sel, RateGroupBy.HANDLING_UNIT, True)


def case_rate_definitions(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    try:
        require_staff(cx.ctx)  # the resolvers' own check (staff_definitions): a role in the tenant
    except ServiceError:
        raise Unsupported("not staff") from None
    settings, _ = _settings()
    return _marker({"spec": _json_literal(_spec(cx, "CaseRateDefinitions", cx.subsets(sel))),
                    "settings": settings}, false())


TABLES: dict[str, FieldTable] = {"Query": {"caseRates": case_rates, "handlingUnitRanking": handling_unit_ranking,
                                           "caseRateDefinitions": case_rate_definitions}}


# ---------------------------------------------------------------- the marker, finished in Python


def _ratio(key: str) -> Callable[[Any], Any]:
    return lambda r: r.ratios[key]


# Per type, each field's value as the strawberry types give it (schema/cases/rates.py); Floats as floats.
WRITERS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "CaseRates": {"periodStart": lambda r: r.start.isoformat(), "periodEnd": lambda r: r.end.isoformat(),
                  "groupBy": lambda r: r.group_by.name, "definitions": lambda r: r.definitions,
                  "rows": lambda r: r.rows},
    "CaseRateDefinitions": {"responseLimit": lambda d: float(d.response_amount),
                            "responseLimitUnit": lambda d: d.response_unit.name,
                            "weights": lambda d: [(k, d.weights[k]) for k in RATE_KEYS],
                            "customised": lambda d: d.customised},
    "CaseRateWeight": {"rate": lambda w: w[0], "weight": lambda w: float(w[1])},
    "CaseRateRow": {"key": lambda r: r.key, "label": lambda r: r.label, "cases": lambda r: r.cases,
                    "responseRate": _ratio("response"), "resolutionRate": _ratio("resolution"),
                    "satisfactionRate": _ratio("satisfaction"), "onTimeRate": _ratio("on_time"),
                    "returnRate": _ratio("return"), "reworkRate": _ratio("rework"),
                    "callbackRate": _ratio("callback"), "score": lambda r: r.score},
    "CaseRate": {"numerator": lambda r: r.numerator, "denominator": lambda r: r.denominator,
                 "rate": lambda r: r.rate},
}


def written(value: Any, spec: list[Any]) -> dict[str, Any]:
    """``value`` as the selection ``spec`` (``_spec``) asks for it, keys in the selection's order."""
    type_name, fields = spec
    writers = WRITERS[type_name]
    out: dict[str, Any] = {}
    for key, name, child in fields:
        if name == "__typename":
            out[key] = type_name
            continue
        v = writers[name](value)
        if child is not None and v is not None:
            v = [written(x, child) for x in v] if isinstance(v, list) else written(v, child)
        out[key] = v
    return out


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)  # as asyncpg returns it


def needs_calendar(data: str, ctx: RequestContext) -> bool:
    """Whether a "$rates" marker needs the working calendar the process does not keep (the resolvers load it)."""
    return '"$calendar" : true' in data and kept_calendar(ctx.db) is None


def finished(payload: str, ctx: RequestContext) -> str:
    """The JSON text of a "$rates" marker's payload: the definitions, or the rates made by the resolvers'
    functions from the aggregate's rows (judged at the request's clock, in the request's language)."""
    p = orjson.loads(payload)
    amount, unit, weights = p["settings"] or (None, None, None)
    definitions = definitions_from(None if amount is None else float(amount), unit, weights)
    if "group" not in p:
        return orjson.dumps(written(definitions, p["spec"])).decode()
    group_by = RateGroupBy(p["group"])
    width = group_width(group_by)
    found = [(*r[:width], _when(r[width]), _when(r[width + 1]), *r[width + 2:]) for r in p["found"] or ()]
    calendar = kept_calendar(ctx.db) if definitions.response_unit is not SlaUnit.CALENDAR_HOURS else None
    rows, named = rate_rows(group_by, found, definitions, calendar, ctx.now)
    listed = labelled(group_by, rows, named, labels_of(group_by, p["names"] or {}), definitions)
    result = RatesResult(date.fromisoformat(p["start"]), date.fromisoformat(p["end"]), group_by, definitions,
                         ranked(listed) if p["ranked"] else listed)
    return orjson.dumps(written(result, p["spec"])).decode()
