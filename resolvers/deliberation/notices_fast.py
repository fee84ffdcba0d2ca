"""publishNotice (发布通知) on the request's driver transaction (issue #21; resolvers.fast_moves): the area read
by ``area_for_action``'s own prepared text (``area_for_action_row``: the read grant's NOT_FOUND, the publish
grant's reach), then the notice's row with the audit entry and the ``notice`` event's NOTIFY in one statement
(``AppState.commit_writes``; the event published after the COMMIT as the general path's). Invalid input, an area
out of sight or out of reach — anything the general path would refuse — is None here before anything is
written, and the general path answers from the start with its typed errors and its refusal's audit entry; so is
a write that meets a constraint."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from models import Notice, uuid7
from resolvers import prepared
from resolvers import validation as v
from resolvers.audit import record_mutation
from resolvers.context import RequestContext
from resolvers.deliberation.checks import area_for_action_row
from resolvers.errors import ServiceError
from resolvers.fast_moves import PreparedMove, read
from tenants.session import insert_change


async def prepare_notice(ctx: RequestContext, area_id: uuid.UUID, title: str, body: str,
                         expires_at: datetime | None) -> PreparedMove | None:
    """The notice checked and its row built, its audit entry and event queued; None: the general path answers."""
    try:
        clean_title, clean_body = v.text(title, "title", max_len=100), v.text(body, "body", max_len=10000)
    except ServiceError:
        return None
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= ctx.now):
        return None
    if not prepared.usable(ctx):
        return None
    found = await read(ctx, ("area_for_action", "notice", "publish"),
                       lambda: area_for_action_row(ctx, "notice", "publish", prepared.param), area_id)
    if found is None or not found[2]:
        return None
    values: dict[str, Any] = {
        "id": uuid7(), "area_id": area_id, "area_path": found[1], "title": clean_title, "body": clean_body,
        "publisher_user_id": ctx.actor.user_id, "expires_at": expires_at, "withdrawn_at": None, "withdrawn_by": None,
        "withdraw_reason": None, "created_at": ctx.now}
    change = insert_change(Notice, dict(values))
    sql, args = prepared.insert_values(Notice, dict(values), ctx.tenant.id, ctx.now, 1)
    await record_mutation(ctx, "publishNotice", outcome="ok", changes=[] if change is None else [change])
    ctx.events.append({"topic": "notice", "tenant_id": str(ctx.tenant.id), "notice_id": str(values["id"]),
                       "area_path": values["area_path"]})
    return PreparedMove(row=values, ctes=[sql], args=args)
