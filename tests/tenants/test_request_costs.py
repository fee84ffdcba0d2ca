"""Issue #21: per-request work moved out of the request — checked without a database."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from resolvers.audit.service import _path_in_change
from tenants import session as tsession


def test_tenant_filter_option_is_made_once_per_tenant() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    first = tsession._tenant_criteria(a)
    assert tsession._tenant_criteria(a) is first
    assert tsession._tenant_criteria(b) is not first


def test_no_tenant_setting_statement_for_a_savepoint() -> None:
    sent: list[Any] = []
    conn = SimpleNamespace(dialect=SimpleNamespace(name="postgresql"), execute=lambda *a: sent.append(a),
                           exec_driver_sql=lambda *a: sent.append(a))  # SET LOCAL goes as driver SQL (#27)
    sess = SimpleNamespace(info={"tenant_id": uuid.uuid4()})
    tsession._set_rls_tenant(sess, SimpleNamespace(nested=True), conn)  # type: ignore[arg-type]
    assert sent == []
    tsession._set_rls_tenant(sess, SimpleNamespace(nested=False), conn)  # type: ignore[arg-type]
    assert len(sent) == 1 and "SET LOCAL app.tenant_id" in str(sent[0][0])  # the root transaction still sets it


def test_audit_path_from_the_recorded_change() -> None:
    insert = {"table": "cases", "id": str(uuid.uuid4()), "op": "insert",
              "fields": {"area_path": [None, "a.b.c."], "title": [None, "x"]}}
    assert _path_in_change(insert) == "a.b.c."
    update = {"table": "cases", "id": str(uuid.uuid4()), "op": "update", "fields": {"state": ["reported", "accepted"]}}
    assert _path_in_change(update) is None  # looked up with a statement, as before
    assert _path_in_change({"table": "areas", "id": "x", "fields": {"path": [None, "a."]}}) == "a."
    assert _path_in_change({"table": "wishes", "id": "x", "fields": {"area_path": [None, "a."]}}) is None
