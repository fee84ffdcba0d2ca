"""A case's first 受理 stage sets ``rate_accept_due`` from its own row (migration 0060; issue #21, op 4's two modes):
the trigger reads no ``case_stages`` row for a stage numbered 1 — its plan once depended on the statistics and
scanned every stage row of the tenant where they said the table was empty — and stages are numbered from 1.
Later 受理 stages still read the case's stages (test_case_rate_facts: a second 受理 stage, a moved due time)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tenants.rls import set_tenant_sql
from tests.cases.test_case_rate_facts import kept
from tests.support.case_steps import MONDAY_10, ClockApi, reported
from tests.support.cases import case_uuid
from tests.support.harness import DbEnv, World

_SCANS = ("SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables"
          " WHERE relname = 'case_stages'")
_STAGE = ("INSERT INTO case_stages (tenant_id, id, case_id, seq, stage, started_at, due_at, extensions, created_at)"
          " VALUES (:t, :id, :c, :seq, 'accept', :at, :due, 0, :at)")


@pytest.fixture
def pg(db: DbEnv) -> DbEnv:
    if not db.is_pg:
        pytest.skip("the trigger's shortcut and the numbering's check are PostgreSQL's (SQLite keeps 0056's triggers)")
    return db


async def test_a_first_stage_sets_the_due_time_without_reading_the_stages(capi: ClockApi, fresh: World,
                                                                          pg: DbEnv) -> None:
    a = fresh.a
    case_id = case_uuid((await reported(capi.api, a))["id"])
    due = MONDAY_10 + timedelta(days=3)
    async with pg.owner_engine.connect() as conn:
        await conn.execute(sa.text(set_tenant_sql(a.tenant_id)))
        await conn.execute(sa.text("DELETE FROM case_stages WHERE case_id = :c"), {"c": case_id})
        await conn.execute(sa.text("UPDATE cases SET rate_accept_due = NULL WHERE id = :c"), {"c": case_id})
        before = (await conn.execute(sa.text(_SCANS))).scalar_one()
        await conn.execute(sa.text(_STAGE), {"t": a.tenant_id, "id": uuid.uuid4(), "c": case_id, "seq": 1,
                                             "at": MONDAY_10, "due": due})
        after = (await conn.execute(sa.text(_SCANS))).scalar_one()
        got = (await conn.execute(sa.text("SELECT rate_accept_due FROM cases WHERE id = :c"),
                                  {"c": case_id})).scalar_one()
        await conn.rollback()
    assert got == due  # the stage's own due time, set by the trigger
    assert after - before == 0  # and no scan of case_stages to find it (0056's read one: a bitmap or index scan)
    await kept(pg, a, case_id)  # rolled back: the reported case's facts are as its rows say


async def test_stages_are_numbered_from_one(capi: ClockApi, fresh: World, pg: DbEnv) -> None:
    a = fresh.a
    case_id = case_uuid((await reported(capi.api, a))["id"])
    async with pg.owner_engine.connect() as conn:
        await conn.execute(sa.text(set_tenant_sql(a.tenant_id)))
        with pytest.raises(IntegrityError, match="ck_case_stages_seq_from_one"):
            await conn.execute(sa.text(_STAGE), {"t": a.tenant_id, "id": uuid.uuid4(), "c": case_id, "seq": 0,
                                                 "at": MONDAY_10, "due": MONDAY_10})
        await conn.rollback()
    await kept(pg, a, case_id)
