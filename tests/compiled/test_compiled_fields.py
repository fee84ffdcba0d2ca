"""Each field declared once (issue #20): what a field means is defined once and both read paths — the
strawberry resolvers (Python) and the compiled reads (SQL) — are built from that definition. These
tests evaluate the SQL form of each shared definition on the database and compare it with the Python
form for sample values, so a change to one side only fails here (tests/test_compiled.py compares
whole responses; these compare the definitions themselves, edge cases included)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from strawberry.schema.types.base_scalars import DateTimeDefinition

from compiled.sql import cursor, gid, iso, iso_text
from models import CaseState
from models.area import community_id_of, community_id_sql, path_segment
from models.cases import is_overdue, overdue_sql
from resolvers.ids import encode_cursor, encode_global_id
from tests.support.harness import DbEnv

SAMPLE_IDS = [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.UUID("0190f3a1-7c2e-7d4b-9a1e-5f6b3c2d1e0f"),
              *(uuid.uuid4() for _ in range(20))]
# Long enough that base64 needs padding of each length, and one over 57 bytes (PostgreSQL breaks the
# base64 text into lines of 76 characters).
SAMPLE_TYPES = ["Case", "Person", "Household", "CaseTimelineEntry", "A", "AB", "ABC",
                "AVeryLongTypeNameThatMakesTheEncodedIdExceedOneBase64Line"]


def pg_only(db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("the compiled reads are PostgreSQL-only")


async def values(db: DbEnv, *exprs: sa.ColumnElement[Any]) -> list[Any]:
    async with db.engine.connect() as conn:
        row = (await conn.execute(sa.select(*exprs))).one()
    return list(row)


async def test_sql_global_ids_and_cursors_are_the_resolvers_encoding(db: DbEnv) -> None:
    pg_only(db)
    ids = [sa.literal(i, sa.Uuid()) for i in SAMPLE_IDS]
    got = await values(db, *(gid(t, i) for t in SAMPLE_TYPES for i in ids[:3]), *(cursor(i) for i in ids))
    want = [encode_global_id(t, i) for t in SAMPLE_TYPES for i in SAMPLE_IDS[:3]] + [
        encode_cursor(i) for i in SAMPLE_IDS]
    assert got == want
    assert any(len(w) > 76 for w in want)  # the line break of PostgreSQL's base64 is exercised


def test_sql_global_ids_and_cursors_are_written_without_translate() -> None:
    """A page writes an id per node and per nested node (a households page ≈ 70): PostgreSQL 15's
    translate() cost ≈ 4.5 µs a call there, one replace() per character ≈ 0.4 (issue #21). The
    encoding itself is the test above's."""
    from sqlalchemy.dialects import postgresql

    for expr in (gid("Person", sa.column("id")), cursor(sa.column("id"))):
        sql = str(expr.compile(dialect=postgresql.dialect()))
        assert "translate" not in sql
        assert sql.count("replace(") == 3


async def test_overdue_in_sql_is_the_python_rule_for_every_state_and_due_time(db: DbEnv) -> None:
    """Case.overdue and cases(overdue:): the SQL form (resolvers' list filter with bound states, the
    compiled reads with inlined ones) answers as the Python form for each state and due time."""
    now = datetime(2024, 3, 1, 8, 30, 15, 250000, tzinfo=UTC)
    dues = [None, now - timedelta(days=3), now - timedelta(microseconds=1), now, now + timedelta(seconds=1)]
    samples = [(state, due) for state in CaseState for due in dues]
    ts = sa.DateTime(timezone=True)
    exprs = [overdue_sql(sa.literal(state.value, sa.String()), sa.literal(due, ts), sa.literal(now, ts),
                         inline_states=inline)
             for inline in (False, True) for state, due in samples]
    got = [bool(v) for v in await values(db, *exprs)]
    want = [is_overdue(state, due, now) for state, due in samples] * 2
    assert got == want
    assert True in want and False in want


async def test_a_cases_community_in_sql_is_the_python_rule(db: DbEnv) -> None:
    """Case.community: the community id read from an area path, as the resolvers (community_id_of) and
    the compiled reads (community_id_sql) take it, for a street, a community and deeper areas."""
    pg_only(db)
    street, community, compound, building = (uuid.uuid4() for _ in range(4))
    paths = ["/" + "".join(path_segment(a) for a in chain[:n])
             for chain in [(street, community, compound, building)] for n in range(1, 5)]
    got = await values(db, *(community_id_sql(sa.literal(p, sa.String())) for p in paths))
    want = [community_id_of(p) for p in paths]
    assert got == want == [None, community, community, community]


async def test_sql_timestamps_are_what_strawberrys_datetime_sends(db: DbEnv) -> None:
    """DateTime fields: the compiled reads' text (iso, built from compiled.sql's one format) and its
    Python statement (iso_text) are strawberry's serialisation of the UTC value the resolvers read."""
    pg_only(db)
    samples = [datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC), datetime(2024, 3, 1, 0, 0, 0, 1, tzinfo=UTC),
               datetime(2024, 3, 1, 8, 30, 15, 250000, tzinfo=UTC),
               datetime(1999, 12, 31, 23, 0, 0, 999999, tzinfo=UTC),
               datetime(2024, 6, 1, 9, 0, tzinfo=timezone(timedelta(hours=8))),  # 01:00 UTC
               datetime(2099, 1, 1, tzinfo=UTC)]
    want = [DateTimeDefinition.serialize(d.astimezone(UTC)) for d in samples]
    got = await values(db, *(iso(sa.literal(d, sa.DateTime(timezone=True))) for d in samples))
    assert got == want
    assert [iso_text(d) for d in samples] == want


def test_the_compiler_reads_the_columns_the_strawberry_types_declare() -> None:
    """One field → column mapping: the compiled field tables take each column field from the strawberry
    type's declaration (schema.columns), and each declared column is a column of the type's table."""
    from compiled.fields import FIELDS, columns_of
    from models import Area, Case, Household, Person
    from schema.cases import Case as CaseType
    from schema.columns import column_reads
    from schema.register import AREA_TYPES
    from schema.register import Household as HouseholdType
    from schema.register import Person as PersonType

    types = {"Case": (CaseType, Case), "Household": (HouseholdType, Household), "Person": (PersonType, Person),
             **{t.__name__: (t, Area) for t in AREA_TYPES.values()}}
    for name, (strawberry_type, model) in types.items():
        reads = column_reads(strawberry_type)
        assert reads, name
        assert set(reads) <= set(FIELDS[name]), name
        assert {r.column for r in reads.values()} <= set(model.__table__.c.keys()), name
        assert set(columns_of(strawberry_type)) == set(reads)
    assert column_reads(CaseType)["category"].column == "category_code"
    assert column_reads(CaseType)["dueAt"].type is datetime
    assert "floors" in column_reads(AREA_TYPES[next(k for k in AREA_TYPES if k.value == "building")])
