"""Expected failures of a service call. Mutations turn them into typed payload errors; queries
into GraphQL errors with a code in ``extensions``."""

from __future__ import annotations

import enum


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


class ServiceError(Exception):
    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class ValidationErrors(ServiceError):
    """Several field errors found at once (all reported, nothing written)."""

    def __init__(self, errors: list[ServiceError]) -> None:
        super().__init__(errors[0].code, errors[0].message, errors[0].field)
        self.errors = errors


def check_version(expected: int | None, current: int) -> None:
    """Optimistic concurrency: the client saw ``expected``; someone else changed it since."""
    if expected is not None and expected != current:
        raise ServiceError(ErrorCode.CONFLICT, f"changed since you loaded it (now version {current}); reload and retry",
                           "expectedVersion")
