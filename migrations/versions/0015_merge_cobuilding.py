"""merge: co-building (0011) was written beside the sealing and evaluation-item revisions (0014)

Revision ID: 0015
Revises: 0011, 0014
Create Date: 2026-11-22
"""

from collections.abc import Sequence

revision: str = "0015"
down_revision: str | tuple[str, ...] | None = ("0011", "0014")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
