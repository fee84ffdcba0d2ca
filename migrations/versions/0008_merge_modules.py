"""merge the module branches: deliberation (0003), care (0004), volunteering (0005) and the case
configuration and audit revisions (0006, 0007) were written side by side on 0002

Revision ID: 0008
Revises: 0003, 0004, 0005, 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | tuple[str, ...] | None = ("0003", "0004", "0005", "0007")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
