"""The onboarding spreadsheet (区域与物业导入, issue #23): the area tree, property firms and their
service contracts of a new street office from one workbook, all or nothing.

Sheets (either header, Chinese or English, is accepted):

- 区域 / areas: 上级 (parent: path of names below the street, "东风社区/幸福小区"; empty for the street),
  类型 (kind: 社区 片区 小区 网格 楼栋), 名称 (name), 物业管理 (compounds: 物业公司 第三方 自管 无物业),
  层数 (floors), 单元数 (units). Rows in order: a parent before its children.
- 物业公司 / firms: 名称 (name), 统一社会信用代码 (credit code).
- 服务合同 / contracts: 物业公司 (firm name), 小区 (compound path), 开始日期, 截止日期 (YYYY-MM-DD).

Every row goes through the same services as the GraphQL mutations (so the same permissions and
checks apply); each row's report lists every reason it is refused at once. One refused row refuses
the whole file, and nothing is written (nor on a dry run).

Over HTTP the workbook runs as an import job (``import_jobs`` of kind ``onboarding``) like the
register's: the job row first (``new_job``), the import in the background, its outcome on the row and
the per-row report (``report_xlsx``: each sheet's rows with 错误原因/error) kept for download.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from models import AreaKind, ImportJob, ImportStatus, PropertyManagement, uuid7
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError, ValidationErrors
from resolvers.i18n import t
from resolvers.register.areas import AreaFields, create_area
from resolvers.register.organisations import create_property_firm, create_service_contract

SHEETS = {"areas": ("区域", "areas"), "firms": ("物业公司", "firms"), "contracts": ("服务合同", "contracts")}
COLUMNS: dict[str, tuple[tuple[str, str, str], ...]] = {  # (key, 中文, english)
    "areas": (("parent", "上级", "parent"), ("kind", "类型", "kind"), ("name", "名称", "name"),
              ("management", "物业管理", "property_management"), ("floors", "层数", "floors"),
              ("units", "单元数", "unit_count")),
    "firms": (("name", "名称", "name"), ("credit_code", "统一社会信用代码", "credit_code")),
    "contracts": (("firm", "物业公司", "firm"), ("compound", "小区", "compound"), ("from", "开始日期", "valid_from"),
                  ("until", "截止日期", "valid_until")),
}
EXAMPLES = {
    "areas": [["", "社区", "东风社区", "", "", ""], ["东风社区", "小区", "幸福小区", "物业公司", "", ""],
              ["东风社区/幸福小区", "楼栋", "1栋", "", "6", "2"], ["东风社区", "网格", "一网格", "", "", ""]],
    "firms": [["安居物业", "91341100MA2N0ABC1X"]],
    "contracts": [["安居物业", "东风社区/幸福小区", "2026-01-01", ""]],
}
_KINDS = {"社区": AreaKind.COMMUNITY, "片区": AreaKind.ZONE, "小区": AreaKind.COMPOUND, "网格": AreaKind.GRID,
          "楼栋": AreaKind.BUILDING, **{k.value: k for k in AreaKind if k is not AreaKind.STREET}}
_MANAGEMENT = {"物业公司": PropertyManagement.FIRM, "第三方": PropertyManagement.THIRD_PARTY,
               "自管": PropertyManagement.SELF_MANAGED, "无物业": PropertyManagement.NONE,
               **{m.value: m for m in PropertyManagement}}


class Rejected(Exception):
    """Raised inside the import's savepoint so that nothing it wrote stays."""


@dataclass
class ImportReport:
    dry_run: bool
    created: dict[str, int] = field(default_factory=lambda: {"areas": 0, "firms": 0, "contracts": 0})
    errors: list[tuple[str, int, list[str]]] = field(default_factory=list)  # (sheet, row, reasons)
    # The workbook as read: each part's rows (spreadsheet row number, cells by key), for the report.
    rows: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total(self) -> int:
        return sum(len(r) for r in self.rows.values())


KIND = "onboarding"  # import_jobs.kind of an onboarding workbook's job
REPORT_COLUMN = "错误原因/error"


def check_may_onboard(ctx: RequestContext) -> None:
    """Who may send the workbook: whoever manages areas (in scope) or firms; each row is checked again."""
    if not ctx.actor.grant("area", "manage") and not ctx.actor.grant("property_firm", "manage"):
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权导入区域与物业", "you may not import areas and firms"), "file")


async def new_job(ctx: RequestContext, *, file_name: str, file_sha256: str, dry_run: bool,
                  user_id: uuid.UUID | None) -> ImportJob:
    """The job row (in ``ctx``'s transaction; commit it before starting the import)."""
    check_may_onboard(ctx)
    job = ImportJob(id=uuid7(), user_id=user_id, kind=KIND, file_name=Path(file_name or "onboarding").name[:200],
                    file_sha256=file_sha256, dry_run=dry_run, create_areas=True, status=ImportStatus.PENDING,
                    total=0, processed=0, errors=0, created_areas=0, created_households=0, created_persons=0,
                    unchanged=0, created_firms=0, created_contracts=0, created_at=ctx.now)
    await ctx.db.flush(job)
    return job


def summary(report: ImportReport) -> str:
    c = report.created
    if report.errors:
        return (f"{len(report.errors)} 行有误，未导入任何数据 ({len(report.errors)} bad rows of {report.total}; "
                "nothing written)")
    what = f"区域 {c['areas']}，物业公司 {c['firms']}，服务合同 {c['contracts']}"
    en = f"areas {c['areas']}, firms {c['firms']}, contracts {c['contracts']}"
    if report.dry_run:
        return f"试运行通过，未写入：{what} (dry run, nothing written: would create {en})"
    return f"导入完成：新建{what} (imported: {en})"


def report_xlsx(report: ImportReport) -> bytes:
    """The per-row report: each sheet of the workbook with its rows as read and 错误原因/error, one reason
    a line (empty for a row that passed)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    reasons = {(sheet, n): r for sheet, n, r in report.errors}
    wb = Workbook()
    first = True
    for part, (zh, _en) in SHEETS.items():
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        first = False
        ws.title = zh
        ws.append([col_zh for _k, col_zh, _e in COLUMNS[part]] + [REPORT_COLUMN])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        # each row at its own row number, as in the file sent (blank rows stay blank)
        for n, cells in report.rows.get(part, []):
            values = [cells.get(k, "") for k, _z, _e in COLUMNS[part]] + ["\n".join(reasons.get((zh, n), []))]
            for col, value in enumerate(values, start=1):
                ws.cell(n, col, value)
            ws.cell(n, len(values)).alignment = Alignment(wrap_text=True)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def template_xlsx() -> bytes:
    """The template: one sheet per part, a valid example in each (the example imports as it is)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    first = True
    for part, (zh, _en) in SHEETS.items():
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        first = False
        ws.title = zh
        ws.append([zh_col for _k, zh_col, _e in COLUMNS[part]])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in EXAMPLES[part]:
            ws.append(row)
        for col in ws.iter_cols(min_row=1, max_row=500):
            for cell in col:
                cell.number_format = "@"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_workbook(content: bytes) -> dict[str, list[tuple[int, dict[str, str]]]]:
    """Each part's rows (spreadsheet row number, cells by key); a missing sheet is an empty part."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as e:  # not a workbook
        raise ServiceError(ErrorCode.INVALID, f"不是可读的 XLSX 文件 (not a readable XLSX file): {type(e).__name__}",
                           "file") from None
    out: dict[str, list[tuple[int, dict[str, str]]]] = {}
    names = {ws.title.strip().lower(): ws for ws in wb.worksheets}
    for part, aliases in SHEETS.items():
        ws = next((names[a.lower()] for a in aliases if a.lower() in names), None)
        rows: list[tuple[int, dict[str, str]]] = []
        if ws is not None:
            it = ws.iter_rows(values_only=True)
            header = [_text(h).lower() for h in next(it, ())]
            index = {}
            for key, zh, en in COLUMNS[part]:
                for i, h in enumerate(header):
                    if h in (zh.lower(), en.lower(), key):
                        index[key] = i
            for n, raw in enumerate(it, start=2):
                cells = {k: _text(raw[i]) if i < len(raw) else "" for k, i in index.items()}
                if any(cells.values()):
                    rows.append((n, cells))
        out[part] = rows
    return out


def _reasons(e: ServiceError) -> list[str]:
    errors = e.errors if isinstance(e, ValidationErrors) else [e]
    return [f"{x.message} ({x.code.value}{', ' + x.field if x.field else ''})" for x in errors]


def _int(value: str, label: str, reasons: list[str]) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        reasons.append(f"{label}应为正整数 ({label}: a whole number)")
        return None
    return int(value)


def _date(value: str, label: str, reasons: list[str], *, required: bool) -> date | None:
    if not value:
        if required:
            reasons.append(f"{label}不能为空 ({label} is required)")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        reasons.append(f"{label}应为日期 YYYY-MM-DD ({label}: a date)")
        return None


async def run_import(ctx: RequestContext, content: bytes, *, dry_run: bool) -> ImportReport:
    parts = read_workbook(content)
    report = ImportReport(dry_run=dry_run, rows=parts)
    try:
        async with ctx.db.savepoint():
            await _areas(ctx, parts["areas"], report)
            firms = await _firms(ctx, parts["firms"], report)
            await _contracts(ctx, parts["contracts"], report, firms)
            if report.errors or dry_run:
                raise Rejected
    except Rejected:
        pass
    return report


async def _areas(ctx: RequestContext, rows: list[tuple[int, dict[str, str]]], report: ImportReport) -> None:
    from sqlalchemy import select

    from models import Area

    street = await ctx.db.scalar(select(Area).where(Area.kind == AreaKind.STREET))
    by_path: dict[str, uuid.UUID] = {"": street.id}
    # Existing areas by their path of names (so a file can extend a tree already there).
    names: dict[uuid.UUID, tuple[uuid.UUID | None, str]] = {
        a.id: (a.parent_id, a.name) for a in await ctx.db.scalars(select(Area).where(Area.archived_at.is_(None)))}

    def name_path(i: uuid.UUID) -> str:
        parts: list[str] = []
        cur: uuid.UUID | None = i
        while cur is not None and cur != street.id and cur in names:
            parent, name = names[cur]
            parts.append(name)
            cur = parent
        return "/".join(reversed(parts))

    for i in names:
        by_path.setdefault(name_path(i), i)
    for n, c in rows:
        reasons: list[str] = []
        kind = _KINDS.get(c.get("kind", ""))
        if kind is None:
            reasons.append("类型应为 社区/片区/小区/网格/楼栋 (kind: community/zone/compound/grid/building)")
        if not c.get("name"):
            reasons.append("名称不能为空 (name is required)")
        parent_path = "/".join(x.strip() for x in c.get("parent", "").split("/") if x.strip())
        parent = by_path.get(parent_path)
        if parent is None:
            reasons.append(f"上级不存在 (unknown parent): {parent_path}")
        management = None
        if c.get("management"):
            management = _MANAGEMENT.get(c["management"])
            if management is None:
                reasons.append("物业管理应为 物业公司/第三方/自管/无物业 (property_management)")
        floors, units = _int(c.get("floors", ""), "层数", reasons), _int(c.get("units", ""), "单元数", reasons)
        if kind is not None and parent is not None and c.get("name"):
            try:
                async with ctx.db.savepoint():
                    area = await create_area(ctx, kind=kind, parent_id=parent, fields=AreaFields(
                        name=c["name"], property_management=management, floors=floors, unit_count=units))
                path = f"{parent_path}/{area.name}" if parent_path else area.name
                by_path[path] = area.id
                report.created["areas"] += 1
            except ServiceError as e:
                reasons.extend(_reasons(e))
        if reasons:
            report.errors.append(("区域", n, reasons))


async def _firms(ctx: RequestContext, rows: list[tuple[int, dict[str, str]]],
                 report: ImportReport) -> dict[str, uuid.UUID]:
    from sqlalchemy import select

    from models import PropertyFirm

    firms = {f.name: f.id for f in await ctx.db.scalars(select(PropertyFirm))}
    for n, c in rows:
        try:
            async with ctx.db.savepoint():
                firm = await create_property_firm(ctx, name=c.get("name", ""), credit_code=c.get("credit_code") or None)
            firms[firm.name] = firm.id
            report.created["firms"] += 1
        except ServiceError as e:
            report.errors.append(("物业公司", n, _reasons(e)))
    return firms


async def _contracts(ctx: RequestContext, rows: list[tuple[int, dict[str, str]]], report: ImportReport,
                     firms: dict[str, uuid.UUID]) -> None:
    from sqlalchemy import select

    from models import Area

    compounds: dict[str, uuid.UUID] = {}
    areas = {a.id: a for a in await ctx.db.scalars(select(Area).where(Area.archived_at.is_(None)))}
    for a in areas.values():
        if a.kind is AreaKind.COMPOUND:
            chain = [areas[uuid.UUID(hex=s)].name for s in a.path.strip("/").split("/")[1:]
                     if uuid.UUID(hex=s) in areas]
            compounds["/".join(chain)] = a.id
    for n, c in rows:
        reasons: list[str] = []
        firm = firms.get(c.get("firm", ""))
        if firm is None:
            reasons.append(f"物业公司不存在 (unknown firm): {c.get('firm', '')}")
        path = "/".join(x.strip() for x in c.get("compound", "").split("/") if x.strip())
        compound = compounds.get(path)
        if compound is None:
            reasons.append(f"小区不存在 (unknown compound): {path}")
        start = _date(c.get("from", ""), "开始日期", reasons, required=True)
        until = _date(c.get("until", ""), "截止日期", reasons, required=False)
        if firm is not None and compound is not None and start is not None and not reasons:
            try:
                async with ctx.db.savepoint():
                    await create_service_contract(ctx, firm_id=firm, compound_id=compound, valid_from=start,
                                                  valid_until=until)
                report.created["contracts"] += 1
            except ServiceError as e:
                reasons.extend(_reasons(e))
        if reasons:
            report.errors.append(("服务合同", n, reasons))
