"""schema of the register domain: its public module (other domains import only this)."""

from .mutation import (
    UNSET,
    AreaPayload,
    CreateAreaInput,
    CreateHouseholdInput,
    CreatePersonInput,
    GrantRoleInput,
    GridPayload,
    HouseholdPayload,
    Mutation,
    PersonPayload,
    RevokeRoleInput,
    RoleAssignmentPayload,
    SetGridBuildingsInput,
    UpdateAreaInput,
    UpdateHouseholdInput,
    UpdatePersonInput,
)
from .types import (
    AREA_TYPE_NAMES,
    AREA_TYPES,
    MASKED_ROOM,
    WITHHELD,
    AreaNode,
    Building,
    CareTagKind,
    Community,
    Compound,
    Grid,
    Household,
    Me,
    Person,
    PropertyFirm,
    PropertyOwnership,
    RoleAssignment,
    Street,
    Tenant,
    User,
    Zone,
    area_type,
)

__all__ = [
    "AREA_TYPES",
    "AREA_TYPE_NAMES",
    "MASKED_ROOM",
    "UNSET",
    "WITHHELD",
    "AreaNode",
    "AreaPayload",
    "Building",
    "CareTagKind",
    "Community",
    "Compound",
    "CreateAreaInput",
    "CreateHouseholdInput",
    "CreatePersonInput",
    "EndPropertyOwnershipInput",
    "GrantRoleInput",
    "Grid",
    "GridPayload",
    "Household",
    "HouseholdPayload",
    "Me",
    "Mutation",
    "Person",
    "PersonPayload",
    "PropertyFirm",
    "PropertyOwnership",
    "PropertyOwnershipPayload",
    "RegisterPropertyOwnerInput",
    "RevokeRoleInput",
    "RoleAssignment",
    "RoleAssignmentPayload",
    "SetGridBuildingsInput",
    "Street",
    "Tenant",
    "UpdateAreaInput",
    "UpdateHouseholdInput",
    "UpdatePersonInput",
    "User",
    "Zone",
    "area_type",
]

import strawberry
from strawberry.tools import merge_types

from schema.parts import SchemaParts

from .nodes import NODES
from .organisations import ORGANISATION_NODES, ORGANISATION_TYPES, OrganisationMutation, OrganisationQuery
from .owners import (
    EndPropertyOwnershipInput,
    OwnersMutation,
    PropertyOwnershipPayload,
    RegisterPropertyOwnerInput,
    ownership_node,
)
from .privacy import ConsentMutation, PrivacyMutation, PrivacyQuery
from .query import Query as _RegisterQuery
from .residence import ResidenceMutation


@strawberry.type(name="Query")
class _Query(_RegisterQuery, PrivacyQuery, OrganisationQuery):
    pass


# The register's part of the schema: the root Query (me, node, nodes, areas, households, persons, the
# personal-data report, firms, contracts, party organisations, owner committees …), its mutations (areas,
# grids, households, persons, roles, moves, property owners, erasure, retention, consents, organisations),
# and node(id:) for areas of every kind, households, persons, firms, ownership records and organisations.
PARTS = SchemaParts(
    query=_Query,
    mutation=merge_types("Mutation", (Mutation, OwnersMutation, ResidenceMutation, PrivacyMutation, ConsentMutation,
                                      OrganisationMutation)),
    types=(*AREA_TYPES.values(), Household, Person, PropertyFirm, PropertyOwnership, *ORGANISATION_TYPES),
    nodes={**NODES, "PropertyOwnership": ownership_node, **ORGANISATION_NODES})
