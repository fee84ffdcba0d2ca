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

import strawberry

from schema.parts import SchemaParts

from .mutation import Mutation as _RegisterMutation
from .nodes import NODES
from .privacy import ConsentMutation, PrivacyMutation, PrivacyQuery
from .query import Query as _RegisterQuery


@strawberry.type(name="Query")
class _Query(_RegisterQuery, PrivacyQuery):
    pass


@strawberry.type(name="Mutation")
class _Mutation(_RegisterMutation, PrivacyMutation, ConsentMutation):
    pass


# The register's part of the schema: the root Query (me, node, nodes, areas, households, persons …),
# its mutations, and node(id:) for areas of every kind, households, persons and firms.
PARTS = SchemaParts(query=_Query, mutation=_Mutation,
                    types=(*AREA_TYPES.values(), Household, Person, PropertyFirm), nodes=NODES)
