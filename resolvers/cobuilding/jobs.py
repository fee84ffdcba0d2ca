"""Co-building's periodic work in one tenant: agreements past their end date are marked expired.
Access already stops on that date whatever the status says (every request checks the dates); this
keeps the status true, through the agreement's state machine, each expiry audited before → after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from models import Agreement, AgreementStatus
from policies.cobuilding.filters import local_date
from resolvers.cobuilding.agreements import AGREEMENT
from resolvers.context import Db
from resolvers.transitions import system_move


async def expire_agreements(db: Db, *, now: datetime, limit: int = 500) -> int:
    """Active or suspended agreements whose valid_until lies before today: expired. Returns how many."""
    ending: list[Agreement] = list(await db.scalars(
        select(Agreement)
        .where(Agreement.status.in_([AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED]),
               Agreement.valid_until.is_not(None), Agreement.valid_until < local_date(now))
        .order_by(Agreement.id).limit(limit)))
    expired = 0
    for agreement in ending:
        if await system_move(db, AGREEMENT, agreement, AgreementStatus.EXPIRED.value, now=now,
                             audit_action="system.expireAgreement") is not None:
            expired += 1
    return expired
