"""schema of the deliberation domain: its public module (other domains import only this)."""

import uuid
from typing import Any

from .inputs import (
    AddTopicStepInput,
    AttendeeInput,
    CastBallotInput,
    CloseMeetingInput,
    ConveneMeetingInput,
    MeetingPayload,
    NoticePayload,
    OpenVoteInput,
    ProposeTopicInput,
    PublishNoticeInput,
    RaiseCaseInput,
    RecordPaperBallotInput,
    RecordProxyBallotInput,
    TopicDecisionInput,
    TopicPayload,
    TopicStepPayload,
    TopicTextInput,
    TopicTransitionInput,
    UpdateTopicStepInput,
    VotePayload,
)
from .mutation import DeliberationMutation
from .nodes import (
    NODE_TYPES,
    resolve_deliberation_node,
)
from .query import DeliberationQuery
from .subscription import DeliberationSubscription
from .types import (
    AgendaItem,
    Ballot,
    Meeting,
    MeetingAttendee,
    Notice,
    Topic,
    TopicStep,
    Vote,
    VoteResult,
    WallConnection,
    WallEntry,
)

__all__ = [
    "NODE_TYPES",
    "AddTopicStepInput",
    "AgendaItem",
    "AttendeeInput",
    "Ballot",
    "CastBallotInput",
    "CloseMeetingInput",
    "ConveneMeetingInput",
    "DeliberationMutation",
    "DeliberationQuery",
    "DeliberationSubscription",
    "Meeting",
    "MeetingAttendee",
    "MeetingPayload",
    "Notice",
    "NoticePayload",
    "OpenVoteInput",
    "ProposeTopicInput",
    "PublishNoticeInput",
    "RaiseCaseInput",
    "RecordPaperBallotInput",
    "RecordProxyBallotInput",
    "Topic",
    "TopicDecisionInput",
    "TopicPayload",
    "TopicStep",
    "TopicStepPayload",
    "TopicTextInput",
    "TopicTransitionInput",
    "UpdateTopicStepInput",
    "Vote",
    "VotePayload",
    "VoteResult",
    "WallConnection",
    "WallEntry",
    "resolve_deliberation_node",
]

from strawberry.tools import merge_types

from schema.common import context as _context
from schema.parts import SchemaParts

from .lifecycle import DeliberationLifecycleMutation


async def _node(info: Any, type_name: str, id_: uuid.UUID) -> Any:
    return await resolve_deliberation_node(_context(info), type_name, id_)


MUTATION = merge_types("DeliberationMutation", (DeliberationMutation, DeliberationLifecycleMutation))
PARTS = SchemaParts(query=DeliberationQuery, mutation=MUTATION, subscription=DeliberationSubscription,
                    types=NODE_TYPES, nodes=dict.fromkeys((t.__name__ for t in NODE_TYPES), _node))
