"""The co-building enums, declared for GraphQL once here; modules annotate with the classes
imported from this module, so a field cannot use one before its declaration has run.
ActivityState and WishState also serve volunteering and care under their own names: the
shared types (``shared``) resolve theirs right after this declaration (see schema.common.graphql_enum)."""

from __future__ import annotations

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

__all__ = ["AgreementStatus", "PartnerKind", "ServiceKind", "SharedActivityState", "SharedWishState"]
