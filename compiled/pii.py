"""A Person field that is personal data, as the compiled reads write it (compiled.fields.PERSON): masked unless the
role may read it in full, a full read as a marker that compiled.plans.finish opens and records for the audit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, Text, case, cast, func, true, type_coerce
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import False_, True_

from compiled.sql import constant, lit, value_text
from models import Household, Person
from policies.filters import household_predicate, person_predicate
from schema.register import WITHHELD

READABLE = "_pii"  # the column of a page's rows that holds person_pii once per row (compiled.persons)


def household_pii(cx: Any, h: Any) -> ColumnElement[bool]:
    """The household's exact address may be read (loaders.pii_visible_by_household). Typed Boolean, so that its
    JSON text (addressMasked) is a CASE of 'true' / 'false' / 'null', not to_json's (compiled.sql.value_text)."""
    ha = aliased(Household, h)
    return _boolean(household_predicate(cx.ctx.actor.grant("person", "read_pii"), cx.ctx.actor, ha))


def person_pii(cx: Any, p: Any) -> ColumnElement[bool]:
    """The person's personal data may be read in full (loaders.pii_visible_by_person), typed Boolean as
    household_pii. A row source that carries the predicate as its column READABLE (the persons page's rows) is
    read by it: the predicate once per person, not once per field that is personal data (issue #21)."""
    if READABLE in p.c:
        column: ColumnElement[bool] = p.c[READABLE]
        return column
    pa = aliased(Person, p)
    return _boolean(person_predicate(cx.ctx.actor.grant("person", "read_pii"), cx.ctx.actor, pa))


def readable_columns(cx: Any, persons: Any) -> list[Any]:
    """The column READABLE for a page's rows of ``persons`` (none when the role's answer is a constant: true for
    every person or false, as the fields fold it)."""
    found = person_pii(cx, persons)
    return [] if isinstance(found, (True_, False_)) else [found.label(READABLE)]


def _boolean(pred: ColumnElement[bool]) -> ColumnElement[bool]:
    """``pred`` typed Boolean (its text in parentheses: ``NOT`` of it is of the whole), a constant as it is."""
    return pred if isinstance(pred, (True_, False_)) else type_coerce(pred.self_group(), Boolean)


def _text(expr: Any) -> Any:
    """``value_text`` as an SQL text (a constant's text as a literal)."""
    found = value_text(expr)
    return lit(found) if isinstance(found, str) else found


def pii_value(person_id: Any, readable: ColumnElement[bool], value: Any, masked: Any = None, sealed: bool = False,
              absent: ColumnElement[bool] | None = None) -> ColumnElement[Any]:
    """null when ``absent`` (no value), a full read's marker ``{"$pii" : id, "v" : value[, "s" : true]}`` when
    ``readable``, else ``masked``'s JSON (None: WITHHELD). Its JSON value is the CASE of json_build_object as
    before; where only its text is needed (the value of an object written as text: compiled.sql.json_text) the
    same text by concatenation, branch by branch (issue #21: a json_build_object per marker, and to_json of the
    CASE around it, per person and field). The person's id is a uuid: its JSON string is its text in quotes."""
    pairs = [lit("$pii"), person_id, lit("v"), value, *([lit("s"), true()] if sealed else [])]
    marker: Any = lit('{"$pii" : "').op("||")(cast(person_id, Text)).op("||")(lit('", "v" : '))
    marker = marker.op("||")(_text(value)).op("||")(lit(', "s" : true}' if sealed else "}"))
    first = [] if absent is None else [absent]
    out: ColumnElement[Any] = case(*[(c, constant(None)) for c in first], (readable, func.json_build_object(*pairs)),
                                   else_=constant(WITHHELD) if masked is None else func.to_json(masked))
    marked: Any = out  # its text kept on it, as compiled.sql.json_list keeps a list's (json_text reads it)
    marked._json_text = case(*[(c, lit("null")) for c in first], (readable, marker),
                             else_=_text(constant(WITHHELD) if masked is None else masked))
    return out
