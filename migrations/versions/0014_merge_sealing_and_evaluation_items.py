"""merge: sealing personal data (0013) and evaluation item snapshots (0010) were written side by side

Revision ID: 0014
Revises: 0010, 0013
Create Date: 2026-11-22
"""

from collections.abc import Sequence

revision: str = "0014"
down_revision: str | tuple[str, ...] | None = ("0010", "0013")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
