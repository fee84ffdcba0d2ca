"""The compiled reads of one's own evaluation ratings (我的评分, issue #21): ``myEvaluationRatings(periodId:)``
and ``myEvaluationRatingsConnection(periodId:, first:, after:)``, each in one statement.

The rows are the resolvers' own: ``resolvers.evaluations.my_ratings_filters`` (the period's ratings
the actor gave), by id. The fields are the strawberry type's: the target by name, the compound under
the area predicate (the area loader's), the scores as the type lists them (by item code, in code point
order), the total as the stored numeric (the same double once read as JSON), the comment."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from compiled.compiler import Compiler, FieldTable, Sel, Unsupported
from compiled.fields import CONNECTION, EDGE, area_by_id, column, connection, enum_of
from compiled.sql import EMPTY_JSON_ARRAY, json_list
from models import EvaluationRating, EvaluationTarget
from resolvers.errors import ServiceError
from resolvers.evaluations import my_ratings_filters
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
    "Query": {"myEvaluationRatings": my_ratings, "myEvaluationRatingsConnection": my_ratings_connection},
    "EvaluationRating": EVALUATION_RATING, "ItemScore": ITEM_SCORE,
    "EvaluationRatingConnection": CONNECTION, "EvaluationRatingEdge": EDGE,
}
