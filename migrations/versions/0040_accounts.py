"""accounts belong to their street office (issues #23, #24; DESIGN.md §8 "Accounts")

``users`` gets:

- ``home_tenant_id``: the street office the account belongs to. Usernames become unique per street
  office (``ux_users_tenant_username``) instead of platform-wide; accounts with no street office
  (an identity the operator linked to several, partner API clients) keep a platform-wide unique
  name (``ux_users_platform_username``, partial). Existing accounts present in exactly one tenant
  (``members``) are moved into it; those in several stay linked identities (null).
- ``subject``: the identity provider's ``sub`` the account is bound to (unique when set).
- ``deactivated_at``: a deactivated account's tokens are refused (``USER_DEACTIVATED``).

Policy lines ``user · read`` and ``user · manage`` for the street admin (createUser, deactivateUser,
reactivateUser, the ``users`` list) are added to every existing tenant.

Revision ID: 0033_accounts
Revises: 0033_personal_data
Create Date: 2026-12-05
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants.migration_ops import add_policy_lines, each_tenant, remove_policy_lines

revision: str = "0033_accounts"
down_revision: str | None = "0033_personal_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the lines this revision adds (policies/access/policy.csv has the living ones).
NEW_RULES = (("street_admin", "user", "read", "all"), ("street_admin", "user", "manage", "all"))


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("home_tenant_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("subject", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint("uq_users_username", type_="unique")
        batch.create_unique_constraint("uq_users_subject", ["subject"])
    bind = op.get_bind()
    # Which tenants each account is present in (members is a tenant table: read tenant by tenant).
    members = sa.table("members", sa.column("user_id", sa.Uuid()), sa.column("tenant_id", sa.Uuid()))
    homes: dict[uuid.UUID, set[uuid.UUID]] = {}
    for tid in each_tenant(bind):
        for (user_id,) in bind.execute(sa.select(members.c.user_id).where(members.c.tenant_id == tid)).fetchall():
            homes.setdefault(uuid.UUID(str(user_id)), set()).add(tid)
    users = sa.table("users", sa.column("id", sa.Uuid()), sa.column("home_tenant_id", sa.Uuid()))
    for user_id, tenants in homes.items():
        if len(tenants) == 1:
            bind.execute(users.update().where(users.c.id == user_id).values(home_tenant_id=next(iter(tenants))))
    op.create_index("ux_users_tenant_username", "users", ["home_tenant_id", "username"], unique=True)
    op.create_index("ux_users_platform_username", "users", ["username"], unique=True,
                    postgresql_where=sa.text("home_tenant_id IS NULL"), sqlite_where=sa.text("home_tenant_id IS NULL"))
    add_policy_lines(bind, NEW_RULES)


def downgrade() -> None:
    remove_policy_lines(op.get_bind(), NEW_RULES)
    op.drop_index("ux_users_platform_username", table_name="users")
    op.drop_index("ux_users_tenant_username", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_subject", type_="unique")
        batch.drop_column("deactivated_at")
        batch.drop_column("subject")
        batch.drop_column("home_tenant_id")
        batch.create_unique_constraint("uq_users_username", ["username"])
