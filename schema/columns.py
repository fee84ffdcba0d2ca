"""Fields that are a column of their row as it is (issue #20: each field declared once).

``column_field("title", str, description=…)`` declares such a field on a strawberry type whose row is
``_m``: the resolver reads the attribute, and the declaration carries the column's name in the field's
metadata. The compiled reads take the same declarations (``column_reads``) to build their SQL, so the
field → column mapping is written once, here in the types, not again beside the compiler."""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

import strawberry
from strawberry.utils.str_converters import to_camel_case

COLUMN = "gongzhi.column"
COLUMN_TYPE = "gongzhi.column_type"


def column_field(column: str, graphql_type: Any, *, description: str) -> Any:
    """A field that is ``self._m.<column>``, of the given (Python) type."""
    def resolve(root: Any) -> Any:
        return getattr(root._m, column)

    resolve.__name__ = column
    return strawberry.field(resolver=resolve, graphql_type=graphql_type, description=description,
                            metadata={COLUMN: column, COLUMN_TYPE: graphql_type})


@dataclass(frozen=True)
class ColumnRead:
    """A column field as declared: its column and its Python type without ``None``."""

    column: str
    type: Any


def column_reads(cls: type) -> dict[str, ColumnRead]:
    """A strawberry type's column fields (inherited ones included), by GraphQL field name."""
    out: dict[str, ColumnRead] = {}
    for f in cls.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        column = f.metadata.get(COLUMN) if f.metadata else None
        if column is None:
            continue
        out[f.graphql_name or to_camel_case(f.python_name)] = ColumnRead(column, _without_none(f.metadata[COLUMN_TYPE]))
    return out


def _without_none(t: Any) -> Any:
    if get_origin(t) in (Union, types.UnionType):
        rest = [a for a in get_args(t) if a is not type(None)]
        return rest[0] if len(rest) == 1 else t
    return t
