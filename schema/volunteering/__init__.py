"""schema of the volunteering domain: its public module (other domains import only this)."""

from .inputs import (
    AwardPointsInput,
    CreateRewardItemInput,
    DecideRedemptionInput,
    PublishActivityInput,
    ReversePointsEntryInput,
)
from .types import (
    NODE_TYPES,
    Activity,
    ActivityPayload,
    ActivitySignup,
    ActivitySignupPayload,
    PointsEntry,
    PointsEntryPayload,
    PointsRulePayload,
    Redemption,
    RedemptionPayload,
    RewardItem,
    RewardItemPayload,
    VolunteeringMutation,
    VolunteeringQuery,
    resolve_volunteering_node,
)

__all__ = [
    "NODE_TYPES",
    "Activity",
    "ActivityPayload",
    "ActivitySignup",
    "ActivitySignupPayload",
    "AwardPointsInput",
    "CreateRewardItemInput",
    "DecideRedemptionInput",
    "PointsEntry",
    "PointsEntryPayload",
    "PointsRulePayload",
    "PublishActivityInput",
    "Redemption",
    "RedemptionPayload",
    "ReversePointsEntryInput",
    "RewardItem",
    "RewardItemPayload",
    "VolunteeringMutation",
    "VolunteeringQuery",
    "resolve_volunteering_node",
]

from strawberry.tools import merge_types

from schema.parts import SchemaParts

from .lifecycle import VolunteeringLifecycleMutation

MUTATION = merge_types("VolunteeringMutation", (VolunteeringMutation, VolunteeringLifecycleMutation))
PARTS = SchemaParts(query=VolunteeringQuery, mutation=MUTATION, types=tuple(NODE_TYPES),
                    nodes=dict.fromkeys((t.__name__ for t in NODE_TYPES), resolve_volunteering_node))
