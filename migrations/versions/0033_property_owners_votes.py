"""votes by registered property owners: ``property_owners``, building votes, proxy and paper ballots (issue #23)

DESIGN.md §8 ("Who votes"): the electors of an owners' vote are the registered property owners
(产权人) of the dwellings in its scope — a compound or one building — one ballot per dwelling,
weighted by its floor area; renters do not vote; staff record proxy (委托) and paper ballots with
the document's reference.

- ``property_owners``: a person of the register on a dwelling's title (ended, never deleted); a
  tenant table with forced row-level security.
- ``votes.building_id``: a building's vote (None: the whole compound).
- ``vote_electors.method`` (online / proxy / paper), ``document_ref``, ``proxy_name``; existing cast
  ballots are ``online``.
- Backfill: until now any adult registered in an owner-occupied household (tenure ``owner``) could
  cast its ballot; each of them is registered as an owner of that dwelling, so nobody who could vote
  yesterday loses the ballot today. Staff correct the owner lists from the title documents.
- Policy lines ``vote · record`` for the owner-committee chair (scope) and the street admin (all).

The tenant is set with ``SET LOCAL`` (tenants.migration_ops, issue #27).

Revision ID: 0033_property_owners_votes
Revises: 0032
Create Date: 2026-12-05
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import context, op

from tenants.migration_ops import add_policy_lines, create_tenant_table, each_tenant, remove_policy_lines

revision: str = "0033_property_owners_votes"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_CHECK = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
# Frozen copy of the policy lines this revision adds (policies/deliberation/policy.csv has the living ones).
NEW_RULES = (("owner_committee_chair", "vote", "record", "scope"), ("street_admin", "vote", "record", "all"))


def _app_role() -> str:
    import os
    import re

    role = context.config.attributes.get("app_role") or os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"bad app role name {role!r}")
    return str(role)


def _adult_on(born: object, today: date) -> bool:
    if born is None:
        return True  # no birth date on the register: treated as an adult, as the old rule did
    b = born if isinstance(born, date) else date.fromisoformat(str(born)[:10])
    return (today.year - b.year - ((today.month, today.day) < (b.month, b.day))) >= 18


def upgrade() -> None:
    create_tenant_table(  # issue #27: distributed before its foreign keys on Citus
        "property_owners",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("certificate_ref", sa.String(length=64), nullable=True),
        sa.Column("registered_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_property_owners_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id", "household_id"], ["households.tenant_id", "households.id"],
                                name=op.f("fk_property_owners_tenant_id_households")),
        sa.ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"],
                                name=op.f("fk_property_owners_tenant_id_persons")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_property_owners")),
        rls=False,  # below, as before
    )
    op.create_index("ix_property_owners_household", "property_owners", ["tenant_id", "household_id"])
    op.create_index("ix_property_owners_person", "property_owners", ["tenant_id", "person_id"])
    with op.batch_alter_table("votes") as batch:
        batch.add_column(sa.Column("building_id", sa.Uuid(), nullable=True))
    with op.batch_alter_table("vote_electors") as batch:
        batch.add_column(sa.Column("method", sa.Enum("online", "proxy", "paper", name="ballotmethod",
                                                     native_enum=False, length=8), nullable=True))
        batch.add_column(sa.Column("document_ref", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("proxy_name", sa.String(length=50), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE property_owners ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE property_owners FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON property_owners USING ({TENANT_CHECK}) "
                   f"WITH CHECK ({TENANT_CHECK})")
        role = _app_role()
        op.execute(f"""
            DO $$
            BEGIN
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                GRANT SELECT, INSERT, UPDATE ON property_owners TO {role};
              END IF;
            END $$;
        """)
    now = datetime.now(UTC)
    today = now.date()
    owners = sa.table("property_owners", *(sa.column(c, sa.Uuid()) for c in ("household_id", "person_id", "tenant_id",
                                                                             "id")),
                      sa.column("created_at", sa.DateTime(timezone=True)))
    electors = sa.table("vote_electors", sa.column("tenant_id", sa.Uuid()), sa.column("method"), sa.column("choice"))
    for tid in each_tenant(bind):
        rows = bind.execute(sa.text(
            "SELECT p.id, p.household_id, p.birth_date FROM persons p JOIN households h "
            "ON h.tenant_id = p.tenant_id AND h.id = p.household_id "
            "WHERE p.tenant_id = :t AND h.tenant_id = :t AND h.tenure = 'owner' ORDER BY p.id"
        ).bindparams(sa.bindparam("t", type_=sa.Uuid())), {"t": tid}).fetchall()
        values = [{"household_id": uuid.UUID(str(h)), "person_id": uuid.UUID(str(p)), "tenant_id": tid,
                   "id": uuid.uuid4(), "created_at": now} for p, h, born in rows if _adult_on(born, today)]
        if values:
            bind.execute(owners.insert(), values)
        bind.execute(electors.update().where(electors.c.tenant_id == tid, electors.c.choice.is_not(None))
                     .values(method="online"))
    add_policy_lines(bind, NEW_RULES)


def downgrade() -> None:
    remove_policy_lines(op.get_bind(), NEW_RULES)
    with op.batch_alter_table("vote_electors") as batch:
        batch.drop_column("proxy_name")
        batch.drop_column("document_ref")
        batch.drop_column("method")
    with op.batch_alter_table("votes") as batch:
        batch.drop_column("building_id")
    op.drop_index("ix_property_owners_person", table_name="property_owners")
    op.drop_index("ix_property_owners_household", table_name="property_owners")
    op.drop_table("property_owners")
