"""The INSERT values and the audit log's change record of a row written without the ORM's unit of work
(resolvers.prepared.insert_values, tenants.session.insert_change — a report's three rows on the driver, issue #21)
are what they were before each column's handling was decided once per model: the same values, in the same order,
for every tenant-scoped model, with each column set or left unset."""

from __future__ import annotations

import enum
import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnDefault, inspect

from models import TenantScoped, uuid7
from resolvers import prepared
from tenants import session as tenant_session

NOW = datetime(2026, 12, 6, 12, 30, tzinfo=timezone(timedelta(hours=8)))


def _models() -> Iterator[type[TenantScoped]]:
    todo = list(TenantScoped.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if hasattr(model, "__table__"):
            yield model


def _value(column: Any, rng: random.Random) -> Any:
    """A value of the column's type, as a resolver would set it (enums as members, times with a zone)."""
    enum_class = getattr(column.type, "enum_class", None)
    if enum_class is not None:
        return rng.choice(list(enum_class))
    try:
        pgtype = prepared._pg_type(column)
    except TypeError:
        pgtype = None
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = dict
    if kind is datetime or pgtype == "timestamptz":
        return NOW + timedelta(minutes=rng.randint(0, 999))
    samples: dict[Any, Any] = {bool: rng.random() < 0.5, int: rng.randint(0, 99), float: 1.5, str: "楼道灯不亮",
                               uuid.UUID: uuid.uuid4(), date: date(2026, 12, 6), dict: {"a": [1, "汉"]},
                               list: ["汉", 2]}
    return samples.get(kind, "x")


def _old_insert_values(model: type, values: dict[str, Any], tenant_id: Any, now: datetime,
                       first: int) -> tuple[str, list[Any]]:
    """insert_values as it was (2d758c2), over the same INSERT text and columns."""
    sql, _plan = prepared._insert_plan(model, first)
    out: list[Any] = []
    for column in model.__table__.columns:  # type: ignore[attr-defined]
        key, pgtype = column.key, prepared._pg_type(column)
        kind = prepared._kind(column, pgtype)
        default = column.default
        if not (isinstance(default, ColumnDefault) and not default.is_clause_element):
            default = None
        value: Any = values.get(key)
        if value is None:
            if key == "tenant_id":
                value = tenant_id
            elif key == "id":
                value = uuid7()
            elif key == "created_at":
                value = now
            elif default is not None:
                value = default.arg(None) if default.is_callable else default.arg
        out.append(value if value is None or kind == prepared._PLAIN else prepared._sent(kind, value))
    return sql, out


def _old_inserted_fields(mapper: Any, values: dict[str, Any], masked: frozenset[str],
                         concealed: frozenset[str]) -> dict[str, list[Any]]:
    """_inserted_fields as it was (2d758c2)."""
    fields: dict[str, list[Any]] = {}
    for key in tenant_session._audited_keys(mapper):
        after = values.get(key)
        if after is None:
            continue
        if key in masked:
            after = tenant_session._mask(after)
        elif key in concealed:
            after = tenant_session.CONCEALED
        fields[key] = [None, tenant_session._audit_value(after)]
    return fields


def _comparable(value: Any) -> Any:
    """A value made at the call (a new id, the time now): its type; anything else itself."""
    if isinstance(value, uuid.UUID) and value.version == 7:
        return uuid.UUID
    if isinstance(value, datetime) and abs(value - datetime.now(UTC)) < timedelta(minutes=5):
        return datetime
    return value


def test_every_model_s_insert_values_and_change_record_are_as_before() -> None:
    rng = random.Random(21)
    tenant_id = uuid.uuid4()
    checked = sent = 0
    for model in _models():
        columns = list(model.__table__.columns)  # type: ignore[attr-defined]
        masked = getattr(model, "__audit_mask__", frozenset())
        concealed = getattr(model, "__audit_conceal__", frozenset())
        try:
            prepared._insert_plan(model, 3)
        except TypeError:  # a column type insert_values does not send (persons' dates): not written by it
            writable = False
        else:
            writable = True
        for share in (0.0, 0.3, 0.7, 1.0):
            values = {c.key: _value(c, rng) for c in columns if rng.random() < share}
            values.setdefault("id", uuid7())
            if writable:
                sql, got = prepared.insert_values(model, values, tenant_id, NOW, 3)
                old_sql, expected = _old_insert_values(model, values, tenant_id, NOW, 3)
                assert sql == old_sql
                assert [_comparable(v) for v in got] == [_comparable(v) for v in expected], model.__name__
                assert [type(v) for v in got] == [type(v) for v in expected], model.__name__
                sent += 1
            mapper = inspect(model)
            fields = tenant_session._inserted_fields(mapper, values, masked, concealed)
            old = _old_inserted_fields(mapper, values, masked, concealed)
            assert list(fields.items()) == list(old.items()), model.__name__
            assert json.dumps(fields) == json.dumps(old)
            checked += 1
    assert checked >= 4 * 60 and sent >= 4 * 40  # every tenant-scoped model (72 at 2d758c2)


def test_a_default_s_value_is_sent_converted_and_an_unset_tenant_id_and_time_are_the_request_s() -> None:
    from models import Case, CaseEvent, CaseSource

    tenant_id = uuid.uuid4()
    _sql, sent = prepared.insert_values(Case, {"id": uuid7()}, tenant_id, NOW, 1)
    by_key = dict(zip([c.key for c in Case.__table__.columns], sent, strict=True))
    assert by_key["tenant_id"] == tenant_id
    assert by_key["created_at"] == NOW and by_key["created_at"].tzinfo == UTC
    source_default = Case.__table__.columns["source"].default
    if source_default is not None and isinstance(source_default.arg, enum.Enum):
        assert by_key["source"] == CaseSource(source_default.arg).value
    event = {c.key: None for c in CaseEvent.__table__.columns}
    _sql, again = prepared.insert_values(CaseEvent, {**event, "id": uuid7()}, tenant_id, NOW, 1)
    assert len(again) == len(CaseEvent.__table__.columns) and again[[c.key for c in CaseEvent.__table__.columns]
                                                                    .index("tenant_id")] == tenant_id
