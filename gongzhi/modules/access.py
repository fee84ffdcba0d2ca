"""Access (授权): role assignments within scope, and the tenant's Casbin policy."""

from gongzhi.modules.declaration import Module
from models import CasbinRule, Member, RoleAssignment
from schema import access

MODULE = Module(
    name="access",
    tables=(Member, RoleAssignment, CasbinRule),
    resources=("role_assignment", "policy"),
    schema=access.PARTS,
)
