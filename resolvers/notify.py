"""Notifications (通知) to the people a change concerns (issue #23): the volunteers signed up for an
activity that was changed or cancelled, the invitees of a meeting. A notification is addressed to a
user (listed by ``notifications`` for that user); persons on the register reach their accounts
through ``members``. Cases address firms and areas through resolvers/cases/machine.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select

from models import Member, Notification
from resolvers.context import RequestContext


async def users_of_persons(ctx: RequestContext, person_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """The accounts linked to these persons (a person without an account is reached by no one here)."""
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        return []
    return list(await ctx.db.scalars(select(Member.user_id).where(Member.person_id.in_(ids))))


async def notify_users(ctx: RequestContext, user_ids: Iterable[uuid.UUID], kind: str, message: str) -> int:
    """One notification per user (each once, the actor left out: they made the change); their count."""
    users = [u for u in dict.fromkeys(user_ids) if u != ctx.actor.user_id]
    if not users:
        return 0
    await ctx.db.flush(*(Notification(user_id=u, kind=kind[:32], message=message[:500], created_at=ctx.now)
                         for u in users))
    ctx.events.append({"topic": "notification", "tenant_id": str(ctx.tenant.id), "kind": kind})
    return len(users)
