"""Expected failures of a service call. Mutations turn them into typed payload errors; queries
into GraphQL errors with a code in ``extensions``."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from resolvers.i18n import t

P = ParamSpec("P")
T = TypeVar("T")


class ErrorCode(enum.StrEnum):
    INVALID = "INVALID"
    INVALID_ID = "INVALID_ID"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    TOO_LONG = "TOO_LONG"
    INVALID_ID_CARD = "INVALID_ID_CARD"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_PARENT = "INVALID_PARENT"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    DUPLICATE_NAME = "DUPLICATE_NAME"
    FIRM_NOT_SERVING = "FIRM_NOT_SERVING"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    EVENTS_INTERRUPTED = "EVENTS_INTERRUPTED"
    PHOTO_REQUIRED = "PHOTO_REQUIRED"
    DUPLICATE_TICKET_NO = "DUPLICATE_TICKET_NO"
    CONSENT_REQUIRED = "CONSENT_REQUIRED"


class ServiceError(Exception):
    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @property
    def extensions(self) -> dict[str, Any]:
        """What a GraphQL error raised from this one carries (graphql-core copies an original error's
        ``extensions``): a query field that lets it escape answers as with ``PublicError``."""
        ext: dict[str, Any] = {"code": self.code.value}
        if self.field:
            ext["field"] = self.field
        return ext


class ValidationErrors(ServiceError):
    """Several field errors found at once (all reported, nothing written)."""

    def __init__(self, errors: list[ServiceError]) -> None:
        super().__init__(errors[0].code, errors[0].message, errors[0].field)
        self.errors = errors


class FieldErrors:
    """The one way a service collects an input's field errors, to report them all at once:

        errors = FieldErrors()
        title = errors.check(v.text, data.title, "title", max_len=100)   # None when it failed
        with errors.catch():                                              # a statement (await, unpacking)
            refs, name = await _organiser(ctx, data)
        if data.hours > 24:
            errors.add(ErrorCode.INVALID, "hours are between 0 and 24", "hours")
        errors.raise_if_any()                                             # ValidationErrors

    A mutation's payload then lists them as typed errors (code, message, field), in this order
    (schema.common.user_errors)."""

    def __init__(self) -> None:
        self.errors: list[ServiceError] = []

    def __bool__(self) -> bool:
        return bool(self.errors)

    def __len__(self) -> int:
        return len(self.errors)

    def add(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        self.errors.append(ServiceError(code, message, field))

    def add_error(self, error: ServiceError) -> None:
        self.errors.append(error)

    def check(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T | None:
        """``fn(*args, **kwargs)``, or ``None`` with its ServiceError collected."""
        try:
            return fn(*args, **kwargs)
        except ServiceError as e:
            self.errors.append(e)
            return None

    @contextmanager
    def catch(self) -> Iterator[None]:
        """Run the block; a ServiceError it raises is collected and the block left there."""
        try:
            yield
        except ServiceError as e:
            self.errors.append(e)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationErrors(list(self.errors))


def check_version(expected: int | None, current: int) -> None:
    """Optimistic concurrency: the client saw ``expected``; someone else changed it since."""
    if expected is not None and expected != current:
        raise ServiceError(ErrorCode.CONFLICT, t(
            f"已被他人修改（当前版本 {current}），请重新加载后再试",
            f"changed since you loaded it (now version {current}); reload and retry"), "expectedVersion")
