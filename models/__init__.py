"""The data: SQLAlchemy tables, one module per aggregate (the bottom layer)."""

from models.access import AuditEntry, AuditPiiRead, CasbinRule, Member, RoleAssignment
from models.area import (
    ALLOWED_PARENTS,
    Area,
    AreaKind,
    CentralHousehold,
    GridBuilding,
    OwnerCommittee,
    PartyOrg,
    PartyOrgKind,
    PartyOrgMember,
    PartyOrgRole,
    PropertyFirm,
    PropertyManagement,
    SelfGoverningKind,
    SelfGoverningUnit,
    ServiceContract,
    community_id_of,
    path_segment,
)
from models.audit import GENESIS_HASH, AuditChainHead, AuditCheckpoint
from models.base import Base, PlatformTable, TenantScoped, tenant_tables, utcnow, uuid7
from models.care import (
    CareService,
    CareServiceRecord,
    CareSettings,
    LeadHousehold,
    LeadTitle,
    NeighborLead,
    Visit,
    VisitKind,
    Wish,
    WishState,
)
from models.case_stages import (
    CallbackResult,
    CaseCategoryRule,
    CaseStage,
    CaseStageKind,
    CaseStageLimit,
    CaseWorkflowSettings,
    UrgencyTier,
    tier_of,
)
from models.cases import (
    OPEN_STATES,
    Attachment,
    CalendarOverride,
    Case,
    CaseCategory,
    CaseEvent,
    CasePriority,
    CaseReview,
    CaseSettings,
    CaseSource,
    CaseState,
    HandlerKind,
    Notification,
    NotificationRead,
    SlaRule,
    SlaUnit,
)

# --- deliberation (issue #4)
from models.deliberation import (
    MAJOR_MATTERS,
    BallotMethod,
    Choice,
    Meeting,
    MeetingAttendee,
    MeetingState,
    MeetingTopic,
    Notice,
    Topic,
    TopicCase,
    TopicState,
    TopicStep,
    Vote,
    VoteElector,
    VoteMatter,
    VoteState,
)
from models.ledgers import ImportJob, ImportStatus  # ledgers (issue #11)
from models.platform import (
    PlatformAuditEntry,
    PlatformCalendar,
    PlatformCalendarDay,
    Tenant,
    TenantStatus,
    User,
    account_id_for_subject,
)

# --- end deliberation
from models.register import (
    CareTagKind,
    Gender,
    Household,
    Person,
    PersonCareTag,
    PersonMove,
    PersonMoveKind,
    PersonStatus,
    PropertyOwner,
    Tenure,
)

# --- volunteering and evaluations (issue #6) ---
# isort: split
from models.evaluations import (
    EvaluationItem,
    EvaluationPeriod,
    EvaluationPeriodItem,
    EvaluationRating,
    EvaluationTarget,
    PeriodState,
)
from models.volunteering import (
    Activity,
    ActivitySignup,
    ActivityState,
    EntryKind,
    OrganiserKind,
    PointsAccount,
    PointsEntry,
    Redemption,
    RedemptionState,
    RewardItem,
    SignupState,
    VolunteerSettings,
)

# --- end volunteering and evaluations ---

__all__ = [
    "ALLOWED_PARENTS",
    "GENESIS_HASH",
    "MAJOR_MATTERS",
    "OPEN_STATES",
    "Area",
    "AreaKind",
    "Attachment",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditPiiRead",
    "BallotMethod",
    "Base",
    "CalendarOverride",
    "CareService",
    "CareServiceRecord",
    "CareSettings",
    "CareTagKind",
    "CasbinRule",
    "Case",
    "CaseCategory",
    "CaseEvent",
    "CasePriority",
    "CaseReview",
    "CaseSettings",
    "CaseSource",
    "CaseState",
    "CentralHousehold",
    "Choice",
    "Gender",
    "GridBuilding",
    "HandlerKind",
    "Household",
    "LeadHousehold",
    "LeadTitle",
    "Meeting",
    "MeetingAttendee",
    "MeetingState",
    "MeetingTopic",
    "Member",
    "NeighborLead",
    "Notice",
    "Notification",
    "NotificationRead",
    "PartyOrg",
    "PartyOrgKind",
    "Person",
    "PersonCareTag",
    "PersonMove",
    "PersonMoveKind",
    "PersonStatus",
    "PlatformAuditEntry",
    "PlatformCalendar",
    "PlatformCalendarDay",
    "PlatformTable",
    "PropertyFirm",
    "PropertyManagement",
    "PropertyOwner",
    "RoleAssignment",
    "SelfGoverningKind",
    "SelfGoverningUnit",
    "ServiceContract",
    "SlaRule",
    "SlaUnit",
    "Tenant",
    "TenantScoped",
    "TenantStatus",
    "Tenure",
    "Topic",
    "TopicCase",
    "TopicState",
    "TopicStep",
    "User",
    "Visit",
    "VisitKind",
    "Vote",
    "VoteElector",
    "VoteMatter",
    "VoteState",
    "Wish",
    "WishState",
    "community_id_of",
    "path_segment",
    "tenant_tables",
    "utcnow",
    "uuid7",
]

# --- volunteering and evaluations (issue #6) ---
__all__ += [
    "Activity",
    "ActivitySignup",
    "ActivityState",
    "EntryKind",
    "EvaluationItem",
    "EvaluationPeriod",
    "EvaluationPeriodItem",
    "EvaluationRating",
    "EvaluationTarget",
    "OrganiserKind",
    "PeriodState",
    "PointsAccount",
    "PointsEntry",
    "Redemption",
    "RedemptionState",
    "RewardItem",
    "SignupState",
    "VolunteerSettings",
]
# --- end volunteering and evaluations ---

# --- co-building (issue #7) ---
# isort: split
from models.cobuilding import (  # noqa: E402
    Agreement,
    AgreementCommunity,
    AgreementStatus,
    InServiceMember,
    InServiceRecord,
    PartnerClient,
    PartnerKind,
    PartnerUnit,
    ServiceKind,
)

__all__ += [
    "Agreement",
    "AgreementCommunity",
    "AgreementStatus",
    "InServiceMember",
    "InServiceRecord",
    "PartnerClient",
    "PartnerKind",
    "PartnerUnit",
    "ServiceKind",
]
# --- end co-building ---
__all__ += ["ImportJob", "ImportStatus"]  # ledgers (issue #11)
# case stages, limits and honest closure (issue #22)
__all__ += ["CallbackResult", "CaseCategoryRule", "CaseStage", "CaseStageKind", "CaseStageLimit",
            "CaseWorkflowSettings", "UrgencyTier", "tier_of"]

# --- personal data (issue #24) ---
# isort: split
from models.privacy import (  # noqa: E402
    DEFAULT_RETENTION_MONTHS,
    MIN_RETENTION_MONTHS,
    ErasureReason,
    PersonalDataConsent,
    PersonErasure,
    PrivacySettings,
)

__all__ += [
    "DEFAULT_RETENTION_MONTHS",
    "MIN_RETENTION_MONTHS",
    "ErasureReason",
    "PersonErasure",
    "PersonalDataConsent",
    "PrivacySettings",
]
# --- end personal data ---
__all__ += ["account_id_for_subject"]  # accounts (issue #23/#24)
__all__ += ["OwnerCommittee", "PartyOrgMember", "PartyOrgRole"]  # onboarding (issue #23)
