"""Access (授权): role assignments within scope, the tenant's Casbin policy, its accounts (账号)."""

from gongzhi.modules.declaration import Module
from models import CasbinRule, Member, RoleAssignment
from schema import access

MODULE = Module(
    name="access",
    tables=(Member, RoleAssignment, CasbinRule),
    resources=("role_assignment", "policy", "user"),
    schema=access.PARTS,
)
