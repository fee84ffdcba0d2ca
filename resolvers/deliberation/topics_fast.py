"""proposeTopic (提出议题) without cases, on the request's driver transaction (issue #21; resolvers.fast_moves): the
area read by ``area_for_action``'s own prepared text (``area_for_action_row``: the read grant's NOT_FOUND, the
propose grant's reach), then the topic's row with the audit entry in one statement (``AppState.commit_writes``) —
once the process keeps the area's path, the read goes inside that statement as its guard
(resolvers.deliberation.kept): two round trips, not three.
Invalid input, an area out of sight or out of reach — anything the general path would refuse — is None here
before anything is written, and the general path answers from the start with its typed errors and its refusal's
audit entry; so is a topic that takes up cases (their reads and links are the general path's)."""

from __future__ import annotations

import uuid
from typing import Any

from models import Topic, TopicState, uuid7
from resolvers import prepared
from resolvers import validation as v
from resolvers.audit import record_mutation
from resolvers.context import RequestContext
from resolvers.deliberation.kept import area_checked
from resolvers.errors import ServiceError
from resolvers.fast_moves import PreparedMove
from tenants.session import insert_change


async def prepare_topic(ctx: RequestContext, area_id: uuid.UUID, title: str, description: str
                        ) -> PreparedMove | None:
    """The topic checked and its row built, its audit entry queued; None: the general path answers it."""
    try:
        clean_title = v.text(title, "title", max_len=100)
        clean_description = v.text(description, "description", max_len=5000, required=False)
    except ServiceError:
        return None
    checked = await area_checked(ctx, "topic", "propose", area_id)
    if checked is None:
        return None
    values: dict[str, Any] = {
        "id": uuid7(), "area_id": area_id, "area_path": checked.path, "title": clean_title,
        "description": clean_description, "proposer_user_id": ctx.actor.user_id, "state": TopicState.PROPOSED,
        "decision": None, "decided_at": None, "decline_reason": None, "review": None, "reviewed_at": None,
        "cancel_reason": None, "version": 1, "updated_at": ctx.now, "created_at": ctx.now}
    change = insert_change(Topic, dict(values))
    sql, args = prepared.insert_values(Topic, dict(values), ctx.tenant.id, ctx.now, 1 + len(checked.args),
                                       checked.guarded)
    await record_mutation(ctx, "proposeTopic", outcome="ok", changes=[] if change is None else [change])
    return PreparedMove(row=values, ctes=[*checked.ctes, sql], args=[*checked.args, *args])
