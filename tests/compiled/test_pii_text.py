"""A personal-data field of a Person (compiled.pii.pii_value: null, a full read's "$pii" marker, or the masked
value) written as text, branch by branch, is the text json_build_object writes for its CASE, byte for byte: the
answer's text is sent as PostgreSQL wrote it and compiled.plans.finish finds each marker by that text, opens the
sealed value and records the person for the audit (issue #21)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from compiled.pii import _boolean, pii_value
from compiled.plans import _MARKER
from compiled.sql import JsonObject, json_text, lit, value_text
from tests.compiled.test_compiled_fields import pg_only, values
from tests.support.harness import DbEnv


def sql(text: str, type_: Any = None) -> sa.ColumnElement[Any]:
    return sa.literal_column(text, type_)


PERSON = sql("'0190f3a1-7c2e-7d4b-9a1e-5f6b3c2d1e0f'::uuid", sa.Uuid())
CONDITIONS = [sql("true", sa.Boolean()), sql("false", sa.Boolean()), sql("NULL::boolean", sa.Boolean())]
# The values a full read reads: a sealed text (and one with characters JSON escapes), a date, a list of care
# tags, none; the masked values: a text, one with escapes and Chinese, none.
VALUES = [sql("'v1:dev:AAECAwQFBgcICQoLDA0ODxAREhM='::text"), sql("E'a\"b\\\\c\\n\\u0001 中'::text"),
          sql("'2024-02-29'::date"), sql("'[\"elderly\", \"disabled\"]'::json"), sql("'[]'::json"), sql("NULL::text")]
MASKED = [sql("'138****0000'::text"), sql("E'1\"**\\\\* 中'::text"), sql("NULL::text"), None]


def fields() -> list[sa.ColumnElement[Any]]:
    out = []
    for readable in CONDITIONS:
        for absent in [None, *CONDITIONS]:
            for value in VALUES:
                for masked in MASKED:
                    for sealed in (False, True):
                        out.append(pii_value(PERSON, readable, value, masked, sealed=sealed, absent=absent))
    return out


async def test_a_personal_data_fields_text_is_its_json_values_text(db: DbEnv) -> None:
    pg_only(db)
    every = fields()
    for i in range(0, len(every), 40):  # an object of each value written both ways, 40 fields at a time
        o = JsonObject(*(x for j, f in enumerate(every[i:i + 40]) for x in (lit(f"f{j}"), f)))
        built, written = await values(db, sa.cast(o, sa.Text), o.text())
        assert written == built, (written, built)
    # the text form is the one the object's text takes, and it has no json_build_object left
    text = str(JsonObject(lit("phone"), every[0]).text().compile(dialect=postgresql.dialect()))
    assert "json_build_object" not in text and "to_json(CASE" not in text


async def test_a_full_reads_marker_is_the_one_finish_opens(db: DbEnv) -> None:
    pg_only(db)
    sealed = pii_value(PERSON, sql("true", sa.Boolean()), VALUES[0], MASKED[0], sealed=True)
    tags = pii_value(PERSON, sql("true", sa.Boolean()), VALUES[3])
    found = json_text(sealed)
    assert found is not None
    [a, b] = await values(db, *(JsonObject(lit("x"), f).text() for f in (sealed, tags)))
    assert [m.groups() for m in _MARKER.finditer(a)] == [
        ("0190f3a1-7c2e-7d4b-9a1e-5f6b3c2d1e0f", '"v1:dev:AAECAwQFBgcICQoLDA0ODxAREhM="', ', "s" : true')]
    assert [m.groups() for m in _MARKER.finditer(b)] == [
        ("0190f3a1-7c2e-7d4b-9a1e-5f6b3c2d1e0f", '["elderly", "disabled"]', None)]


async def test_a_masked_flags_text_is_the_negation_of_the_whole_check(db: DbEnv) -> None:
    """piiMasked / addressMasked (NOT of the full read's check, compiled.pii.person_pii / household_pii): the check
    typed Boolean is written as a CASE of 'true' / 'false' / 'null', not through to_json, and NOT is of the whole
    check — of an OR of alternatives too (typed without its parentheses it read NOT a OR b) — with to_json's bytes."""
    pg_only(db)
    checks = [sa.or_(sa.and_(a, sql("1 = 1", sa.Boolean())), b) for a in CONDITIONS for b in CONDITIONS]
    for check in checks:
        written = value_text(~_boolean(check))
        assert "to_json" not in str(written.compile(dialect=postgresql.dialect()))
        [built, text] = await values(db, sa.func.coalesce(sa.cast(sa.func.to_json(~check), sa.Text), lit("null")),
                                     written)
        assert text == built, (str(check), text, built)
    assert _boolean(sa.true()) is not None and isinstance(_boolean(sa.false()), type(sa.false()))
