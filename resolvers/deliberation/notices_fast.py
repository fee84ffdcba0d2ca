"""publishNotice (发布通知) on the request's driver transaction (issue #21; resolvers.fast_moves): the area read
by ``area_for_action``'s own prepared text (``area_for_action_row``: the read grant's NOT_FOUND, the publish
grant's reach), then the notice's row with the audit entry and the ``notice`` event's NOTIFY in one statement
(``AppState.commit_writes``; the event published after the COMMIT as the general path's) — once the process
keeps the area's path, the read goes inside that statement as its guard (resolvers.deliberation.kept): two
round trips, not three. Invalid input, an area out of sight or out of reach — anything the general path would
refuse — is None here before anything is written, or refused by the guard in the write, and the general path
answers from the start with its typed errors and its refusal's audit entry; so is a write that meets a
constraint."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from models import Notice, uuid7
from resolvers import prepared
from resolvers import validation as v
from resolvers.audit import record_mutation
from resolvers.context import RequestContext
from resolvers.deliberation.kept import area_checked
from resolvers.errors import ServiceError
from resolvers.fast_moves import PreparedMove
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
    checked = await area_checked(ctx, "notice", "publish", area_id)
    if checked is None:
        return None
    values: dict[str, Any] = {
        "id": uuid7(), "area_id": area_id, "area_path": checked.path, "title": clean_title, "body": clean_body,
        "publisher_user_id": ctx.actor.user_id, "expires_at": expires_at, "withdrawn_at": None, "withdrawn_by": None,
        "withdraw_reason": None, "created_at": ctx.now}
    change = insert_change(Notice, dict(values))
    sql, args = prepared.insert_values(Notice, dict(values), ctx.tenant.id, ctx.now, 1 + len(checked.args),
                                       checked.guarded)
    await record_mutation(ctx, "publishNotice", outcome="ok", changes=[] if change is None else [change])
    ctx.events.append({"topic": "notice", "tenant_id": str(ctx.tenant.id), "notice_id": str(values["id"]),
                       "area_path": values["area_path"]})
    return PreparedMove(row=values, ctes=[*checked.ctes, sql], args=[*checked.args, *args])
