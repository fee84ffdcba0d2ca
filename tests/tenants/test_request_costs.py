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


def _case(**over: Any) -> Any:
    from datetime import UTC, datetime

    from models import Case, CaseState, uuid7

    now = datetime(2026, 12, 5, tzinfo=UTC)
    values: dict[str, Any] = dict(
        id=uuid7(), number="20261205-AAAAAAAA", area_id=uuid.uuid4(), area_path="/a/b/", category_code="c",
        title="路灯不亮", description="", state=CaseState.REPORTED, reporter_user_id=uuid.uuid4(),
        reporter_role="resident", on_wall=True, idempotency_key="k", supervised=False, reopen_count=0, version=1,
        updated_at=now, created_at=now, tenant_id=uuid.uuid4())
    values.update(over)
    return Case(**values)


def test_audit_changes_of_an_insert_and_an_update() -> None:
    """The audit hook reads a new row's values from its state and, for an update, only the attributes
    that changed (issue #21) — the entries are what asking every column for its history gave."""
    from sqlalchemy.orm import Session, make_transient_to_detached

    new = _case()
    s = Session()
    s.add(new)
    tsession._record_changes(s, None, None)
    [entry] = s.info["audit_changes"]
    assert entry["op"] == "insert" and entry["table"] == "cases" and entry["id"] == str(new.id)
    fields = entry["fields"]
    assert fields["title"] == [None, "路灯不亮"] and fields["state"] == [None, "reported"]
    assert fields["on_wall"] == [None, True] and fields["version"] == [None, 1]
    assert "tenant_id" not in fields and "created_at" not in fields
    assert "description" in fields and "location_text" not in fields  # "" is a value; None is left out
    s.expunge_all()

    old = _case(title="旧标题")
    make_transient_to_detached(old)
    s = Session()
    s.add(old)
    old.title = "新标题"
    old.version = 1  # set to what it was: no change
    tsession._record_changes(s, None, None)
    [entry] = s.info["audit_changes"]
    assert entry["op"] == "update" and entry["fields"] == {"title": ["旧标题", "新标题"]}
    s.expunge_all()


def test_audit_rows_written_as_the_flush_would() -> None:
    """On PostgreSQL the request's audit entries go in one statement with its notifications (issue #21):
    the request's tenant stamped, the columns' defaults filled, JSON as text, another tenant's entry
    refused, and every column of the table written (a new one must be added to the statement)."""
    import json
    import re
    from datetime import UTC, datetime

    import pytest

    from gongzhi.bus import CHANNEL
    from gongzhi.http.state import _AUDIT_COLUMNS, audit_and_notify
    from models import AuditEntry
    from resolvers.audit.chain import SEAL_COLUMNS
    from tenants.session import TenantMismatch

    written = {"tenant_id", *_AUDIT_COLUMNS, *SEAL_COLUMNS}  # the seal: NULL until the sealing job
    assert written == {c.name for c in AuditEntry.__table__.columns}
    assert not set(SEAL_COLUMNS) & set(_AUDIT_COLUMNS)
    tenant, now = uuid.uuid4(), datetime(2026, 12, 5, tzinfo=UTC)
    a = AuditEntry(user_id=uuid.uuid4(), action="reportCase", object_type="cases", object_ids=["x"],
                   detail={"outcome": "ok", "标题": "路灯"}, request_id="r1", created_at=now)
    b = AuditEntry(action="person.read_pii", object_type="person", request_id="r1")
    sql, args = audit_and_notify([a, b], tenant, now, ["p1", "p2"])
    # One parameter per row and column, the tenant, the channel and the payloads; every one used.
    assert {int(n) for n in re.findall(r"\$(\d+)", sql)} == set(range(1, len(args) + 1))
    assert len(args) == 2 * len(_AUDIT_COLUMNS) + 3
    # Multi-row VALUES, not INSERT … SELECT FROM unnest (a COPY on Citus, refused under RLS; issue #27).
    assert re.search(r"INSERT INTO audit_log \([^)]*\) VALUES \(\$1::uuid, ", sql) and sql.count("($1::uuid, ") == 2
    assert args[0] == tenant and args[-2:] == (CHANNEL, ["p1", "p2"])
    # Only types asyncpg has codecs for: one it must look up first (uuid[], json[], …) it looks up with
    # JIT set off for the connection's session, which outlives the request (test_connection_settings.py).
    from asyncpg.protocol import BUILTIN_TYPE_NAME_MAP
    assert set(re.findall(r"::(\w+(?:\[\])?)", sql)) <= set(BUILTIN_TYPE_NAME_MAP), sql
    rows = [args[1 + r * len(_AUDIT_COLUMNS):1 + (r + 1) * len(_AUDIT_COLUMNS)] for r in range(2)]
    col = {c: [row[i] for row in rows] for i, c in enumerate(_AUDIT_COLUMNS)}
    assert col["action"] == ["reportCase", "person.read_pii"]
    assert [json.loads(v) for v in col["detail"]] == [{"outcome": "ok", "标题": "路灯"}, {}]
    assert [json.loads(v) for v in col["object_ids"]] == [["x"], []]  # the column's default
    assert col["roles"] == ["", ""] and col["created_at"] == [now, now]
    assert all(isinstance(i, uuid.UUID) for i in col["id"]) and col["id"][0] != col["id"][1]
    with pytest.raises(TenantMismatch):
        audit_and_notify([AuditEntry(action="x", object_type="y", tenant_id=uuid.uuid4())], tenant, now, [])
