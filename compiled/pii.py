"""A Person field that is personal data, as the compiled reads write it (compiled.fields.PERSON): masked unless the
role may read it in full, a full read as a marker that compiled.plans.finish opens and records for the audit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Text, case, cast, func, true

from compiled.sql import constant, lit, value_text
from schema.register import WITHHELD


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
