"""Input checks shared by every service: lengths, resident ID numbers (GB 11643), phones."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from models.register import mask_id_card, mask_phone
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

__all__ = ["mask_id_card", "mask_phone"]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def id_card_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def normalize_id_card(value: str, field: str = "idCardNo") -> str:
    """An 18-character resident ID number with a valid birth date and check character."""
    v = value.strip().upper()
    if not _ID_RE.match(v):
        raise ServiceError(ErrorCode.INVALID_ID_CARD, t("身份证号应为 17 位数字加一位校验码（数字或 X）",
                                                        "ID number must be 17 digits and a check digit or X"), field)
    try:
        date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        raise ServiceError(ErrorCode.INVALID_ID_CARD, t("身份证号中的出生日期无效",
                                                        "ID number holds no valid birth date"), field) from None
    if id_card_check_char(v[:17]) != v[17]:
        raise ServiceError(ErrorCode.INVALID_ID_CARD, t("身份证号校验码不对", "ID number check digit is wrong"), field)
    return v


def birth_date_of(id_card_no: str) -> date:
    return date(int(id_card_no[6:10]), int(id_card_no[10:12]), int(id_card_no[12:14]))


def normalize_phone(value: str, field: str = "phone") -> str:
    v = value.strip().replace(" ", "")
    if not _PHONE_RE.match(v):
        raise ServiceError(ErrorCode.INVALID_PHONE, t("电话应为 11 位手机号或固定电话",
                                                      "phone must be a mainland mobile (11 digits) or landline"), field)
    return v


def text(value: str, field: str, *, max_len: int, required: bool = True) -> str:
    v = value.strip()
    if required and not v:
        raise ServiceError(ErrorCode.INVALID, t(f"{field} 不能为空", f"{field} must not be empty"), field)
    if len(v) > max_len:
        raise ServiceError(ErrorCode.TOO_LONG, t(f"{field} 最多 {max_len} 个字",
                                                 f"{field} must be at most {max_len} characters"), field)
    return v



def period_filter(column: Any, starts_from: datetime | None, starts_before: datetime | None,
                  fields: tuple[str, str] = ("startsFrom", "startsBefore")) -> list[Any]:
    """``column`` in [starts_from, starts_before): the list filter portals use for a period (issue #23).
    Times carry their zone; an empty or reversed period is INVALID naming the later bound."""
    for value, name in ((starts_from, fields[0]), (starts_before, fields[1])):
        if value is not None and value.tzinfo is None:
            raise ServiceError(ErrorCode.INVALID, t(f"{name} 须带时区", f"{name} needs a time zone"), name)
    if starts_from is not None and starts_before is not None and starts_before <= starts_from:
        raise ServiceError(ErrorCode.INVALID, t(f"{fields[1]} 须晚于 {fields[0]}",
                                                f"{fields[1]} must be after {fields[0]}"), fields[1])
    return period_bounds(column, starts_from, starts_before)


def period_bounds(column: Any, starts_from: Any, starts_before: Any) -> list[Any]:
    """``column`` in [starts_from, starts_before) without the checks of period_filter: for bounds already
    checked by it, given as values or as SQL expressions (a compiled read's parameters)."""
    out: list[Any] = []
    if starts_from is not None:
        out.append(column >= starts_from)
    if starts_before is not None:
        out.append(column < starts_before)
    return out
