"""photos: dimensions and a thumbnail (issues #24 and #25)

Uploads are now rebuilt from their pixels (no EXIF, GPS or other metadata) and get a thumbnail
stored beside them. The new columns are null for photos stored before: ``gongzhi photos clean``
rebuilds those files on disk and fills them in (docs/operations.md); until it has run, such a
photo is cleaned in memory each time it is served.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attachments") as batch_op:
        batch_op.add_column(sa.Column("width", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("height", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("thumbnail_key", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attachments") as batch_op:
        batch_op.drop_column("thumbnail_key")
        batch_op.drop_column("height")
        batch_op.drop_column("width")
