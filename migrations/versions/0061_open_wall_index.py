"""index the open cases on the problem wall by building, newest first (issue #21, bench op 1)

A grid leader's open-case page takes, among its candidates, the public wall of every compound its grids touch
(policies.cases ``on_wall IS TRUE`` and the compound's areas), read area by area as the newest open cases of
each area (compiled.case_filters ``_newest_of_branch``). Through ``ix_cases_open_area`` (0024) each area's scan
walked its open cases newest first and dropped every one not on the wall: its cost grew with the open cases a
grid leader or the 12345 import reports in those buildings (never on the wall). With 3,600 such reports in the
grid's eight buildings (what bench.compare's op 4 leaves), the branch read 3,960 rows for 240 and 2,078 of the
page's 3,580 buffers. This index holds only the open cases on the wall: the same scan reads the rows it keeps.

The predicate says ``on_wall IS TRUE``, as the policies write it (``Case.on_wall.is_(True)``): PostgreSQL 15
proves a partial index's predicate from a query's conditions by their form, and ``on_wall IS TRUE`` does not
prove a predicate ``on_wall`` (nor ``on_wall = true``). SQLite's text is its rendering of the same condition
(``on_wall IS 1``). A case enters it only while open and on the wall: a resident's report (on the wall, open)
and its steps up to resolution; a staff or hotline report never.

Both backends, as 0024. On Citus a CREATE INDEX on the distributed ``cases`` table is created on every shard by
Citus itself, as 0024's and 0052's (docs/scaling.md run I: on every shard with its predicate).

Revision ID: 0061_open_wall_index
Revises: 0063_audit_index_predicates
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0061_open_wall_index"
down_revision: str | None = "0063_audit_index_predicates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "state IN ('reported', 'accepted', 'dispatched', 'in_progress', 'reopened')"  # as 0024 (models.cases)


def upgrade() -> None:
    op.create_index("ix_cases_open_wall", "cases", ["tenant_id", "area_id", "id"],
                    postgresql_where=sa.text(f"{OPEN} AND on_wall IS TRUE"),
                    sqlite_where=sa.text(f"{OPEN} AND on_wall IS 1"))


def downgrade() -> None:
    op.drop_index("ix_cases_open_wall", table_name="cases")
