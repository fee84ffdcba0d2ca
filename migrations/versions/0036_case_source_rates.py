"""cases: source channel, 12345 work-order number, and the rates' per-tenant definitions (issue #22)

``cases.source`` (来源渠道) is filled for existing cases from who reported them: a report made as a
resident or neighbourhood lead is ``resident_report`` (居民上报), one made as a grid leader
``grid_patrol`` (网格巡查), any other ``other`` (其他) — the channel was not recorded before, so nothing
more precise can be said. ``cases.external_ticket_no`` (12345 工单号) is unique per tenant (nulls
allowed many times). ``case_settings`` gets the response time limit and the composite weights of
the rates (null: the defaults of docs/domains/case-rates.md).

Revision ID: 0033_case_source_rates
Revises: 0033_case_stages
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants.migration_ops import each_tenant

revision: str = "0033_case_source_rates"
down_revision: str | None = "0033_case_stages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_T = sa.bindparam("t", type_=sa.Uuid())  # the tenant's id as the column stores it (hex on SQLite)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=False, server_default="other"))
        batch_op.add_column(sa.Column("external_ticket_no", sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint("uq_cases_tenant_external_ticket", ["tenant_id", "external_ticket_no"])
    bind = op.get_bind()
    for tenant in each_tenant(bind):  # forced row-level security: one tenant at a time (SET LOCAL)
        bind.execute(sa.text("UPDATE cases SET source = 'resident_report' WHERE tenant_id = :t "
                             "AND reporter_role IN ('resident', 'neighbor_lead')").bindparams(_T), {"t": tenant})
        bind.execute(sa.text("UPDATE cases SET source = 'grid_patrol' WHERE tenant_id = :t "
                             "AND reporter_role = 'grid_leader'").bindparams(_T), {"t": tenant})
    with op.batch_alter_table("case_settings") as batch_op:
        batch_op.add_column(sa.Column("response_limit_amount", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("response_limit_unit", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("rate_weights", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_settings") as batch_op:
        batch_op.drop_column("rate_weights")
        batch_op.drop_column("response_limit_unit")
        batch_op.drop_column("response_limit_amount")
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_constraint("uq_cases_tenant_external_ticket", type_="unique")
        batch_op.drop_column("external_ticket_no")
        batch_op.drop_column("source")
