"""A case's source channel (来源渠道) and its 12345 work-order number (工单号), issue #22: the default
channel of a report, the checked ticket number, and the typed error for one already in use."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import Case, CaseSource
from policies.roles import Role, rank
from resolvers.context import Db
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

# Reporters acting as residents: their verdicts are residents' verdicts (满意率, DESIGN.md §8).
RESIDENT_ROLES = frozenset({Role.RESIDENT, Role.NEIGHBOR_LEAD})
TICKET_FIELD = "externalTicketNo"
# A platform's work-order number: letters, digits and - _ / . (e.g. GD20261203000123), at most 40.
_TICKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,39}$")


def default_source(roles: list[Role]) -> CaseSource:
    """The channel of a report that names none: a resident's own report is 居民上报, a grid worker's
    网格巡查, anyone else's 其他."""
    if roles and all(r in RESIDENT_ROLES for r in roles):
        return CaseSource.RESIDENT_REPORT
    if Role.GRID_LEADER in roles and max(rank(r) for r in roles) == rank(Role.GRID_LEADER):
        return CaseSource.GRID_PATROL
    return CaseSource.OTHER


def ticket_error(value: str) -> str | None:
    """Why a work-order number is not acceptable, or None."""
    if not _TICKET.match(value):
        return t("工单号：字母、数字及 - _ / .，最长 40 位", "work-order number: letters, digits, - _ / . (at most 40)")
    return None


def check_ticket(value: str | None, field: str = TICKET_FIELD) -> str | None:
    """The stripped number, None for none; INVALID when malformed."""
    if value is None or not value.strip():
        return None
    number = value.strip()
    why = ticket_error(number)
    if why is not None:
        raise ServiceError(ErrorCode.INVALID, why, field)
    return number


def duplicate_ticket(number: str, field: str = TICKET_FIELD) -> ServiceError:
    return ServiceError(ErrorCode.DUPLICATE_TICKET_NO,
                        t(f"工单号 {number} 已登记在本街道的另一事件上",
                          f"work-order number {number} is already on another case of this street office"), field)


async def ticket_taken(db: Db, number: str) -> bool:
    return await db.scalar(select(Case.id).where(Case.external_ticket_no == number)) is not None
