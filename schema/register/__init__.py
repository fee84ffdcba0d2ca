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

# The register's part of the schema: the root Query (me, node, nodes, areas, households, persons …),
# its mutations, and node(id:) for areas of every kind, households, persons and firms.
import strawberry

from schema.parts import SchemaParts

from .nodes import NODES
from .organisations import ORGANISATION_NODES, ORGANISATION_TYPES, OrganisationMutation, OrganisationQuery
from .query import Query


@strawberry.type
class RegisterQuery(Query, OrganisationQuery):
    pass


@strawberry.type
class RegisterMutation(Mutation, OrganisationMutation):
    pass


PARTS = SchemaParts(query=RegisterQuery, mutation=RegisterMutation,
                    types=(*AREA_TYPES.values(), Household, Person, PropertyFirm, *ORGANISATION_TYPES),
                    nodes={**NODES, **ORGANISATION_NODES})
