"""The register file's layout (户籍登记导入文件): the template's columns, reading an XLSX or CSV file
into a Sheet, the per-row report in the file's own layout, and the template workbook."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from resolvers.errors import ErrorCode, ServiceError

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
BY_KEY = {c.key: c for c in COLUMNS}


def _norm_header(h: object) -> str:
    return re.sub(r"[\s_\-()（）*]", "", str(h or "")).lower()


_HEADER_ALIASES: dict[str, str] = {}
for _c in COLUMNS:
    for _alias in (_c.zh, _c.en, f"{_c.zh}/{_c.en}", f"{_c.zh}{_c.en}"):
        _HEADER_ALIASES[_norm_header(_alias)] = _c.key
_IGNORED_HEADERS = {_norm_header(ERROR_HEADER), _norm_header("错误原因"), _norm_header("error")}


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


def cell_text(value: Any) -> str:
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
        if all(cell_text(x) == "" for x in r):
            continue
        rows.append(r)
        numbers.append(number)
    return Sheet(kind, header, rows, numbers, index, encoding)


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
        w.writerows([cell_text(x) for x in row] for row in body)
        return buf.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET_NAME)
    ws.append(out_header)
    for row in body:
        ws.append([x if isinstance(x, int | float | Decimal) and not isinstance(x, bool) else cell_text(x)
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
    ws.append(["东风社区", "幸福小区", "1栋", "1", "101", "88.50", "自有", "张建国", "男", "340302194803051019",
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
