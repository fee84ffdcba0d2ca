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


def _old_update_values(model: type, values: dict[str, Any], where: dict[str, Any], first: int,
                       returning: str | None = None) -> tuple[str, list[Any]]:
    """update_values as it was (75d14fd): the text and conversions made at every call."""
    table = model.__table__  # type: ignore[attr-defined]
    out: list[Any] = []
    parts: list[list[str]] = [[], []]
    for i, given in enumerate((values, where)):
        for key, value in given.items():
            column = table.c[key]
            pgtype = prepared._pg_type(column)
            parts[i].append(f"{column.name} = ${first + len(out)}::{pgtype}")
            out.append(prepared._sent(prepared._kind(column, pgtype), value))
    sql = f"UPDATE {table.name} SET {', '.join(parts[0])} WHERE {' AND '.join(parts[1])}"
    return (sql if returning is None else f"{sql} RETURNING {returning}"), out


def _old_insert_change(model: type, values: dict[str, Any]) -> dict[str, Any] | None:
    """insert_change as it was (75d14fd): the model asked at every call."""
    if getattr(model, "__audit__", True) is False:
        return None
    mapper = inspect(model)
    fields = tenant_session._inserted_fields(mapper, values, getattr(model, "__audit_mask__", frozenset()),
                                             getattr(model, "__audit_conceal__", frozenset()))
    if not fields:
        return None
    return {"table": mapper.local_table.name, "id": str(values["id"]), "op": "insert", "fields": fields}


def test_update_texts_kept_per_model_and_keys_are_the_ones_made_per_call() -> None:
    """update_values keeps its text and conversions per (model, keys in order, first, returning) (issue #21: a
    case step's two UPDATEs): for every writable model, random columns in random orders, set and matched to
    values of their type or None, from several ``first``s, with and without RETURNING — the same text and
    values as made per call, the second time (from what it kept) as the first."""
    rng = random.Random(2112)
    checked = 0
    for model in _models():
        try:
            prepared._insert_plan(model, 1)
        except TypeError:  # a column type the driver's writes do not send
            continue
        columns = [c for c in model.__table__.columns]  # type: ignore[attr-defined]
        for _round in range(4):
            rng.shuffle(columns)
            cut = rng.randint(1, len(columns) - 1)
            values = {c.key: None if rng.random() < 0.2 else _value(c, rng) for c in columns[:cut]}
            where = {c.key: _value(c, rng) for c in columns[cut:cut + rng.randint(1, 4)]}
            for first, returning in ((1, None), (4, "version"), (1, "version"), (17, None), (1, None)):
                sql, got = prepared.update_values(model, values, where, first, returning=returning)
                old_sql, expected = _old_update_values(model, values, where, first, returning=returning)
                assert sql == old_sql, model.__name__
                assert got == expected and [type(v) for v in got] == [type(v) for v in expected], model.__name__
            checked += 1
    assert checked >= 4 * 40


def test_a_guarded_insert_text_kept_is_the_one_made_per_call() -> None:
    """insert_values with ``guarded`` (a case step's timeline entry: its seq from the UPDATE's RETURNING) keeps the
    text per (model, first, guarded): the same as substituted per call, for several ``first``s and guards, and
    the values unchanged."""
    import re

    from models import CaseEvent, Notification

    tenant_id = uuid.uuid4()
    for model, guarded in ((CaseEvent, {"seq": "(SELECT version FROM w0 WHERE version = {})"}),
                           (CaseEvent, {"seq": "({} + 0)", "note": "nullif({}, '')"}),
                           (Notification, {"message": "upper({})"})):
        table = model.__table__  # type: ignore[attr-defined]
        for first in (1, 9, 31, 1, 9):
            values = {"id": uuid7(), "message": "消息", "note": "备注", "seq": 3}
            values = {k: v for k, v in values.items() if k in table.c}
            sql, got = prepared.insert_values(model, values, tenant_id, NOW, first, guarded=guarded)
            unguarded, _plan = prepared._insert_plan(model, first)
            expected = unguarded
            for i, column in enumerate(table.columns):
                if column.key in guarded:
                    placeholder = f"${first + i}::{prepared._pg_type(column)}"
                    expected = re.sub(re.escape(placeholder) + r"(?=[,)])", guarded[column.key].format(placeholder),
                                      expected, count=1)
            assert sql == expected and sql != unguarded
            _plain_sql, plain = prepared.insert_values(model, values, tenant_id, NOW, first)
            assert [_comparable(v) for v in got] == [_comparable(v) for v in plain]


def test_every_model_s_insert_change_kept_per_model_is_as_asked_per_call() -> None:
    """insert_change asks the model (audited, masked, concealed columns) once: for every tenant-scoped model, the
    record (or None: not audited, nothing set) is the one asked per call, the second time as the first."""
    rng = random.Random(7)
    audited = 0
    for model in _models():
        columns = list(model.__table__.columns)  # type: ignore[attr-defined]
        for share in (0.0, 0.5, 1.0):
            values = {c.key: _value(c, rng) for c in columns if rng.random() < share}
            values.setdefault("id", uuid7())
            for _again in range(2):
                got = tenant_session.insert_change(model, values)
                assert got == _old_insert_change(model, values), model.__name__
                assert json.dumps(got) == json.dumps(_old_insert_change(model, values))
            audited += got is not None
    assert audited >= 60
