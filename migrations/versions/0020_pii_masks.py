"""persons keep the masked display forms of their ID number and phone (138****5678)

The masked form is what every role without the full-read right sees. Keeping it beside the
sealed value lets one SQL statement answer a masked page (issue #9) without unsealing rows in
the application; it reveals nothing a masked read does not already show.

Revision ID: 0020
Revises: 0017
Create Date: 2026-11-22
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.sealing import KEYRING
from tenants.migration_ops import each_tenant

revision: str = "0020"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _mask_phone(v: str) -> str:
    return v[:3] + "****" + v[-4:] if len(v) >= 11 else "*" * (len(v) - 2) + v[-2:]


def _mask_id_card(v: str) -> str:
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


def upgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("id_card_masked", sa.String(32), nullable=True))
        batch.add_column(sa.Column("phone_masked", sa.String(32), nullable=True))
    bind = op.get_bind()
    persons = sa.table(
        "persons",
        sa.column("tenant_id", sa.Uuid()),
        sa.column("id", sa.Uuid()),
        sa.column("id_card_no", sa.Text()),
        sa.column("phone", sa.Text()),
        sa.column("id_card_masked", sa.String()),
        sa.column("phone_masked", sa.String()),
    )
    for tenant_id in each_tenant(bind):  # RLS: act as the tenant (SET LOCAL, issue #27)
        rows = bind.execute(
            sa.select(persons.c.id, persons.c.id_card_no, persons.c.phone).where(
                persons.c.tenant_id == tenant_id,
                sa.or_(persons.c.id_card_no.is_not(None), persons.c.phone.is_not(None)),
            )
        ).fetchall()
        for pid, card, phone in rows:
            bind.execute(
                persons.update()
                .where(persons.c.tenant_id == tenant_id, persons.c.id == uuid.UUID(str(pid)))
                .values(id_card_masked=None if card is None else _mask_id_card(KEYRING.open(card)),
                        phone_masked=None if phone is None else _mask_phone(KEYRING.open(phone)))
            )


def downgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("phone_masked")
        batch.drop_column("id_card_masked")
