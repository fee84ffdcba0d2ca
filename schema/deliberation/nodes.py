"""Deliberation's node types and their resolution for ``node(id:)`` (through the read predicates)."""

from __future__ import annotations

import uuid
from typing import Any

from resolvers import deliberation as svc
from resolvers.context import RequestContext

from .types import Meeting, Notice, Topic, TopicStep, Vote

NODE_TYPES = (Topic, TopicStep, Vote, Meeting, Notice)


async def resolve_deliberation_node(ctx: RequestContext, type_name: str, id_: uuid.UUID) -> Any:
    if type_name == "Topic":
        t = await svc.get_topic(ctx, id_)
        return None if t is None else Topic(_m=t)
    if type_name == "Vote":
        vote = await svc.get_vote(ctx, id_)
        return None if vote is None else Vote(_m=vote)
    if type_name == "Meeting":
        m = await svc.get_meeting(ctx, id_)
        return None if m is None else Meeting(_m=m)
    if type_name == "Notice":
        n = await svc.get_notice(ctx, id_)
        return None if n is None else Notice(_m=n)
    if type_name == "TopicStep":
        s = await svc.get_step(ctx, id_)
        return None if s is None else TopicStep(_m=s)
    return None
