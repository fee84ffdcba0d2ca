"""The data: SQLAlchemy tables, one module per aggregate (the bottom layer)."""

from models.access import AuditEntry, CasbinRule, Member, RoleAssignment
from models.area import (
    ALLOWED_PARENTS,
    Area,
    AreaKind,
    GridBuilding,
    PartyOrg,
    PartyOrgKind,
    PropertyFirm,
    PropertyManagement,
    ServiceContract,
    path_segment,
)
from models.base import Base, PlatformTable, TenantScoped, tenant_tables, utcnow, uuid7
from models.platform import Tenant, TenantStatus, User
from models.register import CareTagKind, Gender, Household, Person, PersonCareTag, Tenure

__all__ = [
    "ALLOWED_PARENTS",
    "Area",
    "AreaKind",
    "AuditEntry",
    "Base",
    "CareTagKind",
    "CasbinRule",
    "Gender",
    "GridBuilding",
    "Household",
    "Member",
    "PartyOrg",
    "PartyOrgKind",
    "Person",
    "PersonCareTag",
    "PlatformTable",
    "PropertyFirm",
    "PropertyManagement",
    "RoleAssignment",
    "ServiceContract",
    "Tenant",
    "TenantScoped",
    "TenantStatus",
    "Tenure",
    "User",
    "path_segment",
    "tenant_tables",
    "utcnow",
    "uuid7",
]
