"""The co-building enums, declared for GraphQL once here; modules annotate with the classes
imported from this module, so a field cannot use one before its declaration has run.
ActivityState and WishState also serve volunteering and care under their own names: the
shared types (``shared``) resolve theirs right after this declaration (see schema.common.graphql_enum)."""

from __future__ import annotations

import enum

from models import ActivityState as SharedActivityState
from models import AgreementStatus, PartnerKind, ServiceKind
from models import WishState as SharedWishState
from schema.common import graphql_enum

graphql_enum(PartnerKind, name="PartnerKind",
             description="Kind of partner unit (共建单位类型).")
graphql_enum(AgreementStatus, name="AgreementStatus",
             description="Status of a co-building agreement (协议状态).")
graphql_enum(ServiceKind, name="InServiceKind",
             description="What an in-service party member's service was (服务类型).")
graphql_enum(SharedActivityState, name="SharedActivityState",
             description="State of a shared activity (活动状态).")
graphql_enum(SharedWishState, name="SharedWishState",
             description="State of a shared wish (心愿状态).")



class AgreementGrant(enum.Enum):
    """What an agreement may share with a partner's system (resolvers/cobuilding SHAREABLE)."""

    ACTIVITY_READ = "activity.read"
    WISH_READ = "wish.read"
    WISH_CLAIM = "wish.claim"
    STATISTICS_READ = "statistics.read"
    PERSON_READ = "person.read"


class SignatoryParty(enum.Enum):
    """Which side a signatory signed for."""

    PARTNER = "partner"
    COMMUNITY = "community"


graphql_enum(AgreementGrant, name="AgreementGrant",
             description="Data an agreement shares with the partner's system (共享授权), resource.action.")
graphql_enum(SignatoryParty, name="SignatoryParty", description="The side a signatory signed for (签约方).")


def grants_of(values: list[str]) -> list[AgreementGrant]:
    """The stored grants as the enum (a value this schema does not know is left out)."""
    known = {g.value: g for g in AgreementGrant}
    return [known[v] for v in values if v in known]


def party_of(value: str | None) -> SignatoryParty | None:
    try:
        return None if value is None else SignatoryParty(value)
    except ValueError:
        return None


__all__ = [
    "AgreementGrant",
    "AgreementStatus",
    "PartnerKind",
    "ServiceKind",
    "SharedActivityState",
    "SharedWishState",
    "SignatoryParty",
    "grants_of",
    "party_of",
]
