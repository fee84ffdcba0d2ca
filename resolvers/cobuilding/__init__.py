"""resolvers of the cobuilding domain: its public module (other domains import only this).

Co-building (共驻共建, issue #7): partner units (``units``), agreements (``agreements``), partner API
clients (``clients``), what an agreement shares with a partner's system (``shared``), and in-service
party members (双报到, ``inservice``); per-request DataLoaders in ``loaders``.

agreement·manage is the party secretary's in their scope (every community an agreement covers
must lie in it) and the street admin's everywhere. A partner actor (see
``policies.cobuilding.filters``) reads only shared views built here — activities, open wishes
without the beneficiary's identity, aggregate figures — never the staff types with personal data.
"""

from .agreements import (
    AGREEMENT,
    LIANCHUANG,
    SHAREABLE,
    TRANSITIONS,
    AgreementInput,
    Signatory,
    agreement_communities,
    create_agreement,
    get_agreement,
    list_agreements,
    set_agreement_status,
    update_agreement,
)
from .clients import (
    SCRYPT,
    create_partner_client,
    get_partner_client,
    hash_secret,
    revoke_partner_client,
    rotate_partner_client_secret,
    verify_client_secret,
)
from .inservice import (
    RegisterInServiceInput,
    ServiceRecordInput,
    ServiceSummary,
    get_inservice_member,
    inservice_member_list_filters,
    inservice_summary,
    inservice_summary_counts,
    inservice_summary_members,
    list_inservice_members,
    record_inservice_service,
    register_inservice_member,
)
from .jobs import expire_agreements
from .loaders import (
    clients_by_partner_unit,
    communities_by_agreement,
    community_by_area,
    partner_unit_by_id,
)
from .shared import (
    ActivityFigures,
    SharedStatistics,
    claim_shared_wish,
    fulfil_shared_wish,
    my_agreements,
    my_agreements_page,
    shared_activities,
    shared_activity_counts,
    shared_reach,
    shared_statistics,
    shared_wish_predicate,
    shared_wishes,
)
from .units import (
    PartnerUnitInput,
    create_partner_unit,
    credit_code_check_char,
    get_partner_unit,
    list_partner_units,
    may_read_unit_contact,
    normalize_credit_code,
    partner_unit_names,
    partner_unit_rows,
    update_partner_unit,
)

__all__ = [
    "AGREEMENT",
    "LIANCHUANG",
    "SCRYPT",
    "SHAREABLE",
    "TRANSITIONS",
    "ActivityFigures",
    "AgreementInput",
    "PartnerUnitInput",
    "RegisterInServiceInput",
    "ServiceRecordInput",
    "ServiceSummary",
    "SharedStatistics",
    "Signatory",
    "agreement_communities",
    "claim_shared_wish",
    "clients_by_partner_unit",
    "communities_by_agreement",
    "community_by_area",
    "create_agreement",
    "create_partner_client",
    "create_partner_unit",
    "credit_code_check_char",
    "expire_agreements",
    "fulfil_shared_wish",
    "get_agreement",
    "get_inservice_member",
    "get_partner_client",
    "get_partner_unit",
    "hash_secret",
    "inservice_member_list_filters",
    "inservice_summary",
    "inservice_summary_counts",
    "inservice_summary_members",
    "list_agreements",
    "list_inservice_members",
    "list_partner_units",
    "may_read_unit_contact",
    "my_agreements",
    "my_agreements_page",
    "normalize_credit_code",
    "partner_unit_by_id",
    "partner_unit_names",
    "partner_unit_rows",
    "record_inservice_service",
    "register_inservice_member",
    "revoke_partner_client",
    "rotate_partner_client_secret",
    "set_agreement_status",
    "shared_activities",
    "shared_activity_counts",
    "shared_reach",
    "shared_statistics",
    "shared_wish_predicate",
    "shared_wishes",
    "update_agreement",
    "update_partner_unit",
    "verify_client_secret",
]
