"""The compiled reads of one's own evaluation ratings (我的评分, issue #21): ``myEvaluationRatings(periodId:)``
and ``myEvaluationRatingsConnection(periodId:, first:, after:)``, each in one statement; and of a period's
ranking (评比排名): ``evaluationResults(periodId:, target:)`` and its connection, each in one statement.

The rows are the resolvers' own: ``resolvers.evaluations.my_ratings_filters`` (the period's ratings
the actor gave), by id. The fields are the strawberry type's: the target by name, the compound under
the area predicate (the area loader's), the scores as the type lists them (by item code, in code point
order), the total as the stored numeric (the same double once read as JSON), the comment.

The ranking is the resolvers' own statement (``resolvers.evaluations.ranking_rows``: the groups, their
rank over the tenant, the area predicate) in their order (``compiled.sorted_lists``: the plain list, and
keyset pages with the resolvers' cursors). The resolvers read the period's items first and select each
one's mean per group; here each group's items are a subquery of the period's items (the snapshot's
order: heaviest first, then by code), each with the mean of the group's scores for it. Means are rounded
as the resolvers' ``_two`` does (half up to two places: PostgreSQL's round of a non-negative numeric)
and sent as the double strawberry writes. An unknown period is the resolvers' NOT_FOUND (a guard)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, cast, exists, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import CONNECTION, EDGE, area_by_id, column, connection, enum_of
from compiled.sorted_lists import connection_in_order, float_json, list_in_order
from compiled.sql import EMPTY_JSON_ARRAY, json_list, lit
from models import EvaluationPeriod, EvaluationPeriodItem, EvaluationRating, EvaluationTarget, PropertyFirm
from resolvers.errors import ServiceError
from resolvers.evaluations import RankingRows, my_ratings_filters, ranking_rows
from resolvers.ids import decode_global_id


def _period(a: dict[str, Any]) -> uuid.UUID:
    try:
        return decode_global_id(str(a["periodId"]), "EvaluationPeriod", "periodId").id
    except ServiceError:
        raise Unsupported("bad periodId") from None  # the resolvers give the typed error


def _mine(cx: Compiler, sel: Sel) -> Any:
    period = cx.param(sel, _period, "uuid")
    return select(EvaluationRating.__table__).where(EvaluationRating.tenant_id == cx.tenant_id,
                                                    *my_ratings_filters(cx.ctx, period))


def my_ratings(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    rows = _mine(cx, sel).subquery("mr")
    return select(json_list(cx.sub("EvaluationRating", sel, rows), rows.c.id)).select_from(rows).scalar_subquery()


def my_ratings_connection(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    return connection(cx, sel, _mine(cx, sel), EvaluationRating.id, descending=False, node_type="EvaluationRating")


def _scores(cx: Compiler, r: Any, s: Sel) -> ColumnElement[Any]:
    """sorted(scores.items()): one ItemScore per key, by the key's code points."""
    kv = func.json_each(r.c.scores).table_valued("key", "value").render_derived(name="sc")
    item = cx.sub("ItemScore", s, kv)
    agg = func.json_agg(aggregate_order_by(item, literal_column('sc.key COLLATE "C"')))
    return select(func.coalesce(agg, EMPTY_JSON_ARRAY)).select_from(kv).scalar_subquery()


def _ranking(cx: Compiler, sel: Sel) -> RankingRows:
    period = cx.param(sel, _period, "uuid")
    target = cx.shape(sel, lambda a: EvaluationTarget(a["target"]))
    p = EvaluationPeriod.__table__.alias("ep")
    cx.guards.append(exists(select(p.c.id).where(p.c.tenant_id == cx.tenant_id, p.c.id == period)))
    rows = ranking_rows(cx.ctx, period, target, ())
    # The group's identity and the period and target, for the group's items (_items).
    rows.stmt = rows.stmt.add_columns(rows.agg.c.compound_path, period.label("period_id"),
                                      lit(target.value).label("target"))
    return rows


def results(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    rows = _ranking(cx, sel)
    return list_in_order(cx, sel, rows.stmt, rows.order, "EvaluationResult")


def results_connection(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    rows = _ranking(cx, sel)
    return connection_in_order(cx, sel, rows.stmt, rows.order, "EvaluationResult")


def _two(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A mean as the resolvers send it: rounded half up to two places, then that double (float(Decimal))."""
    return float_json(cast(func.round(value, 2), Float))


def _items(cx: Compiler, res: Any, s: Sel) -> ColumnElement[Any]:
    """The period's items for the target in the snapshot's order, each with the mean of the group's scores."""
    pi = EvaluationPeriodItem.__table__.alias("pi")
    r = EvaluationRating.__table__.alias("er")
    mean = (select(func.avg(cast(r.c.scores.op("->>")(pi.c.code), Integer)))
            .where(r.c.tenant_id == cx.tenant_id, r.c.period_id == res.c.period_id, r.c.target == res.c.target,
                   r.c.compound_id == res.c.compound_id, r.c.compound_path == res.c.compound_path,
                   r.c.firm_id.is_not_distinct_from(res.c.firm_id))
            .correlate_except(r).scalar_subquery())
    item = SimpleNamespace(c=SimpleNamespace(code=pi.c.code, name=pi.c.name, weight=pi.c.weight, average=_two(mean)))
    agg = func.json_agg(aggregate_order_by(cx.sub("ItemAverage", s, item), pi.c.weight.desc(), pi.c.code))
    return (select(func.coalesce(agg, EMPTY_JSON_ARRAY)).select_from(pi)
            .where(pi.c.tenant_id == cx.tenant_id, pi.c.period_id == res.c.period_id, pi.c.target == res.c.target)
            .correlate_except(pi).scalar_subquery())


def _firm_name(cx: Compiler, res: Any, _s: Sel) -> ColumnElement[Any]:
    """firm_name_by_id: the firm's name by id, no predicate (the actor reads the result already)."""
    f = PropertyFirm.__table__.alias("fm")
    return (select(f.c.name).where(f.c.tenant_id == cx.tenant_id, f.c.id == res.c.firm_id)
            .correlate_except(f).scalar_subquery())


EVALUATION_RESULT: FieldTable = {
    "compound": lambda cx, r, s: area_by_id(cx, s, r.c.compound_id),
    "firmName": _firm_name,
    "raters": column("raters"),
    "score": lambda _cx, r, _s: _two(r.c.score),
    "rank": column("rank"),
    "items": _items,
}
ITEM_AVERAGE: FieldTable = {  # the row: _items' period item with its mean
    "code": lambda _cx, i, _s: i.c.code, "name": lambda _cx, i, _s: i.c.name,
    "weight": lambda _cx, i, _s: i.c.weight, "average": lambda _cx, i, _s: i.c.average,
}
EVALUATION_RATING: FieldTable = {
    "target": enum_of("target", EvaluationTarget),
    "compound": lambda cx, r, s: area_by_id(cx, s, r.c.compound_id),
    "scores": _scores,
    "total": column("total"),
    "comment": column("comment"),
}
ITEM_SCORE: FieldTable = {
    "item": lambda _cx, kv, _s: kv.c.key,
    "score": lambda _cx, kv, _s: kv.c.value,
}

TABLES: dict[str, FieldTable] = {
    "Query": {"myEvaluationRatings": my_ratings, "myEvaluationRatingsConnection": my_ratings_connection,
              "evaluationResults": results, "evaluationResultsConnection": results_connection},
    "EvaluationResult": EVALUATION_RESULT, "ItemAverage": ITEM_AVERAGE,
    "EvaluationResultConnection": CONNECTION, "EvaluationResultEdge": EDGE,
    "EvaluationRating": EVALUATION_RATING, "ItemScore": ITEM_SCORE,
    "EvaluationRatingConnection": CONNECTION, "EvaluationRatingEdge": EDGE,
}
