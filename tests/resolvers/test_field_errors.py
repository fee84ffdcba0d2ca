"""The one field-error collector (resolvers.errors.FieldErrors) and how a mutation payload lists
what it collected (schema.common.user_errors)."""

from __future__ import annotations

import asyncio

import pytest

from resolvers import validation as v
from resolvers.errors import ErrorCode, FieldErrors, ServiceError, ValidationErrors
from resolvers.i18n import use_language
from schema.common import UserError, user_errors


def test_nothing_collected_raises_nothing() -> None:
    errors = FieldErrors()
    assert errors.check(v.text, " 标题 ", "title", max_len=10) == "标题"
    with errors.catch():
        phone = v.normalize_phone("138 0000 0000")
    assert phone == "13800000000"
    assert not errors and len(errors) == 0
    errors.raise_if_any()


def test_all_errors_reported_in_order() -> None:
    errors = FieldErrors()
    with use_language("en"):  # as a request with Accept-Language: en
        assert errors.check(v.text, "  ", "title", max_len=10) is None
    errors.add(ErrorCode.INVALID, "hours are between 0 and 24", "hours")
    reached = []
    with errors.catch(), use_language("en"):
        v.normalize_phone("12345")
        reached.append("after the failing call")  # the block is left at the error
    errors.add_error(ServiceError(ErrorCode.CONFLICT, "taken", "name"))
    assert reached == [] and len(errors) == 4
    with pytest.raises(ValidationErrors) as caught:
        errors.raise_if_any()
    got = [(e.code, e.message, e.field) for e in caught.value.errors]
    assert got == [
        (ErrorCode.INVALID, "title must not be empty", "title"),
        (ErrorCode.INVALID, "hours are between 0 and 24", "hours"),
        (ErrorCode.INVALID_PHONE, "phone must be a mainland mobile (11 digits) or landline", "phone"),
        (ErrorCode.CONFLICT, "taken", "name"),
    ]
    # The first error is also the exception's own code/message/field (callers that catch one).
    e = caught.value
    assert (e.code, e.message, e.field) == got[0]


def test_catch_works_around_awaits() -> None:
    async def fails() -> int:
        await asyncio.sleep(0)
        raise ServiceError(ErrorCode.NOT_FOUND, "organiser not found", "partyOrgId")

    async def run() -> FieldErrors:
        errors = FieldErrors()
        with errors.catch():
            await fails()
        return errors

    errors = asyncio.run(run())
    assert [(e.code, e.field) for e in errors.errors] == [(ErrorCode.NOT_FOUND, "partyOrgId")]


def test_unexpected_errors_are_not_collected() -> None:
    errors = FieldErrors()
    with pytest.raises(ZeroDivisionError):
        errors.check(lambda: 1 // 0)
    with pytest.raises(KeyError), errors.catch():
        raise KeyError("x")
    assert not errors


def test_payload_lists_every_collected_error() -> None:
    errors = FieldErrors()
    errors.add(ErrorCode.INVALID, "give both latitude and longitude, or neither", "latitude")
    with use_language("en"):
        errors.check(v.text, "x" * 101, "title", max_len=100)
    errors.check(v.text, "x" * 101, "title", max_len=100)  # outside a request: Chinese
    with pytest.raises(ValidationErrors) as caught:
        errors.raise_if_any()
    assert user_errors(caught.value) == [
        UserError(code=ErrorCode.INVALID, message="give both latitude and longitude, or neither", field="latitude"),
        UserError(code=ErrorCode.TOO_LONG, message="title must be at most 100 characters", field="title"),
        UserError(code=ErrorCode.TOO_LONG, message="title 最多 100 个字", field="title"),
    ]
    single = ServiceError(ErrorCode.NOT_FOUND, "case not found", "id")
    assert user_errors(single) == [UserError(code=ErrorCode.NOT_FOUND, message="case not found", field="id")]
