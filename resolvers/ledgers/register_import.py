"""Household register import (户籍/实有人口登记导入, issue #11): one row per person, from XLSX or CSV.

The file is read whole, every row is checked before anything is written (required fields, ID number
check character GB 11643, phone format, known building, scope, duplicates in the file and against
the register by the blind index of the ID number), and a report in the file's own layout with an
added 错误原因/error column names each bad row and its reason. Only a file without a bad row is
imported, in the caller's one transaction, with bulk inserts (no per-row ORM flush). A person whose
ID number is already registered under the same name and household is left unchanged, so sending a
file twice changes nothing the second time. The import adds; it never updates or deletes.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import (
    Area,
    AreaKind,
    AuditEntry,
    CareTagKind,
    Gender,
    Household,
    ImportJob,
    ImportStatus,
    Person,
    PersonCareTag,
    Tenure,
    path_segment,
    uuid7,
)
from models.sealing import KEYRING
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from tenants.session import bind_tenant

# -- the template


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    required: bool
    help: str


COLUMNS: tuple[Column, ...] = (
    Column("community", "社区", "community", True, "社区名称，须与区域树一致 (community name)"),
    Column("compound", "小区", "compound", False, "小区名称；楼栋直属社区时留空 (compound name, empty if none)"),
    Column("building", "楼栋", "building", True, "楼栋名称，如 1栋 (building name)"),
    Column("unit", "单元", "unit", False, "单元号 (unit), 可空"),
    Column("room", "房号", "room", True, "房号，如 101 (room)"),
    Column("floor_area", "建筑面积", "floor_area", False, "平方米，最多两位小数 (square metres)"),
    Column("tenure", "居住性质", "tenure", False, "自有/租住/其他 (owner/renter/other)，空为自有"),
    Column("name", "姓名", "name", True, "姓名 (name)"),
    Column("gender", "性别", "gender", False, "男/女 (male/female)，须与身份证号第17位一致"),
    Column("id_card_no", "身份证号", "id_card_no", True,
           "18位居民身份证号，设为文本格式 (18-character ID number, as text)"),
    Column("phone", "联系电话", "phone", False, "手机11位或固话 (mobile or landline)"),
    Column("relation_to_head", "与户主关系", "relation_to_head", False, "户主/配偶/子女… (relation to head)"),
    Column("party_member", "党员", "party_member", False, "是/否 (yes/no)，空为否"),
    Column("care_tags", "关爱标签", "care_tags", False, "关爱人群代码或名称，以、或,分隔 (care tags)"),
)
ERROR_HEADER = "错误原因/error"
SHEET_NAME = "户籍登记"
_BY_KEY = {c.key: c for c in COLUMNS}


def _norm_header(h: object) -> str:
    return re.sub(r"[\s_\-()（）*]", "", str(h or "")).lower()


_HEADER_ALIASES: dict[str, str] = {}
for _c in COLUMNS:
    for _alias in (_c.zh, _c.en, f"{_c.zh}/{_c.en}", f"{_c.zh}{_c.en}"):
        _HEADER_ALIASES[_norm_header(_alias)] = _c.key
_IGNORED_HEADERS = {_norm_header(ERROR_HEADER), _norm_header("错误原因"), _norm_header("error")}

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

BATCH = 5000
WHOLE_REGISTER_ROWS = 2000
# The actor of the command line (``gongzhi import-register`` without --user): whoever holds the
# database owner's credentials; acts with the street admin's rights and is recorded without a user.
OPERATOR_ID = uuid.UUID(int=0)


def audit_user(ctx: RequestContext) -> uuid.UUID | None:
    return None if ctx.actor.user_id == OPERATOR_ID else ctx.actor.user_id


class ImportFileError(ServiceError):
    """The file as a whole cannot be read (format, header): nothing was checked row by row."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.INVALID, message, "file")


# -- reading a file


@dataclass
class Sheet:
    """The file as read: its header row and data rows as they stand (for the report), and which
    column index holds each template column."""

    kind: str  # "xlsx" or "csv"
    header: list[Any]
    rows: list[list[Any]]  # data rows, file order
    row_numbers: list[int]  # the spreadsheet row number of each (header is row 1)
    index: dict[str, int]
    encoding: str = "utf-8-sig"


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _col_index(ref: str) -> int:
    n = 0
    for ch in ref:
        if ch.isdigit():
            break
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    """The cell values of the register sheet (户籍登记, else the first), row by row.

    A streaming read of the sheet's XML (expat), about twice as fast as openpyxl's read-only mode:
    shared and inline strings as text, numbers as int or float (an ID number typed as a number comes
    back as a float and is refused), booleans as bool; formulas give their cached value."""
    import posixpath
    import zipfile
    from xml.etree.ElementTree import fromstring, iterparse

    z = zipfile.ZipFile(io.BytesIO(content))
    names = set(z.namelist())
    book = fromstring(z.read("xl/workbook.xml"))
    rels = {r.get("Id"): r.get("Target") or "" for r in fromstring(z.read("xl/_rels/workbook.xml.rels"))}
    sheets = [(sh.get("name"), rels.get(sh.get(f"{_REL_NS}id"))) for sh in book.iter(f"{_NS}sheet")]
    target = next((t for n, t in sheets if n == SHEET_NAME), sheets[0][1] if sheets else None)
    if not target:
        raise ValueError("no worksheet")
    path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    shared: list[str] = []
    if "xl/sharedStrings.xml" in names:
        with z.open("xl/sharedStrings.xml") as f:
            for _ev, el in iterparse(f):
                if el.tag == f"{_NS}si":
                    shared.append("".join(t.text or "" for t in el.iter(f"{_NS}t")))
                    el.clear()
    rows: list[list[Any]] = []
    c_tag, v_tag, t_tag, row_tag = f"{_NS}c", f"{_NS}v", f"{_NS}t", f"{_NS}row"
    with z.open(path) as f:
        for _ev, el in iterparse(f):
            if el.tag != row_tag:
                continue
            number = int(el.get("r") or len(rows) + 1)
            while len(rows) < number - 1:
                rows.append([])
            row: list[Any] = []
            for c in el.iter(c_tag):
                ref = c.get("r")
                if ref:
                    i = _col_index(ref)
                    while len(row) < i:
                        row.append(None)
                t = c.get("t")
                v = c.find(v_tag)
                val: Any
                if t == "s" and v is not None:
                    val = shared[int(v.text or 0)]
                elif t == "inlineStr":
                    val = "".join(x.text or "" for x in c.iter(t_tag))
                elif v is None or v.text is None:
                    val = None
                elif t in ("str", "e"):
                    val = v.text
                elif t == "b":
                    val = v.text == "1"
                else:
                    try:
                        val = int(v.text)
                    except ValueError:
                        val = float(v.text)
                row.append(val)
            rows.append(row)
            el.clear()
    return rows


def read_file(content: bytes, file_name: str) -> Sheet:
    """Parse XLSX (openpyxl, read-only) or CSV (UTF-8, or GB18030 as Excel saves it in China)."""
    is_xlsx = content[:4] == b"PK\x03\x04"
    if is_xlsx:
        try:
            raw = _xlsx_rows(content)
        except Exception as e:  # a damaged or foreign zip, not a workbook
            raise ImportFileError(f"无法读取 Excel 文件 (not a readable .xlsx): {type(e).__name__}") from None
        kind, encoding = "xlsx", "utf-8-sig"
    else:
        if file_name.lower().endswith((".xls", ".xlsm")) or content[:4] == b"\xd0\xcf\x11\xe0":
            raise ImportFileError("请另存为 .xlsx 或 .csv (save the file as .xlsx or .csv)")
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes any byte string
            raise ImportFileError("CSV 编码无法识别 (use UTF-8 or GB18030)")
        raw = [list(r) for r in csv.reader(io.StringIO(text))]
        kind = "csv"
    if not raw:
        raise ImportFileError("文件为空 (the file is empty)")
    header = list(raw[0])
    while header and (header[-1] is None or str(header[-1]).strip() == ""):
        header.pop()
    index: dict[str, int] = {}
    unknown: list[str] = []
    for i, h in enumerate(header):
        n = _norm_header(h)
        if not n or n in _IGNORED_HEADERS:
            continue
        key = _HEADER_ALIASES.get(n)
        if key is None:
            unknown.append(str(h))
        elif key in index:
            raise ImportFileError(f"列重复 (column given twice): {h}")
        else:
            index[key] = i
    missing = [f"{c.zh}/{c.en}" for c in COLUMNS if c.required and c.key not in index]
    if missing:
        raise ImportFileError("缺少必填列 (missing required columns): " + "、".join(missing))
    if unknown:
        raise ImportFileError("无法识别的列 (unknown columns): " + "、".join(unknown))
    rows: list[list[Any]] = []
    numbers: list[int] = []
    for number, r in enumerate(raw[1:], start=2):
        if all(_cell_text(x) == "" for x in r):
            continue
        rows.append(r)
        numbers.append(number)
    return Sheet(kind, header, rows, numbers, index, encoding)


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


def _parse_row(sheet: Sheet, number: int, r: list[Any], tag_codes: dict[str, str]
               ) -> tuple[Row | None, list[str]]:
    reasons: list[str] = []

    def text(key: str, max_len: int) -> str:
        value = _cell_text(_get(sheet, r, key))
        col = _BY_KEY[key]
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
        value = _cell_text(raw_id)
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
    raw_phone = _cell_text(_get(sheet, r, "phone"))
    if raw_phone:
        try:
            phone = v.normalize_phone(raw_phone)
        except ServiceError:
            reasons.append("联系电话格式错误 (phone must be an 11-digit mobile or a landline)")
    floor_area: Decimal | None = None
    raw_area = _cell_text(_get(sheet, r, "floor_area"))
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
    raw_tenure = _cell_text(_get(sheet, r, "tenure"))
    if raw_tenure:
        tenure = _TENURE.get(raw_tenure.lower())
        if tenure is None:
            reasons.append("居住性质应为 自有/租住/其他 (tenure: owner/renter/other)")
    gender: Gender | None = None
    raw_gender = _cell_text(_get(sheet, r, "gender"))
    if raw_gender:
        gender = _GENDER.get(raw_gender.lower())
        if gender is None:
            reasons.append("性别应为 男/女 (gender: male/female)")
    if id_card and gender is not None and gender is not (Gender.MALE if int(id_card[16]) % 2 else Gender.FEMALE):
        reasons.append("性别与身份证号不符 (gender does not match the ID number)")  # GB 11643: 17th digit
    party = False
    raw_party = _cell_text(_get(sheet, r, "party_member")).lower()
    if raw_party in _YES:
        party = True
    elif raw_party and raw_party not in _NO:
        reasons.append("党员应填 是/否 (party_member: yes/no)")
    tags: list[str] = []
    raw_tags = _cell_text(_get(sheet, r, "care_tags"))
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


@dataclass
class _AreaNode:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    kind: AreaKind
    name: str
    path: str
    depth: int
    new: bool = False


class _AreaIndex:
    """The tenant's area tree, keyed the way the template names a building."""

    def __init__(self, nodes: Iterable[_AreaNode]) -> None:
        self.by_id = {n.id: n for n in nodes}
        self.root = next(n for n in self.by_id.values() if n.kind is AreaKind.STREET)
        self.communities: dict[str, list[_AreaNode]] = {}
        self.compounds: dict[tuple[str, str], list[_AreaNode]] = {}
        self.buildings: dict[tuple[str, str, str], list[_AreaNode]] = {}
        for n in self.by_id.values():
            self._add(n)

    def _ancestor(self, n: _AreaNode, kind: AreaKind) -> _AreaNode | None:
        for seg in n.path.strip("/").split("/"):
            a = self.by_id.get(uuid.UUID(hex=seg))
            if a is not None and a.kind is kind:
                return a
        return None

    def _add(self, n: _AreaNode) -> None:
        if n.kind is AreaKind.COMMUNITY:
            self.communities.setdefault(n.name, []).append(n)
        elif n.kind is AreaKind.COMPOUND:
            c = self._ancestor(n, AreaKind.COMMUNITY)
            if c is not None:
                self.compounds.setdefault((c.name, n.name), []).append(n)
        elif n.kind is AreaKind.BUILDING:
            c = self._ancestor(n, AreaKind.COMMUNITY)
            p = self._ancestor(n, AreaKind.COMPOUND)
            if c is not None:
                self.buildings.setdefault((c.name, p.name if p else "", n.name), []).append(n)

    def create(self, parent: _AreaNode, kind: AreaKind, name: str) -> _AreaNode:
        aid = uuid7()
        n = _AreaNode(aid, parent.id, kind, name, parent.path + path_segment(aid), parent.depth + 1, new=True)
        self.by_id[aid] = n
        self._add(n)
        return n

    def building_name(self, n: _AreaNode) -> tuple[str, str, str]:
        c = self._ancestor(n, AreaKind.COMMUNITY)
        p = self._ancestor(n, AreaKind.COMPOUND)
        return (c.name if c else "", p.name if p else "", n.name)


# -- progress and jobs

Progress = Callable[[str, int, int], Awaitable[None]]  # (phase, processed, total)


async def _no_progress(_phase: str, _done: int, _total: int) -> None:
    return None


def _in_scope(path: str, ctx: RequestContext) -> bool:
    grant = ctx.actor.grant("register", "import")
    return grant.all or any(path.startswith(p) for p in grant.scope_paths)


def check_may_import(ctx: RequestContext) -> None:
    if not ctx.actor.grant("register", "import"):
        raise ServiceError(ErrorCode.FORBIDDEN, "you may not import the household register", "file")


async def check_and_import(
    ctx: RequestContext, content: bytes, file_name: str, *, dry_run: bool, create_areas: bool,
    progress: Progress = _no_progress,
) -> Outcome:
    """Check every row; unless a row failed or this is a dry run, write everything in ``ctx``'s
    transaction (the caller commits). Raises ImportFileError when the file cannot be read at all."""
    check_may_import(ctx)
    t0 = time.perf_counter()
    sheet = read_file(content, file_name)
    out = Outcome(total=len(sheet.rows), report_ext=sheet.kind)
    out.timings["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    await progress("validating", 0, out.total)
    db = ctx.db

    tag_codes: dict[str, str] = {}
    for code, name in await db.all(select(CareTagKind.code, CareTagKind.name)):
        tag_codes[code] = tag_codes[code.lower()] = code
        tag_codes[name] = code
    areas = _AreaIndex(
        _AreaNode(i, p, k, n, path, d)
        for i, p, k, n, path, d in await db.all(
            select(Area.id, Area.parent_id, Area.kind, Area.name, Area.path, Area.depth))
    )

    rows: list[Row] = []
    first_of_id: dict[str, int] = {}
    for i, (number, r) in enumerate(zip(sheet.row_numbers, sheet.rows, strict=True)):
        row, reasons = _parse_row(sheet, number, r, tag_codes)
        if row is not None:
            seen = first_of_id.get(row.id_index)
            if seen is not None:
                reasons.append(f"身份证号与第{seen}行重复 (ID number repeats row {seen})")
            else:
                first_of_id[row.id_index] = number
                rows.append(row)
        if reasons:
            out.errors[number] = reasons
        if i % BATCH == BATCH - 1:
            await progress("validating", i + 1, out.total)

    out.timings["check"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    # Buildings: known ones must lie in scope; unknown ones are an error unless areas may be created.
    building_of: dict[tuple[str, str, str], _AreaNode] = {}
    bad: dict[tuple[str, str, str], str] = {}
    new_areas: list[_AreaNode] = []
    for row in rows:
        key = row.building_key
        if key in building_of or key in bad:
            continue
        found = areas.buildings.get(key, [])
        reason = None
        if len(found) > 1:
            reason = f"楼栋名称不唯一 (ambiguous building): {'/'.join(x for x in key if x)}"
        elif found:
            if not _in_scope(found[0].path, ctx):
                reason = f"不在您的管辖范围 (outside your scope): {'/'.join(x for x in key if x)}"
            else:
                building_of[key] = found[0]
        elif not create_areas:
            reason = f"楼栋不存在 (unknown building): {'/'.join(x for x in key if x)}"
        else:
            reason, made = _create_path(areas, key, ctx)
            new_areas.extend(made)
            if reason is None:
                building_of[key] = areas.buildings[key][0]
        if reason is not None:
            bad[key] = reason
    for row in rows:
        if row.building_key in bad:
            out.errors.setdefault(row.number, []).append(bad[row.building_key])
    rows = [r for r in rows if r.building_key in building_of and r.number not in out.errors]

    # Households: existing ones are reused; the rows of one household must agree on its fields.
    existing_h: dict[tuple[uuid.UUID, str, str], uuid.UUID] = {}
    building_ids = list({b.id for b in building_of.values() if not b.new})
    # A large file reads the tenant's households and persons once, in one scan each: long IN lists
    # on freshly bulk-loaded tables (statistics not yet gathered) get nested-loop plans that crawl.
    whole = len(rows) >= WHOLE_REGISTER_ROWS
    h_cols = select(Household.id, Household.building_id, Household.unit, Household.room)
    for ids in [building_ids] if whole else _chunks(building_ids, 1000):
        if not ids:
            continue
        for hid, bid, unit, room in await db.all(h_cols if whole else h_cols.where(Household.building_id.in_(ids))):
            existing_h[(bid, unit, room)] = hid
    households: dict[tuple[uuid.UUID, str, str], dict[str, Any]] = {}
    for row in rows:
        hkey = (building_of[row.building_key].id, row.unit, row.room)
        h = households.get(hkey)
        if h is None:
            households[hkey] = {"floor_area": row.floor_area, "tenure": row.tenure, "row": row.number,
                                "id": existing_h.get(hkey)}
            continue
        for attr in ("floor_area", "tenure"):
            mine, theirs = getattr(row, attr), h[attr]
            if mine is not None and theirs is not None and mine != theirs:
                out.errors.setdefault(row.number, []).append(
                    f"{_BY_KEY[attr].zh}与第{h['row']}行同一住户不一致 "
                    f"({attr} differs from row {h['row']}, same household)")
            elif theirs is None:
                h[attr] = mine

    # Persons already on the register (found by the blind index of the ID number).
    known: dict[str, tuple[str, uuid.UUID | None]] = {}
    p_cols = select(Person.id_card_index, Person.name, Person.household_id)
    if whole:
        wanted = set(first_of_id)
        for idx, name, hid in await db.all(p_cols.where(Person.id_card_index.is_not(None))):
            if idx in wanted:
                known[idx] = (name, hid)
    else:
        for chunk in _chunks([r.id_index for r in rows], BATCH):
            for idx, name, hid in await db.all(p_cols.where(Person.id_card_index.in_(chunk))):
                known[idx] = (name, hid)
    to_create: list[Row] = []
    for row in rows:
        if row.number in out.errors:
            continue
        hit = known.get(row.id_index)
        if hit is None:
            to_create.append(row)
            continue
        hkey = (building_of[row.building_key].id, row.unit, row.room)
        if hit[0] == row.name and hit[1] is not None and hit[1] == existing_h.get(hkey):
            out.unchanged += 1
        else:
            out.errors.setdefault(row.number, []).append(
                "身份证号已登记在其他住户或姓名不同 (ID number already registered with another name or household)")
    await progress("validating", out.total, out.total)
    out.timings["lookup"] = time.perf_counter() - t0

    if out.errors:
        out.report = build_report(sheet, out.errors)
        return out
    used_h = {(building_of[r.building_key].id, r.unit, r.room) for r in to_create}
    new_h = {k: h for k, h in households.items() if h["id"] is None and k in used_h}
    out.created_areas = len(new_areas)
    out.created_households = len(new_h)
    out.created_persons = len(to_create)
    if dry_run or (not new_areas and not to_create):
        return out

    # -- write: bulk inserts in the caller's transaction
    t0 = time.perf_counter()
    await progress("importing", 0, out.total)
    tenant_id, now = ctx.tenant.id, ctx.now
    if new_areas:
        await _insert(db, Area, [
            {"tenant_id": tenant_id, "id": a.id, "created_at": now, "parent_id": a.parent_id, "kind": a.kind,
             "name": a.name, "path": a.path, "depth": a.depth, "version": 1}
            for a in new_areas])
    for h in new_h.values():
        h["id"] = uuid7()
    await _insert(db, Household, [
        {"tenant_id": tenant_id, "id": h["id"], "created_at": now, "building_id": k[0], "unit": k[1], "room": k[2],
         "floor_area": h["floor_area"], "tenure": h["tenure"] or Tenure.OWNER, "version": 1}
        for k, h in new_h.items()])
    done = 0
    for chunk in _chunks(to_create, BATCH):
        persons: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        for row in chunk:
            pid = uuid7()
            hkey = (building_of[row.building_key].id, row.unit, row.room)
            persons.append({
                "tenant_id": tenant_id, "id": pid, "created_at": now, "household_id": households[hkey]["id"],
                "name": row.name, "gender": row.gender, "birth_date": v.birth_date_of(row.id_card_no),
                "id_card_no": row.id_card_no, "id_card_index": row.id_index, "phone": row.phone,
                "phone_index": KEYRING.blind_index(row.phone) if row.phone else None,
                # the masked display forms the ORM sets in Person._index (migration 0020)
                "id_card_masked": v.mask_id_card(row.id_card_no), "phone_masked": v.mask_phone(row.phone),
                "relation_to_head": row.relation_to_head, "party_member": row.party_member,
                "in_service_party_member": False, "version": 1,
            })
            tags.extend({"tenant_id": tenant_id, "id": uuid7(), "created_at": now, "person_id": pid, "code": t}
                        for t in row.care_tags)
        await _insert(db, Person, persons)
        await _insert(db, PersonCareTag, tags)
        done += len(chunk)
        await progress("importing", done, len(to_create))
    out.written = True
    out.timings["write"] = time.perf_counter() - t0
    return out


def _create_path(areas: _AreaIndex, key: tuple[str, str, str], ctx: RequestContext
                 ) -> tuple[str | None, list[_AreaNode]]:
    """Create the community, compound and building a row names (where missing), in scope only."""
    community, compound, building = key
    label = "/".join(x for x in key if x)
    made: list[_AreaNode] = []
    cs = areas.communities.get(community, [])
    if len(cs) > 1:
        return f"社区名称不唯一 (ambiguous community): {community}", made
    if cs:
        parent = cs[0]
    else:
        if not _in_scope(areas.root.path, ctx):
            return f"不在您的管辖范围，不能新建社区 (outside your scope: may not create community): {community}", made
        parent = areas.create(areas.root, AreaKind.COMMUNITY, community)
        made.append(parent)
    if compound:
        ps = areas.compounds.get((community, compound), [])
        if len(ps) > 1:
            return f"小区名称不唯一 (ambiguous compound): {community}/{compound}", made
        if ps:
            parent = ps[0]
        else:
            if not _in_scope(parent.path, ctx):
                return f"不在您的管辖范围 (outside your scope): {label}", made
            parent = areas.create(parent, AreaKind.COMPOUND, compound)
            made.append(parent)
    if not _in_scope(parent.path, ctx):
        return f"不在您的管辖范围 (outside your scope): {label}", made
    made.append(areas.create(parent, AreaKind.BUILDING, building))
    return None, made


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


async def _insert(db: Any, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Bulk insert, no ORM unit of work. On PostgreSQL one ``INSERT … SELECT * FROM unnest(arrays)``
    per batch (the values travel as typed arrays; COPY FROM is not allowed on tables with row-level
    security); elsewhere a Core executemany. Column types still apply their bind processing (the
    Sealed columns seal, enums store their values, timestamps go to UTC)."""
    if not rows:
        return
    table = model.__table__
    dialect = db.session.bind.dialect
    if dialect.name != "postgresql":
        for chunk in _chunks(rows, BATCH):
            await db.locked(lambda c=chunk: db.session.execute(insert(table), list(c)))
        return
    cols = list(rows[0])
    casts, procs = [], []
    for c in cols:
        col_type = table.c[c].type
        casts.append(col_type.compile(dialect=dialect))
        procs.append(col_type._cached_bind_processor(dialect))
    sql = text(f"INSERT INTO {table.name} ({', '.join(cols)}) SELECT * FROM unnest("
               + ", ".join(f"CAST(:p{i} AS {t}[])" for i, t in enumerate(casts)) + ")")

    def arrays(chunk: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
        return {f"p{i}": [r[c] for r in chunk] if proc is None else [proc(r[c]) for r in chunk]
                for i, (c, proc) in enumerate(zip(cols, procs, strict=True))}

    # The next batch is sealed and encoded in a thread while the database inserts this one.
    pending: asyncio.Future[Any] | None = None
    for chunk in _chunks(rows, BATCH):
        params = await asyncio.to_thread(arrays, chunk)
        if pending is not None:
            await pending
        pending = asyncio.ensure_future(db.locked(lambda p=params: db.session.execute(sql, p)))
    if pending is not None:
        await pending


# -- the report


def build_report(sheet: Sheet, errors: dict[int, list[str]]) -> bytes:
    """The file as sent, same columns, plus 错误原因/error naming what is wrong in each bad row."""
    width = max([len(sheet.header), *(len(r) for r in sheet.rows)] or [0])
    header = [*sheet.header, *[None] * (width - len(sheet.header))]
    drop = [i for i, h in enumerate(header) if _norm_header(h) in _IGNORED_HEADERS]
    keep = [i for i in range(width) if i not in drop]
    out_header = [header[i] for i in keep] + [ERROR_HEADER]
    body = []
    for number, r in zip(sheet.row_numbers, sheet.rows, strict=True):
        cells = [r[i] if i < len(r) else None for i in keep]
        body.append([*cells, "；".join(errors.get(number, []))])
    if sheet.kind == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(out_header)
        w.writerows([_cell_text(x) for x in row] for row in body)
        return buf.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET_NAME)
    ws.append(out_header)
    for row in body:
        ws.append([x if isinstance(x, int | float | Decimal) and not isinstance(x, bool) else _cell_text(x)
                   for x in row])
    buf2 = io.BytesIO()
    wb.save(buf2)
    return buf2.getvalue()


def template_xlsx() -> bytes:
    """The import template: the header row (Chinese), an example row, and a sheet explaining each
    column with its English alias (either header is accepted)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_NAME
    ws.append([c.zh for c in COLUMNS])
    ws.append(["东风社区", "幸福小区", "1栋", "1", "101", "88.50", "自有", "张建国", "男", "340302194803051015",
               "13912345678", "户主", "否", "living_alone"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for col in ws.iter_cols(min_row=1, max_row=400):
        for cell in col:
            cell.number_format = "@"  # text: ID numbers and phones must not become numbers
    help_ws = wb.create_sheet("填写说明")
    help_ws.append(["列 (header)", "英文别名 (English alias)", "必填 (required)", "说明 (notes)"])
    for c in COLUMNS:
        help_ws.append([c.zh, c.en, "是" if c.required else "否", c.help])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def file_sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# -- jobs (progress rows, written in transactions of their own)


class JobTracker:
    """Writes an import job's progress in its own short transactions, so readers see it while the
    import's transaction is still open. On SQLite (one writer at a time) only the start and the end
    are written: an intermediate write would wait for the import's own write lock."""

    def __init__(self, sm: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, job_id: uuid.UUID,
                 report_root: Path, *, echo: Callable[[str, int, int], None] | None = None) -> None:
        self.sm, self.tenant_id, self.job_id = sm, tenant_id, job_id
        self.report_root = report_root
        self.live = sm.kw["bind"].dialect.name != "sqlite"
        self.echo = echo
        self._last = 0.0

    async def set(self, **values: Any) -> None:
        async with self.sm() as s:
            bind_tenant(s, self.tenant_id)
            async with s.begin():
                await s.execute(update(ImportJob).where(ImportJob.id == self.job_id).values(**values))

    async def progress(self, phase: str, done: int, total: int) -> None:
        if self.echo is not None:
            self.echo(phase, done, total)
        now = time.monotonic()
        if not self.live or (now - self._last < 0.5 and done < total):
            return
        self._last = now
        status = ImportStatus.VALIDATING if phase == "validating" else ImportStatus.IMPORTING
        await self.set(status=status, processed=done, total=total)

    def report_path(self, ext: str) -> tuple[str, Path]:
        key = f"imports/{self.tenant_id.hex}/{self.job_id.hex}.{ext}"
        return key, self.report_root / key

    async def finish(self, out: Outcome | None, *, status: ImportStatus, message: str | None, now: datetime) -> None:
        values: dict[str, Any] = {"status": status, "message": message, "finished_at": now}
        if out is not None:
            values.update(total=out.total, processed=out.total, errors=out.error_rows,
                          created_areas=out.created_areas, created_households=out.created_households,
                          created_persons=out.created_persons, unchanged=out.unchanged)
            if out.report:
                key, path = self.report_path(out.report_ext)
                await asyncio.to_thread(_write, path, out.report)
                values["report_key"] = key
        await self.set(**values)


async def new_job(ctx: RequestContext, *, file_name: str, content: bytes, dry_run: bool,
                  create_areas: bool) -> ImportJob:
    """The job row (in ``ctx``'s transaction; commit it before starting the import)."""
    check_may_import(ctx)
    name = Path(file_name or "register").name[:200]
    job = ImportJob(id=uuid7(), user_id=audit_user(ctx), kind="register", file_name=name,
                    file_sha256=file_sha256(content), dry_run=dry_run, create_areas=create_areas,
                    status=ImportStatus.PENDING, total=0, processed=0, errors=0, created_areas=0,
                    created_households=0, created_persons=0, unchanged=0, created_at=ctx.now)
    await ctx.db.flush(job)
    return job


def audit_import(ctx: RequestContext, job_id: uuid.UUID, file_name: str, sha: str, out: Outcome | None,
                 *, dry_run: bool, status: ImportStatus, message: str | None) -> None:
    """The import's audit entry (appended in the caller's commit)."""
    detail: dict[str, Any] = {"file": file_name, "sha256": sha, "dry_run": dry_run, "status": status.value,
                              "message": message}
    if out is not None:
        detail.update(rows=out.total, error_rows=out.error_rows, created_areas=out.created_areas,
                      created_households=out.created_households, created_persons=out.created_persons,
                      unchanged=out.unchanged)
    ctx.audit.append(AuditEntry(
        user_id=audit_user(ctx), roles=",".join(r.value for r in ctx.actor.roles) or "operator",
        action="register.import", object_type="import_job", object_ids=[str(job_id)], detail=detail,
        request_id=ctx.request_id, client_addr=ctx.client_addr, created_at=ctx.now))


def summary(out: Outcome, *, dry_run: bool) -> str:
    if out.errors:
        return f"{out.error_rows} 行有误，未导入任何数据 ({out.error_rows} bad rows of {out.total}; nothing written)"
    what = (f"新建区域 {out.created_areas}，住户 {out.created_households}，人员 {out.created_persons}，"
            f"已登记未变更 {out.unchanged}")
    en = (f"areas {out.created_areas}, households {out.created_households}, persons {out.created_persons}, "
          f"unchanged {out.unchanged}")
    if dry_run:
        return f"试运行通过，未写入：{what} (dry run, nothing written: would create {en})"
    if not out.written:
        return f"全部已登记，未作任何变更 (everything already registered; nothing changed: {en})"
    return f"导入完成：{what} (imported: {en})"


def job_read_predicate(ctx: RequestContext) -> Any:
    """Your own import jobs; a street admin (register·import everywhere) reads every job of the tenant."""
    if ctx.actor.grant("register", "import").all:
        return ImportJob.id.is_not(None)
    return ImportJob.user_id == ctx.actor.user_id


async def get_job(ctx: RequestContext, job_id: uuid.UUID) -> ImportJob | None:
    return await ctx.db.scalar(select(ImportJob).where(ImportJob.id == job_id, job_read_predicate(ctx)))
