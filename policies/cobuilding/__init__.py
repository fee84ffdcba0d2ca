"""policies of the cobuilding domain: its public module (other domains import only this)."""

from .filters import (
    TZ,
    active_on,
    agreement_manage_predicate,
    agreement_reach,
    agreement_read_predicate,
    inservice_predicate,
    load_partner_actor,
    local_date,
    partner_actor,
    partner_agreement_rows,
    shared_building_predicate,
    under,
)

__all__ = [
    "TZ",
    "active_on",
    "agreement_manage_predicate",
    "agreement_reach",
    "agreement_read_predicate",
    "inservice_predicate",
    "load_partner_actor",
    "local_date",
    "partner_actor",
    "partner_agreement_rows",
    "shared_building_predicate",
    "under",
]
