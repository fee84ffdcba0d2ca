"""The compiled error catalogue (错误代码目录, issue #21): ``errorCodes`` as the schema answers it — every
entry of ``resolvers.error_catalogue.CATALOGUE`` in its order, a constant of the code, written into the plan
as a VALUES list. Compiled rather than kept as an answer per process: a constant costs the compiled
path nothing more (the plan is cached; PostgreSQL reads the list from the statement's text), and a
document that asks it beside other compiled fields stays one statement.

``TABLES`` is what ``compiled.fields`` adds to ``FIELDS``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, Text, column, select, values

from compiled.compiler import Compiler, FieldTable, Sel
from compiled.fields import column as field_column
from compiled.sql import json_list
from resolvers.error_catalogue import CATALOGUE


def error_codes(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    v = (values(column("code", Text), column("http_status", Integer), column("meaning", Text), column("ord", Integer),
                name="ec", literal_binds=True)
         .data([(code.name, entry.status, entry.meaning, i) for i, (code, entry) in enumerate(CATALOGUE.items())]))
    return select(json_list(cx.sub("ErrorCodeEntry", sel, v), v.c.ord)).select_from(v).scalar_subquery()


TABLES: dict[str, FieldTable] = {
    "Query": {"errorCodes": error_codes},
    "ErrorCodeEntry": {"code": field_column("code"), "httpStatus": field_column("http_status"),
                       "meaning": field_column("meaning")},
}
