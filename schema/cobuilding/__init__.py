"""schema of the cobuilding domain: its public module (other domains import only this).

Co-building (共驻共建, issue #7) in GraphQL: partner units, agreements, partner API clients,
in-service party members (双报到) (``types``), and the shared views a partner unit's system reads
(``shared``); ``query``, ``inputs`` and ``mutation`` hold the root fields and their arguments.
The enums are declared in ``enums``.

The shared types (``Shared*``, ``PartnerAgreement``) are the only ones a partner actor gets data
from; they carry no personal data by construction (tests walk them against an allowlist)."""

from .enums import AgreementGrant
from .inputs import (
    AgreementInput,
    ClaimSharedWishInput,
    CreatePartnerClientInput,
    FulfilSharedWishInput,
    PartnerUnitInput,
    RecordInServiceInput,
    RegisterInServiceInput,
    SetAgreementStatusInput,
    SignatoryInput,
    UpdateAgreementInput,
    UpdatePartnerUnitInput,
)
from .mutation import (
    AgreementPayload,
    CobuildingMutation,
    InServiceMemberPayload,
    InServiceRecordPayload,
    PartnerClientPayload,
    PartnerUnitPayload,
    SharedWishPayload,
)
from .query import CobuildingQuery
from .shared import (
    CommunityRef,
    PartnerAgreement,
    SharedActivity,
    SharedActivityFigures,
    SharedCaseFigures,
    SharedCount,
    SharedStatistics,
    SharedWish,
)
from .types import (
    COBUILDING_TYPES,
    Agreement,
    InServiceMember,
    InServiceRecord,
    InServiceSummary,
    LianchuangArea,
    PartnerClient,
    PartnerUnit,
    Signatory,
    resolve_cobuilding_node,
)

__all__ = [
    "COBUILDING_TYPES",
    "Agreement",
    "AgreementGrant",
    "AgreementInput",
    "AgreementPayload",
    "ClaimSharedWishInput",
    "CobuildingMutation",
    "CobuildingQuery",
    "CommunityRef",
    "CreatePartnerClientInput",
    "FulfilSharedWishInput",
    "InServiceMember",
    "InServiceMemberPayload",
    "InServiceRecord",
    "InServiceRecordPayload",
    "InServiceSummary",
    "LianchuangArea",
    "PartnerAgreement",
    "PartnerClient",
    "PartnerClientPayload",
    "PartnerUnit",
    "PartnerUnitInput",
    "PartnerUnitPayload",
    "RecordInServiceInput",
    "RegisterInServiceInput",
    "SetAgreementStatusInput",
    "SharedActivity",
    "SharedActivityFigures",
    "SharedCaseFigures",
    "SharedCount",
    "SharedStatistics",
    "SharedWish",
    "SharedWishPayload",
    "Signatory",
    "SignatoryInput",
    "UpdateAgreementInput",
    "UpdatePartnerUnitInput",
    "resolve_cobuilding_node",
]

from schema.parts import SchemaParts

PARTS = SchemaParts(query=CobuildingQuery, mutation=CobuildingMutation, types=tuple(COBUILDING_TYPES),
                    nodes=dict.fromkeys((t.__name__ for t in COBUILDING_TYPES), resolve_cobuilding_node))
