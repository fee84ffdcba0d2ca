"""seal personal data at rest: persons' ID numbers and phones become AES-GCM ciphertext, found
again through keyed hashes (blind indexes); the unique ID number moves to its index

Revision ID: 0013
Revises: 0008
Create Date: 2026-11-22
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.sealing import KEYRING
from tenants.migration_ops import each_tenant

revision: str = "0013"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.alter_column("id_card_no", type_=sa.Text(), existing_type=sa.String(18), existing_nullable=True)
        batch.alter_column("phone", type_=sa.Text(), existing_type=sa.String(20), existing_nullable=True)
        batch.add_column(sa.Column("id_card_index", sa.String(64), nullable=True))
        batch.add_column(sa.Column("phone_index", sa.String(64), nullable=True))
        batch.drop_constraint("uq_persons_tenant_id_id_card_no", type_="unique")
    bind = op.get_bind()
    persons = sa.table(
        "persons",
        sa.column("tenant_id", sa.Uuid()),
        sa.column("id", sa.Uuid()),
        sa.column("id_card_no", sa.Text()),
        sa.column("phone", sa.Text()),
        sa.column("id_card_index", sa.String()),
        sa.column("phone_index", sa.String()),
    )
    for tenant_id in each_tenant(bind):  # RLS: act as the tenant (SET LOCAL, issue #27)
        rows = bind.execute(
            sa.select(persons.c.id, persons.c.id_card_no, persons.c.phone).where(persons.c.tenant_id == tenant_id)
        ).fetchall()
        for pid, card, phone in rows:
            bind.execute(
                persons.update()
                .where(persons.c.tenant_id == tenant_id, persons.c.id == uuid.UUID(str(pid)))
                .values(
                    id_card_no=None if card is None else KEYRING.seal(card),
                    id_card_index=None if card is None else KEYRING.blind_index(card),
                    phone=None if phone is None else KEYRING.seal(phone),
                    phone_index=None if phone is None else KEYRING.blind_index(phone),
                )
            )
    with op.batch_alter_table("persons") as batch:
        batch.create_unique_constraint("uq_persons_tenant_id_id_card_index", ["tenant_id", "id_card_index"])
        batch.create_index("ix_persons_phone_index", ["tenant_id", "phone_index"])


def downgrade() -> None:
    raise NotImplementedError("sealed personal data is not unsealed by a downgrade; restore a backup instead")
