"""seal partner units' contact phones at rest, as residents' phones are (0013)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-22
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.sealing import KEYRING
from tenants.migration_ops import each_tenant

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("partner_units") as batch:
        batch.alter_column("contact_phone", type_=sa.Text(), existing_type=sa.String(20), existing_nullable=True)
    bind = op.get_bind()
    units = sa.table(
        "partner_units",
        sa.column("tenant_id", sa.Uuid()),
        sa.column("id", sa.Uuid()),
        sa.column("contact_phone", sa.Text()),
    )
    for tenant_id in each_tenant(bind):  # RLS: act as the tenant (SET LOCAL, issue #27)
        rows = bind.execute(
            sa.select(units.c.id, units.c.contact_phone).where(
                units.c.tenant_id == tenant_id, units.c.contact_phone.is_not(None)
            )
        ).fetchall()
        for uid, phone in rows:
            bind.execute(
                units.update()
                .where(units.c.tenant_id == tenant_id, units.c.id == uuid.UUID(str(uid)))
                .values(contact_phone=KEYRING.seal(phone))
            )


def downgrade() -> None:
    raise NotImplementedError("sealed data is not unsealed by a downgrade; restore a backup instead")
