"""Compiled reads of an area's recorded reviews (复盘记录, issue #21): ``caseReviews(areaId:)`` and
``caseReviewsConnection(areaId:, first:, after:)``, each in one statement.

The rows are the resolvers' own statement, ``resolvers.cases.review.review_rows`` (the area's reviews
where the actor's statistics grant reaches), in their ``REVIEWS`` order, paged as ``sorted_page`` pages
it (``compiled.sorted_lists``). An actor without the grant (the resolvers answer an empty list without
a statement), an id that is not an area's, and the recorded figures (``statistics``: a stored JSON
the type rebuilds in Python) are left to the resolvers."""

from __future__ import annotations

import uuid
from typing import Any

from compiled.compiler import FieldTable, Unsupported
from compiled.fields import CONNECTION, EDGE, column
from compiled.sorted_lists import SortedList, sorted_connection, sorted_list
from compiled.sql import gid
from resolvers.cases import REVIEWS, review_rows
from resolvers.errors import ServiceError
from resolvers.ids import decode_global_id
from schema.register import AREA_TYPE_NAMES


def _area(a: dict[str, Any]) -> uuid.UUID:
    """areaId as the resolvers decode it (schema.cases.query); a bad one is their error to give."""
    try:
        return decode_global_id(str(a["areaId"]), AREA_TYPE_NAMES, "areaId").id
    except ServiceError:
        raise Unsupported("bad areaId") from None


REVIEW_LIST = SortedList("CaseReview", review_rows, REVIEWS, _area)

CASE_REVIEW: FieldTable = {
    "id": lambda _cx, r, _s: gid("CaseReview", r.c.id),
    "periodStart": column("period_start"),
    "periodEnd": column("period_end"),
    "summary": column("summary"),
    "decisions": column("decisions"),
}

TABLES: dict[str, FieldTable] = {
    "Query": {"caseReviews": sorted_list(REVIEW_LIST), "caseReviewsConnection": sorted_connection(REVIEW_LIST)},
    "CaseReview": CASE_REVIEW,
    "CaseReviewConnection": CONNECTION, "CaseReviewEdge": EDGE,
}
