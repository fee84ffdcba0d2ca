"""gongzhi_request_actor: the own compound found by the building path's prefixes (issue #21)

Every request's first statement calls ``gongzhi_request_actor``. Its own-household read looked up the
household building's compound with ``starts_with(b.path, c.path)`` over the tenant's compounds: no index
serves "c.path is a prefix of b.path", so each request read every compound of its tenant — and for a user
with no household (most staff accounts: b.path is NULL) it still read them all, to find nothing. h-op4's
perf of op 4 put it at ≈ 45 % of the function's samples. Now the compound is looked up by equality with the
building path's own prefixes ('/a/', '/a/b/', …: an index on (tenant_id, path) serves it at the bench's
sizes; equality on text is leakproof, so row-level security lets the index serve it), and not at all
without a building (a CASE: the subquery is never run). The same answer for every
member of the bench databases (compared row by row); measured 147 → 24 µs per call for the scale-0.1
bench's members and 67 → 42 µs for the portal mix's owners (bench/RESULTS.md). Every read still carries
``tenant_id = p_tenant`` (Citus routes it to the tenant's shard, migration 0034).

Revision ID: 0048_actor_compound
Revises: 0047_pii_reads
Create Date: 2026-12-06
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0048_actor_compound"
down_revision: str | None = "0047_pii_reads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = """(SELECT c.path FROM areas c
             WHERE c.tenant_id = p_tenant AND c.kind = 'compound' AND starts_with(b.path, c.path)
             LIMIT 1)"""

_NEW = """CASE WHEN b.path IS NOT NULL THEN
           (SELECT c.path FROM areas c
             WHERE c.tenant_id = p_tenant AND c.kind = 'compound'
               AND c.path = ANY (ARRAY(SELECT array_to_string(s.parts[1:n], '/') || '/'
                                         FROM (SELECT string_to_array(b.path, '/') AS parts) s,
                                              generate_series(2, cardinality(s.parts) - 1) n))
             LIMIT 1) END"""


def _revision_0034() -> str:
    path = Path(__file__).with_name("0034_citus_tenant_setting.py")
    spec = importlib.util.spec_from_file_location("gongzhi_migration_0034", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.FUNCTION)


def _function() -> str:
    old = _revision_0034()
    assert _OLD in old, "0034's compound lookup changed: rewrite this revision"
    return old.replace(_OLD, _NEW, 1)


FUNCTION = _function()


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_revision_0034())
