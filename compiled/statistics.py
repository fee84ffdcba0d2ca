"""The compiled review figures (复盘统计, issue #21): ``caseStatistics(areaId:, from:, to:)`` and a partner
system's ``sharedStatistics(communityId:, from:, to:)``, each in one statement.

The figures are the resolvers' own aggregate, ``resolvers.cases.statistics_aggregate`` over
``statistics_filters`` (``case_in_area``, the period, ``case_predicate`` of the statistics grant), the
same statement the resolvers run on PostgreSQL — with the area's path looked up inside it (the
resolvers read it in a statement of its own first) and the period's bounds and the clock as
parameters. Around it, the strawberry type's fields: the counts, ``byState``/``byCategory`` sorted by
key as ``schema.cases.types.statistics_from`` sorts them, the two rates as Python's float division
(float8's, written as strawberry writes a Float), and the two handling-hour figures as markers that
``compiled.plans.finish`` rounds in Python by the resolvers' own rule (``resolvers.cases.handling_hours``:
Python's round on the double, half to even, which PostgreSQL's round(numeric) is not).

A partner's figures are the same aggregate as ``resolvers.cobuilding.shared_reach`` computes them (the
statistics grant with the community as scope), where an agreement in force shares statistics·read for
the community (its paths are in the plan's key), and the activities by ``shared_activity_counts``.

Left to the resolvers, with their typed errors: a period reversed or longer than a year (INVALID), a
bad or non-area ID, an actor without the statistics grant or a partner without a sharing agreement
(FORBIDDEN), and an unknown area or a community no agreement shares (the statement yields NULL)."""

from __future__ import annotations

import enum
import typing
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, Text, any_, case, cast, func, null, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression

from compiled.case_filters import area_uuid, areas_of
from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.sorted_lists import float_json
from compiled.sql import enum_name, indexable, json_list, lit, or_branches
from models import ActivityState, Area, AreaKind, Case, CaseState
from policies.actor import Actor, Grant
from policies.cobuilding import agreement_reach
from resolvers.cases import local_bounds, statistics_aggregate, statistics_filters
from resolvers.cobuilding import shared_activity_counts, shared_reach
from resolvers.errors import ServiceError
from resolvers.ids import decode_global_id

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
    in_area, *period, scope = statistics_filters(grant, actor, path, lo, hi)
    where = (in_area, *period, by_index(scope, cx.tenant_id))
    agg = statistics_aggregate(where, cx.now, name=cases).subquery()
    return select(cx.sub(type_name, sel, agg)).select_from(agg).scalar_subquery()


def by_index(scope: ColumnElement[bool], tenant_id: Any) -> ColumnElement[bool]:
    """The grant's scope predicate with each branch as its own index scan may read it, so that PostgreSQL
    ORs their bitmaps (issue #21, op 3), each on the cases' (tenant, area, report time) index with the
    period's range in it (migration 0052): the buildings a scope's grids cover as ``area_id = ANY(ARRAY(…))``
    (an array the index is probed with; ``IN (…)`` was a hashed subplan tested per row), and a scope path's
    prefix as the ids of the areas under it, the same way. A case's ``area_path`` is its area's path (a report
    copies it, ``move_area`` moves both in one transaction), so the cases under a path are the cases of the
    areas under it. Read as the path prefix on the (tenant, path, report time) index, the prefix's whole
    range was read — every case of the scope's history, the period tested on each entry (PostgreSQL 15 has no
    skip scan): 3–4 ms for a community's 765 cases of a month at scale 0.1 (bench/RESULTS.md, fifth session);
    per area the period is one contiguous range. Areas are few per tenant, and the areas' path index finds
    the subtree (starts_with: leakproof, so row-level security lets it reach the index). Before 0052 the
    period's range alone narrowed the scan: every case of the tenant's month read and tested (7,417 for 767).
    The same rows: ``= ANY`` of an array is ``IN`` of its rows."""
    branches = []
    for branch in or_branches(scope):
        areas = areas_of(branch)
        if areas is None:
            areas = _subtree(branch, tenant_id)
        branches.append(indexable(branch) if areas is None else Case.area_id == any_(
            func.array(areas.scalar_subquery(), type_=ARRAY(Case.__table__.c.area_id.type))))
    return or_(*branches) if len(branches) > 1 else branches[0]


_SUBTREE = Area.__table__.alias("stat_subtree")


def _subtree(branch: ColumnElement[bool], tenant_id: Any) -> Any:
    """``SELECT id`` of the areas under the prefix when ``branch`` is ``cases.area_path`` starting with a
    prefix (LIKE's, no escape), else None."""
    if not (isinstance(branch, BinaryExpression) and branch.operator is operators.startswith_op
            and not branch.modifiers.get("escape") and not branch.modifiers.get("autoescape")
            and getattr(branch.left, "table", None) is Case.__table__ and branch.left.key == "area_path"):
        return None
    a = _SUBTREE
    return select(a.c.id).where(a.c.tenant_id == tenant_id, func.starts_with(a.c.path, branch.right))


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


def key_counts(cx: Compiler, sel: Sel, counts: ColumnElement[Any], type_name: str,
               kinds: dict[str, type[enum.Enum] | None]) -> ColumnElement[Any]:
    """A json_object_agg of counts as the list of ``type_name`` rows sorted by key (Python's order: code
    points), each with ``kinds``' columns: the key as that enum's GraphQL name, null when it is none of it."""
    each = func.json_each_text(counts).table_valued("key", "value").render_derived(name="kc")
    rows = select(each.c.key.label("key"), cast(each.c.value, Integer).label("count"),
                  *[(enum_name(each.c.key, kind) if kind is not None else null()).label(name)
                    for name, kind in kinds.items()]).subquery("kcr")
    return select(json_list(cx.sub(type_name, sel, rows), rows.c.key.collate("C"))).select_from(rows).scalar_subquery()


def _count(name: str) -> Any:
    return lambda _cx, f, _s: f.c[name]


CASE_STATISTICS: FieldTable = {
    "total": _count("total"),
    "byState": lambda cx, f, s: key_counts(cx, s, f.c.by_state, "KeyCount", {"state": CaseState}),
    "byCategory": lambda cx, f, s: key_counts(cx, s, f.c.by_category, "KeyCount", {"state": None}),
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



# ---------------------------------------------------------------- a partner's shared figures (共享统计)


@dataclass(frozen=True)
class _Shared:
    """What SharedStatistics' fields read: the community (id, path) and the period's bounds."""

    community_id: ColumnElement[Any]
    path: ColumnElement[str]
    lo: ColumnElement[Any]
    hi: ColumnElement[Any]


def shared_statistics(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    """resolvers.cobuilding.shared_statistics: a community one of the partner's agreements in force shares
    statistics·read for (the agreements' paths are in the plan's key), its cases' figures computed as
    ``shared_reach`` (statistics·read with the community as scope) and its activities'."""
    actor = cx.ctx.actor
    paths = agreement_reach(actor, "statistics", "read")
    if actor.partner_unit_id is None or not paths:
        raise Unsupported("not shared")  # the resolvers' FORBIDDEN
    cx.shape(sel, _period_ok)
    ar = Area.__table__.alias("shared_community")
    cid = cx.param(sel, _community_id, "uuid")
    path = (select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == cid,
                                    ar.c.kind == lit(AreaKind.COMMUNITY.value), ar.c.path.in_(paths))
            .scalar_subquery())
    cx.guards.append(path.is_not(None))  # no agreement shares it: the resolvers' FORBIDDEN
    return cx.sub("SharedStatistics", sel, _Shared(cid, cast(path, Text), cx.param(sel, _lo, "timestamptz"),
                                                   cx.param(sel, _hi, "timestamptz")))


def _community_id(a: dict[str, Any]) -> uuid.UUID:
    try:
        kind, value = decode_global_id(str(a["communityId"]))
    except ServiceError:
        raise Unsupported("bad id") from None
    if kind != "Community":
        raise Unsupported("not a community's id")  # the resolvers' typed error
    return value


def _community(cx: Compiler, sh: _Shared, s: Sel) -> ColumnElement[Any]:
    ar = Area.__table__.alias("shared_ref")
    row = select(ar.c.id, ar.c.name).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == sh.community_id).subquery()
    return select(cx.sub("CommunityRef", s, row)).select_from(row).scalar_subquery()


def _shared_cases(cx: Compiler, sh: _Shared, s: Sel) -> ColumnElement[Any]:
    # The path stands where the predicates read a scope's path (they only compare it): the same rule.
    reach = shared_reach(cx.ctx.actor, typing.cast(str, sh.path))
    return figures(cx, s, "SharedCaseFigures", sh.path, sh.lo, sh.hi, reach.grant("statistics", "read"), reach)


def _shared_activities(cx: Compiler, sh: _Shared, s: Sel) -> ColumnElement[Any]:
    acts = shared_activity_counts(sh.path, sh.lo, sh.hi).subquery("shared_acts")
    figures = select(func.coalesce(func.sum(acts.c.n), 0).label("total"),
                     func.coalesce(func.sum(acts.c.places), 0).label("places"),
                     func.coalesce(func.sum(acts.c.signed_up), 0).label("signed_up"),
                     func.json_object_agg(acts.c.state, acts.c.n).label("by_state")).subquery("shared_act_figures")
    return select(cx.sub("SharedActivityFigures", s, figures)).select_from(figures).scalar_subquery()


SHARED_KINDS: dict[str, type[enum.Enum] | None] = {"case_state": None, "activity_state": None}

SHARED_STATISTICS: FieldTable = {"community": _community, "cases": _shared_cases, "activities": _shared_activities}
SHARED_CASE_FIGURES: FieldTable = {
    **{k: CASE_STATISTICS[k] for k in ("total", "resolved", "onTimeRate", "meanHandlingHours", "satisfactionRate")},
    "byState": lambda cx, f, s: key_counts(cx, s, f.c.by_state, "SharedCount",
                                           {**SHARED_KINDS, "case_state": CaseState}),
    "byCategory": lambda cx, f, s: key_counts(cx, s, f.c.by_category, "SharedCount", SHARED_KINDS),
}
SHARED_ACTIVITY_FIGURES: FieldTable = {
    "total": _count("total"),
    "places": _count("places"),
    "signedUp": _count("signed_up"),
    "byState": lambda cx, f, s: key_counts(cx, s, f.c.by_state, "SharedCount",
                                           {**SHARED_KINDS, "activity_state": ActivityState}),
}
SHARED_COUNT: FieldTable = {
    "key": lambda _cx, r, _s: r.c.key,
    "count": lambda _cx, r, _s: r.c.count,
    "caseState": lambda _cx, r, _s: r.c.case_state,
    "activityState": lambda _cx, r, _s: r.c.activity_state,
}

TABLES: dict[str, FieldTable] = {"Query": {"caseStatistics": case_statistics, "sharedStatistics": shared_statistics},
                                 "CaseStatistics": CASE_STATISTICS, "KeyCount": KEY_COUNT,
                                 "SharedStatistics": SHARED_STATISTICS, "SharedCaseFigures": SHARED_CASE_FIGURES,
                                 "SharedActivityFigures": SHARED_ACTIVITY_FIGURES, "SharedCount": SHARED_COUNT}
