"""The assembled strawberry Schema."""

from __future__ import annotations

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.access.types import PolicyMutation, PolicyQuery
from schema.care import CARE_TYPES, CareMutation, CareQuery
from schema.cases import Case, CaseMutation, CaseQuery, CaseReview
from schema.cases.subscriptions import Subscription as CaseSubscription
from schema.deliberation import NODE_TYPES as DELIBERATION_TYPES  # deliberation (issue #4)
from schema.deliberation import DeliberationMutation, DeliberationQuery, DeliberationSubscription
from schema.descriptions import describe  # frontend teams' experience (issue #12)
from schema.ledgers import NODE_TYPES as LEDGER_TYPES  # ledgers (issue #11)
from schema.ledgers import LedgerQuery
from schema.query import Query as RegisterQuery
from schema.register.mutation import Mutation as RegisterMutation
from schema.register.types import AREA_TYPES, Household, Person, PropertyFirm, RoleAssignment

# --- volunteering and evaluations (issue #6) ---
# isort: split
from schema.evaluations import EvaluationMutation, EvaluationPeriod, EvaluationQuery
from schema.volunteering import NODE_TYPES as VOLUNTEERING_TYPES
from schema.volunteering import VolunteeringMutation, VolunteeringQuery

# --- end volunteering and evaluations ---
# --- co-building (issue #7) ---
# isort: split
from schema.cobuilding import COBUILDING_TYPES, CobuildingMutation, CobuildingQuery

# --- end co-building ---

Query = merge_types(
    "Query",
    (RegisterQuery, CaseQuery, DeliberationQuery, CareQuery, VolunteeringQuery, EvaluationQuery, PolicyQuery,
     CobuildingQuery, LedgerQuery),
)
Mutation = merge_types(
    "Mutation",
    (RegisterMutation, CaseMutation, DeliberationMutation, CareMutation, VolunteeringMutation, EvaluationMutation,
     PolicyMutation, CobuildingMutation),
)
Subscription = merge_types("Subscription", (CaseSubscription, DeliberationSubscription))

MAX_DEPTH = 12
MAX_TOKENS = 5000
MAX_ALIASES = 30


# The depth and alias limiters build a new rule class per instance, and strawberry makes an
# instance per request: the validation cache, keyed by the rules, then never hit (≈ 12 ms a request,
# issue #9). One set of rule classes, made once, keeps the cache warm.
_LIMIT_RULES = [*QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
                *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules]


class _FixedRules(AddValidationRules):
    """The depth and alias limits (schema.MAX_DEPTH, MAX_ALIASES) with the same rule classes every time."""

    def __init__(self) -> None:
        super().__init__(_LIMIT_RULES)


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    """The schema; production builds it without introspection (the committed SDL is the contract)."""
    extra = [] if introspection else [DisableIntrospection]
    built = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[*AREA_TYPES.values(), Household, Person, RoleAssignment, PropertyFirm, Case, CaseReview,
               *VOLUNTEERING_TYPES, EvaluationPeriod, *CARE_TYPES, *DELIBERATION_TYPES,
               *COBUILDING_TYPES, *LEDGER_TYPES],
        extensions=[
            _FixedRules,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            ParserCache,
            ValidationCache,
            *extra,
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )
    # Issue #12: the descriptions the definitions leave out (enum values, recurring arguments).
    describe(built._schema)
    return built


schema = build_schema()
