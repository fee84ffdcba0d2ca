"""merge the ledgers branch (0019) into main (0021)

Revision ID: 0022
Revises: 0021, 0019_ledgers
Create Date: 2026-11-22
"""

from collections.abc import Sequence

revision: str = "0022"
down_revision: str | Sequence[str] | None = ("0021", "0019_ledgers")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
