"""Checking the register file's rows (户籍登记逐行校验): each row's cells parsed and checked into a
Row or the reasons it is refused, and the Outcome of a check (and of an import)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from models import Gender, Tenure
from models.sealing import KEYRING
from resolvers import validation as v
from resolvers.errors import ServiceError
from resolvers.ledgers.register_file import BY_KEY, Sheet, cell_text

_TENURE = {"自有": Tenure.OWNER, "自住": Tenure.OWNER, "产权": Tenure.OWNER, "owner": Tenure.OWNER,
           "租住": Tenure.RENTER, "租赁": Tenure.RENTER, "renter": Tenure.RENTER,
           "其他": Tenure.OTHER, "other": Tenure.OTHER}
TENURE_ZH = {Tenure.OWNER: "自有", Tenure.RENTER: "租住", Tenure.OTHER: "其他"}
_GENDER = {"男": Gender.MALE, "male": Gender.MALE, "m": Gender.MALE,
           "女": Gender.FEMALE, "female": Gender.FEMALE, "f": Gender.FEMALE}
GENDER_ZH = {Gender.MALE: "男", Gender.FEMALE: "女"}
_YES = {"是", "yes", "y", "true", "1", "党员"}
_NO = {"否", "no", "n", "false", "0", "群众"}
_TAG_SPLIT = re.compile(r"[、,，;；\s]+")


# -- checking rows


@dataclass
class Row:
    number: int
    community: str
    compound: str
    building: str
    unit: str
    room: str
    floor_area: Decimal | None
    tenure: Tenure | None
    name: str
    gender: Gender | None
    id_card_no: str
    phone: str | None
    relation_to_head: str | None
    party_member: bool
    care_tags: list[str]
    building_key: tuple[str, str, str] = ("", "", "")
    id_index: str = ""


@dataclass
class Outcome:
    """What a check (and, unless it is a dry run or a row failed, an import) found and did."""

    total: int = 0
    errors: dict[int, list[str]] = field(default_factory=dict)  # row number → reasons
    created_areas: int = 0
    created_households: int = 0
    created_persons: int = 0
    unchanged: int = 0
    report: bytes = b""  # the per-row report, when a row failed (a clean file needs none)
    report_ext: str = "xlsx"
    written: bool = False
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase: read, check, lookup, write

    @property
    def error_rows(self) -> int:
        return len(self.errors)


def _get(sheet: Sheet, r: list[Any], key: str) -> Any:
    i = sheet.index.get(key)
    return r[i] if i is not None and i < len(r) else None


def location_of(sheet: Sheet, r: list[Any]) -> tuple[str, str, str]:
    """The row's building key (community, compound, building) as written, whatever else is wrong."""
    return (cell_text(_get(sheet, r, "community"))[:100], cell_text(_get(sheet, r, "compound"))[:100],
            cell_text(_get(sheet, r, "building"))[:100])


def parse_row(sheet: Sheet, number: int, r: list[Any], tag_codes: dict[str, str]
               ) -> tuple[Row | None, list[str]]:
    reasons: list[str] = []

    def text(key: str, max_len: int) -> str:
        value = cell_text(_get(sheet, r, key))
        col = BY_KEY[key]
        if col.required and not value:
            reasons.append(f"{col.zh}不能为空 ({col.en} is required)")
        elif len(value) > max_len:
            reasons.append(f"{col.zh}超过{max_len}字 ({col.en} longer than {max_len})")
        return value

    community, compound, building = text("community", 100), text("compound", 100), text("building", 100)
    unit, room, name = text("unit", 16), text("room", 16), text("name", 50)
    relation = text("relation_to_head", 20) or None
    raw_id = _get(sheet, r, "id_card_no")
    id_card = ""
    if isinstance(raw_id, float):
        reasons.append("身份证号被存为数字，精度已丢失，请将该列设为文本 "
                       "(ID number stored as a number: format the column as text)")
    else:
        value = cell_text(raw_id)
        if not value:
            reasons.append("身份证号不能为空 (id_card_no is required)")
        else:
            try:
                id_card = v.normalize_id_card(value)
            except ServiceError as e:
                reasons.append({"ID number check digit is wrong": "身份证号校验位错误",
                                "ID number holds no valid birth date": "身份证号出生日期无效"}
                               .get(e.message, "身份证号格式错误") + f" ({e.message})")
    phone: str | None = None
    raw_phone = cell_text(_get(sheet, r, "phone"))
    if raw_phone:
        try:
            phone = v.normalize_phone(raw_phone)
        except ServiceError:
            reasons.append("联系电话格式错误 (phone must be an 11-digit mobile or a landline)")
    floor_area: Decimal | None = None
    raw_area = cell_text(_get(sheet, r, "floor_area"))
    if raw_area:
        try:
            floor_area = Decimal(raw_area)
            if not (Decimal(0) < floor_area < Decimal(100000)):
                raise InvalidOperation
            floor_area = floor_area.quantize(Decimal("0.01"))
            if floor_area != Decimal(raw_area):
                raise InvalidOperation
        except InvalidOperation:
            floor_area = None
            reasons.append("建筑面积须为正数且最多两位小数 (floor_area: positive, at most 2 decimals)")
    tenure: Tenure | None = None
    raw_tenure = cell_text(_get(sheet, r, "tenure"))
    if raw_tenure:
        tenure = _TENURE.get(raw_tenure.lower())
        if tenure is None:
            reasons.append("居住性质应为 自有/租住/其他 (tenure: owner/renter/other)")
    gender: Gender | None = None
    raw_gender = cell_text(_get(sheet, r, "gender"))
    if raw_gender:
        gender = _GENDER.get(raw_gender.lower())
        if gender is None:
            reasons.append("性别应为 男/女 (gender: male/female)")
    if id_card and gender is not None and gender is not (Gender.MALE if int(id_card[16]) % 2 else Gender.FEMALE):
        reasons.append("性别与身份证号不符 (gender does not match the ID number)")  # GB 11643: 17th digit
    party = False
    raw_party = cell_text(_get(sheet, r, "party_member")).lower()
    if raw_party in _YES:
        party = True
    elif raw_party and raw_party not in _NO:
        reasons.append("党员应填 是/否 (party_member: yes/no)")
    tags: list[str] = []
    raw_tags = cell_text(_get(sheet, r, "care_tags"))
    for t in (x for x in _TAG_SPLIT.split(raw_tags) if x):
        code = tag_codes.get(t) or tag_codes.get(t.lower())
        if code is None:
            reasons.append(f"未知关爱标签 (unknown care tag): {t}")
        elif code not in tags:
            tags.append(code)
    if reasons:
        return None, reasons
    row = Row(number, community, compound, building, unit, room, floor_area, tenure, name, gender, id_card, phone,
              relation, party, sorted(tags))
    row.building_key = (community, compound, building)
    row.id_index = KEYRING.blind_index(id_card)
    return row, []
