"""The compiled partner-unit directory (共建单位, issue #21): ``partnerUnits(kind:, first:, after:)`` as
``resolvers.cobuilding.list_partner_units`` reads it — the rows of ``partner_unit_rows`` (none without the
agreement·read grant; the kind when one is asked), oldest first by id, the cursors and page of every keyset
list (``compiled.fields.connection``). PartnerUnit's fields are compiled/cobuilding.py's table (the strawberry
type's column declarations); contactPhone (masked by a permission) and clients are not compiled."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from compiled.compiler import Compiler, FieldTable, Sel
from compiled.fields import CONNECTION, EDGE, connection
from models import PartnerKind, PartnerUnit
from resolvers.cobuilding import partner_unit_rows


def partner_units(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    kind = cx.shape(sel, lambda a: None if a.get("kind") is None else PartnerKind(a["kind"]))
    stmt = partner_unit_rows(cx.ctx, kind).where(PartnerUnit.tenant_id == cx.tenant_id)
    return connection(cx, sel, stmt, PartnerUnit.id, descending=False, node_type="PartnerUnit")


TABLES: dict[str, FieldTable] = {
    "Query": {"partnerUnits": partner_units},
    "PartnerUnitConnection": CONNECTION, "PartnerUnitEdge": EDGE,
}
