"""schema of the evaluations domain: its public module (other domains import only this)."""

import uuid
from typing import Any

from .types import (
    EvaluationItem,
    EvaluationItemInput,
    EvaluationItemsPayload,
    EvaluationMutation,
    EvaluationPeriod,
    EvaluationPeriodPayload,
    EvaluationQuery,
    EvaluationRating,
    EvaluationRatingPayload,
    EvaluationResult,
    ItemAverage,
    ItemScore,
    ItemScoreInput,
    RateInput,
    SetEvaluationItemsInput,
    resolve_evaluation_node,
)

__all__ = [
    "EvaluationItem",
    "EvaluationItemInput",
    "EvaluationItemsPayload",
    "EvaluationMutation",
    "EvaluationPeriod",
    "EvaluationPeriodPayload",
    "EvaluationQuery",
    "EvaluationRating",
    "EvaluationRatingPayload",
    "EvaluationResult",
    "ItemAverage",
    "ItemScore",
    "ItemScoreInput",
    "RateInput",
    "SetEvaluationItemsInput",
    "resolve_evaluation_node",
]

from schema.parts import SchemaParts


async def _node(info: Any, _type_name: str, id_: uuid.UUID) -> Any:
    return await resolve_evaluation_node(info, id_)


PARTS = SchemaParts(query=EvaluationQuery, mutation=EvaluationMutation, types=(EvaluationPeriod,),
                    nodes={"EvaluationPeriod": _node})
