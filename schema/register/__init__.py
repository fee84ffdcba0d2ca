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

from strawberry.tools import merge_types

from schema.parts import SchemaParts

from .nodes import NODES
from .query import Query
from .residence import ResidenceMutation

# The register's part of the schema: the root Query (me, node, nodes, areas, households, persons …),
# its mutations, and node(id:) for areas of every kind, households, persons and firms.
PARTS = SchemaParts(query=Query, mutation=merge_types("Mutation", (Mutation, ResidenceMutation)),
                    types=(*AREA_TYPES.values(), Household, Person, PropertyFirm), nodes=NODES)
