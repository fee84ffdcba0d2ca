"""onboarding through the API (issue #23): party organisation members, owner committees, area names
unique under their parent, archived areas

- ``party_org_members`` (a person of the register in a party organisation, with their office) and
  ``owner_committees`` (a compound's 业委会: chair, term): tenant tables with forced row-level security.
- ``areas.archived_at`` (archiveArea: never deleted) and the unique index of a live area's name under
  its parent. Existing duplicates (re-run onboarding scripts left two 花园社区) do not stop the
  migration: every duplicate but the oldest is renamed "<name>（重名2）", "（重名3）" … first, so the
  street admin sees them and can archive or rename them.
- The policy lines for firms and contracts, party organisations and owner committees, added to every
  existing tenant.

Revision ID: 0034_organisations
Revises: 0033_accounts
Create Date: 2026-12-05
"""

from collections.abc import Sequence
from functools import partial

import sqlalchemy as sa
from alembic import context, op

from tenants.migration_ops import add_policy_lines, create_tenant_table, each_tenant, remove_policy_lines

revision: str = "0034_organisations"
down_revision: str | None = "0033_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Issue #27: a new tenant table is created without its foreign keys, distributed on a Citus cluster, then
# keyed (tenants.migration_ops); its row-level security is set up below, as before.
_create = partial(create_tenant_table, rls=False)

TENANT_CHECK = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
TABLES = ("party_org_members", "owner_committees")
# Frozen copy of the lines this revision adds (policies/register/policy.csv has the living ones).
NEW_RULES = (
    ("street_admin", "property_firm", "manage", "all"),
    ("party_secretary", "party_org", "manage", "scope"),
    ("street_admin", "party_org", "manage", "all"),
    ("party_secretary", "owner_committee", "manage", "scope"),
    ("street_admin", "owner_committee", "manage", "all"),
)


def _app_role() -> str:
    import os
    import re

    role = context.config.attributes.get("app_role") or os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"bad app role name {role!r}")
    return str(role)


def _base(name: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{name}_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{name}")),
    ]


def _rename_duplicates(bind: sa.engine.Connection) -> None:
    areas = sa.table("areas", sa.column("tenant_id", sa.Uuid()), sa.column("id", sa.Uuid()),
                     sa.column("parent_id", sa.Uuid()), sa.column("name", sa.String()),
                     sa.column("created_at", sa.DateTime(timezone=True)))
    for tid in each_tenant(bind):
        rows = bind.execute(sa.select(areas.c.id, areas.c.parent_id, areas.c.name)
                            .where(areas.c.tenant_id == tid).order_by(areas.c.created_at, areas.c.id)).all()
        taken = {(r.parent_id, r.name) for r in rows}
        seen: set[tuple[object, str]] = set()
        for r in rows:
            key = (r.parent_id, r.name)
            if key not in seen:
                seen.add(key)
                continue
            n = 2
            while (r.parent_id, f"{r.name[:90]}（重名{n}）") in taken:
                n += 1
            new = f"{r.name[:90]}（重名{n}）"
            taken.add((r.parent_id, new))
            seen.add((r.parent_id, new))
            bind.execute(areas.update().where(areas.c.tenant_id == tid, areas.c.id == r.id).values(name=new))


def upgrade() -> None:
    _create(
        "party_org_members",
        sa.Column("party_org_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.Enum("secretary", "deputy_secretary", "committee_member", "member",
                                  name="partyorgrole", native_enum=False, length=24), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=True),
        *_base("party_org_members"),
        sa.ForeignKeyConstraint(["tenant_id", "party_org_id"], ["party_orgs.tenant_id", "party_orgs.id"],
                                name=op.f("fk_party_org_members_tenant_id_party_orgs")),
        sa.ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"],
                                name=op.f("fk_party_org_members_tenant_id_persons")),
        sa.UniqueConstraint("tenant_id", "party_org_id", "person_id",
                            name=op.f("uq_party_org_members_tenant_id_party_org_id_person_id")),
    )
    op.create_index("ix_party_org_members_person", "party_org_members", ["tenant_id", "person_id"])
    _create(
        "owner_committees",
        sa.Column("compound_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("chair_name", sa.String(length=50), nullable=False),
        sa.Column("chair_person_id", sa.Uuid(), nullable=True),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=False),
        *_base("owner_committees"),
        sa.ForeignKeyConstraint(["tenant_id", "compound_id"], ["areas.tenant_id", "areas.id"],
                                name=op.f("fk_owner_committees_tenant_id_areas")),
        sa.ForeignKeyConstraint(["tenant_id", "chair_person_id"], ["persons.tenant_id", "persons.id"],
                                name=op.f("fk_owner_committees_tenant_id_persons")),
    )
    op.create_index("ix_owner_committees_compound", "owner_committees", ["tenant_id", "compound_id"])
    with op.batch_alter_table("areas") as batch:
        batch.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    _rename_duplicates(bind)
    op.create_index("ux_areas_live_sibling_name", "areas", ["tenant_id", "parent_id", "name"], unique=True,
                    postgresql_where=sa.text("archived_at IS NULL"), sqlite_where=sa.text("archived_at IS NULL"))
    add_policy_lines(bind, NEW_RULES)
    if bind.dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({TENANT_CHECK}) WITH CHECK ({TENANT_CHECK})")
    role = _app_role()
    op.execute(f"""
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {role};
          END IF;
        END $$;
    """)


def downgrade() -> None:
    remove_policy_lines(op.get_bind(), NEW_RULES)
    op.drop_index("ux_areas_live_sibling_name", table_name="areas")
    with op.batch_alter_table("areas") as batch:
        batch.drop_column("archived_at")
    op.drop_index("ix_owner_committees_compound", table_name="owner_committees")
    op.drop_table("owner_committees")
    op.drop_index("ix_party_org_members_person", table_name="party_org_members")
    op.drop_table("party_org_members")
