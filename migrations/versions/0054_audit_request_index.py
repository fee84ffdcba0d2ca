"""index the audit log by request, for the full reads' stated purpose (personalDataReport; issue #21, PIPL)

personalDataReport names each full read of the person with what its request did and why: the request's
other audit entries (the last with a stated purpose, else the first; compiled/personal_data.py ``_via``,
resolvers/register/personal_data.py). Each of those two lookups per full read found the request's entries
by scanning the tenant's whole log — measured on a log of 500,000 entries: 95–180 ms per lookup, so a
person read in full 20 times took ≈ 5 s, past the default statement timeout: the data subject's report
refused once the office's log had grown. With this index each lookup is an index probe (0.07–0.09 ms on
the same log). An entry's write fills one more index entry; request ids are a process prefix and a
counter (gongzhi/http/observability.py), so within a process they go in order. Partial: the periodic
jobs' entries have no request.

Revision ID: 0054_audit_request
Revises: 0052_cases_scope_period
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0054_audit_request"
down_revision: str | None = "0052_cases_scope_period"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    where = sa.text("request_id IS NOT NULL")
    op.create_index("ix_audit_log_tenant_request", "audit_log", ["tenant_id", "request_id"],
                    postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    op.drop_index("ix_audit_log_tenant_request", table_name="audit_log")
