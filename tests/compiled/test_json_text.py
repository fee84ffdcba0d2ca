"""An object's JSON text by concatenation (compiled.sql.JsonObject.text) is json_build_object's text, byte for
byte, for values of every kind the compiled reads write — the answer's text is sent as PostgreSQL wrote it
(compiled.plans.finish), spacing included, and finish's markers are found by that spacing (issue #21)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from compiled.sql import JsonObject, gid, iso, json_list, lit, plain
from tests.compiled.test_compiled_fields import pg_only, values
from tests.support.harness import DbEnv


def sql(text: str, type_: Any = None) -> sa.ColumnElement[Any]:
    return sa.literal_column(text, type_)


# (key, value): text with every character JSON escapes and some it does not, NULLs of several types,
# numbers PostgreSQL writes as JSON numbers and those it quotes, booleans, times, arrays, json and jsonb.
SCALARS: list[tuple[str, sa.ColumnElement[Any]]] = [
    ("quote", sql("E'a\"b\\\\c/d\\n\\r\\t\\b\\f\\u0001\\u001f x'::text")),
    ("chinese", sql("'唐文斌 1栋 😀'::text")),
    ("empty", sql("''::text")),
    ("nullText", sql("NULL::text")),
    ("nullJson", sql("NULL::json")),
    ("int", sql("(-5)::int")),
    ("big", sql("9007199254740993::bigint")),
    ("numeric", sql("83.50::numeric")),
    ("nan", sql("'NaN'::numeric")),
    ("float", sql("0.1::float8")),
    ("inf", sql("'Infinity'::float8")),
    ("true", sql("true", sa.Boolean())),
    ("false", sa.not_(sql("true", sa.Boolean()))),
    ("nullBool", sql("NULL::boolean", sa.Boolean())),
    ("compared", sql("1", sa.Integer()) > 2),
    ("at", sql("'2024-03-01 08:30:15.25+00'::timestamptz")),
    ("iso", iso(sql("'2024-03-01 08:30:15.25+00'::timestamptz"))),
    ("nullIso", iso(sql("NULL::timestamptz"))),
    ("day", sql("'2024-02-29'::date")),
    ("tags", sql("ARRAY['a', 'b\"c']::text[]")),
    ("noTags", sql("ARRAY[]::int[]")),
    ("json", sql("'{\"a\" : [1, 2]}'::json")),
    ("jsonb", sql("'{\"b\": 1, \"a\": null}'::jsonb")),
    ("id", gid("Person", sql("'0190f3a1-7c2e-7d4b-9a1e-5f6b3c2d1e0f'::uuid"))),
    ("nullId", gid("Person", sql("NULL::uuid"))),
    ("plainNull", plain(sql("NULL::text"))),
    ("constant", lit("***")),
    ("constantEmpty", lit("")),
    ("constantName", lit("Household")),
    ("constantOdd", lit('a"b\\c\n\x01*/中')),
    ("none", sa.null()),
    ("marker", sa.case((sql("true", sa.Boolean()), sa.func.json_build_object(lit("$pii"), sql("'x'::text"))),
                       else_=sa.func.to_json(sql("'1**'::text")))),
    ("$pii", sql("'y'::text")),
]


def obj(*pairs: tuple[str, Any]) -> JsonObject:
    return JsonObject(*(x for k, v in pairs for x in (lit(k), v)))


async def same(db: DbEnv, o: JsonObject) -> str:
    built, written = await values(db, sa.cast(o, sa.Text), o.text())
    assert written == built, (written, built)
    return str(written)


async def test_an_objects_text_is_json_build_objects_for_every_kind_of_value(db: DbEnv) -> None:
    pg_only(db)
    await same(db, obj(*SCALARS))
    for pair in SCALARS:  # each alone: the first and only key
        await same(db, obj(pair))
    text = await same(db, obj(("inner", obj(*SCALARS[:5])), ("empty", JsonObject()), ("last", lit("x"))))
    assert text.startswith('{"inner" : {"quote" : "a\\"b')


async def test_lists_and_subqueries_of_objects_are_written_as_json_agg_writes_them(db: DbEnv) -> None:
    pg_only(db)
    rows = sa.select(sql("n", sa.Integer()).label("n")).select_from(
        sa.text("generate_series(1, 4) AS n")).subquery("r")
    item = obj(("n", rows.c.n), ("name", sa.cast(rows.c.n, sa.Text) + lit('"')), ("odd", rows.c.n % 2 == 1))
    every = sa.select(json_list(item, rows.c.n.desc())).select_from(rows).scalar_subquery()
    odd = sa.select(json_list(item, rows.c.n, rows.c.n % 2 == 1)).select_from(rows).scalar_subquery()
    none = sa.select(json_list(item, rows.c.n, rows.c.n > 9)).select_from(rows).scalar_subquery()
    unordered = sa.select(json_list(item, None)).select_from(rows).where(rows.c.n == 2).scalar_subquery()
    one = sa.select(item).select_from(rows).where(rows.c.n == 3).scalar_subquery()
    missing = sa.select(item).select_from(rows).where(rows.c.n == 9).scalar_subquery()
    text = await same(db, obj(("every", every), ("odd", odd), ("none", none), ("unordered", unordered),
                              ("one", one), ("missing", missing)))
    assert '"none" : [], ' in text and '"missing" : null}' in text
    assert text.startswith('{"every" : [{"n" : 4, "name" : "4\\"", "odd" : false}, {"n" : 3')


def test_an_object_and_its_lists_are_written_without_json_build_object() -> None:
    """json_build_object looks up each argument's type and output function on every call (PostgreSQL 15):
    the text of an object, of a list of them and of a scalar subquery of one is concatenation and
    string_agg (issue #21). The text itself is the tests' above."""
    rows = sa.table("r", sa.column("n", sa.Integer()), sa.column("s", sa.Text()))
    item = obj(("id", gid("Person", sa.column("id"))), ("s", rows.c.s), ("m", rows.c.n > 1),
               ("sub", sa.select(obj(("n", rows.c.n))).limit(1).scalar_subquery()))
    page = obj(("nodes", json_list(item, rows.c.n)))
    written = str(page.text().compile(dialect=postgresql.dialect()))
    assert "json_build_object" not in written and "json_agg" not in written
    assert written.count("to_json") == 2  # the text and the number; the id, the boolean and the objects need none
