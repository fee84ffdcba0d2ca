"""Co-building's periodic work in one tenant: agreements past their end date are marked expired.
Access already stops on that date whatever the status says (every request checks the dates); this
keeps the status true."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from models import Agreement, AgreementStatus
from policies.cobuilding.filters import local_date
from resolvers.context import Db


async def expire_agreements(db: Db, *, now: datetime) -> int:
    """Active or suspended agreements whose valid_until lies before today: expired. Returns how many."""
    result = await db.execute(
        update(Agreement)
        .where(Agreement.status.in_([AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED]),
               Agreement.valid_until.is_not(None), Agreement.valid_until < local_date(now))
        .values(status=AgreementStatus.EXPIRED, version=Agreement.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
