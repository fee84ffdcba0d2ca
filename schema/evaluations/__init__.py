"""schema of the evaluations domain: its public module (other domains import only this)."""

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
