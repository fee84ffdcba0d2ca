"""merge the operations (0018) and masked personal data (0020) branches

Revision ID: 0021
Revises: 0018_ops, 0020
Create Date: 2026-11-22
"""

from collections.abc import Sequence

revision: str = "0021"
down_revision: str | Sequence[str] | None = ("0018_ops", "0020")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
