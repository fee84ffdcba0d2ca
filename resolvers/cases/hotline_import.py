"""12345 hotline work orders from a spreadsheet (12345 工单导入, issue #22): all or nothing, like the
register import. Every row is checked before anything is written — required fields, lengths, the
ticket number's form, the category, the priority, the area by its names (社区 / 小区 / 楼栋) and the
importer's reach there, the ticket number repeated in the file or already on a case — and every error
of a row is named at once, by spreadsheet row number. Only a file without a bad row is imported: one
case per row, source 12345 热线, with its ticket number and a report step in its timeline, in the
caller's one transaction. The template (``template_xlsx``) carries an example row made of the
importer's own areas and categories, so it imports as it is."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from models import (
    Area,
    AreaKind,
    AuditEntry,
    Case,
    CaseCategory,
    CasePriority,
    CaseSource,
    CaseStageKind,
    CaseState,
    uuid7,
)
from policies.filters import area_reach_predicate
from resolvers.cases.machine import acting_role, record_event
from resolvers.cases.report import _case_number
from resolvers.cases.sources import ticket_error
from resolvers.cases.stages import open_stage
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

SHEET = "12345工单"
MAX_ROWS = 2000


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    required: bool
    help: str


COLUMNS: tuple[Column, ...] = (
    Column("ticket", "工单号", True, "12345 平台工单号：字母、数字及 - _ / .，最长40位 (work-order number)"),
    Column("community", "社区", True, "社区名称，须与区域树一致 (community)"),
    Column("compound", "小区", False, "小区名称，可空 (compound)"),
    Column("building", "楼栋", False, "楼栋名称，可空；填写时须在该小区（或社区）下 (building)"),
    Column("category", "类别", True, "事件类别代码或名称 (category code or name)"),
    Column("title", "标题", True, "最多100字 (title)"),
    Column("description", "诉求内容", False, "最多5000字 (what the caller said)"),
    Column("priority", "紧急程度", False, "低/普通/高/紧急 (low/normal/high/urgent)，空为普通"),
    Column("location", "位置", False, "最多200字 (location as told)"),
)
HEADERS = [c.zh for c in COLUMNS]
_PRIORITY = {"低": CasePriority.LOW, "普通": CasePriority.NORMAL, "一般": CasePriority.NORMAL,
             "高": CasePriority.HIGH, "紧急": CasePriority.URGENT, **{p.value: p for p in CasePriority}}
_LIMITS = {"title": 100, "description": 5000, "location": 200, "community": 100, "compound": 100, "building": 100}


@dataclass
class HotlineOutcome:
    total: int = 0
    errors: dict[int, list[str]] = field(default_factory=dict)  # spreadsheet row number → every reason
    created: list[Case] = field(default_factory=list)


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def read_rows(content: bytes) -> list[tuple[int, dict[str, str]]]:
    """The data rows by spreadsheet row number (header is row 1), keyed by column; raises for a
    file that is not a workbook or lacks a column."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise ServiceError(ErrorCode.INVALID, t("无法读取文件：请上传 .xlsx 工作簿",
                                                "cannot read the file: send an .xlsx workbook"), "file") from None
    ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    header = [_text(h) for h in next(it, ())]
    missing = [c.zh for c in COLUMNS if c.zh not in header]
    if missing:
        raise ServiceError(ErrorCode.INVALID, t(f"缺少列：{'、'.join(missing)}",
                                                f"missing columns: {', '.join(missing)}"), "file")
    where = {c.key: header.index(c.zh) for c in COLUMNS}
    rows = []
    for number, values in enumerate(it, start=2):
        cells = [_text(x) for x in values]
        if not any(cells):
            continue
        rows.append((number, {k: cells[i] if i < len(cells) else "" for k, i in where.items()}))
    if len(rows) > MAX_ROWS:
        raise ServiceError(ErrorCode.INVALID, t(f"一次最多导入 {MAX_ROWS} 行", f"at most {MAX_ROWS} rows"), "file")
    return rows


@dataclass(frozen=True)
class _Area:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    kind: AreaKind
    name: str
    path: str


def _resolve(areas: list[_Area], community: str, compound: str, building: str) -> tuple[_Area | None, str | None]:
    """The most specific area the names give, or why none."""
    found = [a for a in areas if a.kind is AreaKind.COMMUNITY and a.name == community]
    if len(found) != 1:
        return None, (t(f"社区“{community}”不存在", f"unknown community {community!r}") if not found
                      else t(f"社区名称“{community}”不唯一", f"ambiguous community {community!r}"))
    at = found[0]
    if compound:
        found = [a for a in areas if a.kind is AreaKind.COMPOUND and a.name == compound and a.path.startswith(at.path)]
        if len(found) != 1:
            return None, (t(f"小区“{compound}”不在该社区", f"no compound {compound!r} in that community") if not found
                          else t(f"小区名称“{compound}”不唯一", f"ambiguous compound {compound!r}"))
        at = found[0]
    if building:
        found = [a for a in areas if a.kind is AreaKind.BUILDING and a.name == building and a.path.startswith(at.path)]
        if len(found) != 1:
            return None, (t(f"楼栋“{building}”不在该小区/社区", f"no building {building!r} there") if not found
                          else t(f"楼栋名称“{building}”不唯一", f"ambiguous building {building!r}"))
        at = found[0]
    return at, None


async def check_and_import(ctx: RequestContext, content: bytes, *, dry_run: bool = False) -> HotlineOutcome:
    """Check every row; unless one failed or this is a dry run, create the cases in ``ctx``'s
    transaction (the caller commits)."""
    grant = ctx.actor.grant("case", "report")
    # Work orders arrive at the dispatch desk: whoever may accept cases (grid leader and up) imports them.
    if not grant or not ctx.actor.grant("case", "accept"):
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权导入工单", "you may not import work orders"), "file")
    rows = read_rows(content)
    out = HotlineOutcome(total=len(rows))
    areas = [_Area(*r) for r in await ctx.db.all(select(Area.id, Area.parent_id, Area.kind, Area.name, Area.path))]
    categories: dict[str, str] = {}
    for code, name in await ctx.db.all(select(CaseCategory.code, CaseCategory.name)
                                       .where(CaseCategory.active.is_(True))):
        categories[code] = categories[name] = code
    tickets = [r["ticket"] for _, r in rows if r["ticket"]]
    taken = set(await ctx.db.scalars(select(Case.external_ticket_no).where(Case.external_ticket_no.in_(tickets)))
                ) if tickets else set()
    first_row: dict[str, int] = {}
    parsed: list[tuple[int, dict[str, Any]]] = []
    for number, r in rows:
        reasons: list[str] = []
        for c in COLUMNS:
            if c.required and not r[c.key]:
                reasons.append(t(f"{c.zh}必填", f"{c.zh} is required"))
        for key, limit in _LIMITS.items():
            if len(r[key]) > limit:
                reasons.append(t(f"{next(c.zh for c in COLUMNS if c.key == key)}超过{limit}字",
                                 f"{key} longer than {limit}"))
        ticket = r["ticket"]
        if ticket:
            why = ticket_error(ticket)
            if why is not None:
                reasons.append(why)
            elif ticket in first_row:
                reasons.append(t(f"工单号与第{first_row[ticket]}行重复", f"ticket repeats row {first_row[ticket]}"))
            elif ticket in taken:
                reasons.append(t(f"工单号 {ticket} 已登记在本街道的事件上", f"ticket {ticket} is already on a case"))
            first_row.setdefault(ticket, number)
        category = categories.get(r["category"])
        if r["category"] and category is None:
            reasons.append(t(f"没有事件类别“{r['category']}”", f"unknown category {r['category']!r}"))
        priority = _PRIORITY.get(r["priority"] or "普通")
        if priority is None:
            reasons.append(t(f"紧急程度“{r['priority']}”无效", f"unknown priority {r['priority']!r}"))
        area = None
        if r["community"]:
            area, why = _resolve(areas, r["community"], r["compound"], r["building"])
            if why is not None:
                reasons.append(why)
        if reasons:
            out.errors[number] = reasons
        else:
            parsed.append((number, {**r, "category": category, "priority": priority, "area": area}))
    # The importer's reach: every row's area must be one they may report cases in (one statement).
    ids = {p["area"].id for _, p in parsed}
    reach = set(await ctx.db.scalars(select(Area.id).where(Area.id.in_(ids), area_reach_predicate(grant, ctx.actor)))
                ) if ids else set()
    for number, p in parsed:
        if p["area"].id not in reach:
            out.errors.setdefault(number, []).append(t("该区域不在您的管辖范围", "the area is outside your reach"))
    if out.errors or dry_run:
        _audit(ctx, out, dry_run)
        return out
    role = acting_role(ctx)
    for _number, p in parsed:
        area = p["area"]
        case = Case(id=uuid7(), number=_case_number(ctx.now), area_id=area.id, area_path=area.path,
                    category_code=p["category"], priority=p["priority"], title=p["title"],
                    description=p["description"], location_text=p["location"] or None, state=CaseState.REPORTED,
                    reporter_user_id=ctx.actor.user_id, reporter_role=role, on_wall=False,
                    source=CaseSource.HOTLINE_12345, external_ticket_no=p["ticket"], supervised=False,
                    reopen_count=0, version=1, updated_at=ctx.now, created_at=ctx.now)
        await ctx.db.flush(case)
        await record_event(ctx, case, "report", None, CaseState.REPORTED, note=t("12345 工单导入",
                                                                                   "imported 12345 work order"))
        await open_stage(ctx.db, case, CaseStageKind.ACCEPT, ctx.now, first=True)  # 受理 is due from now
        out.created.append(case)
    _audit(ctx, out, dry_run)
    return out


def _audit(ctx: RequestContext, out: HotlineOutcome, dry_run: bool) -> None:
    """One audit entry per import attempt: how many rows, which cases it created, or which rows failed."""
    ctx.audit.append(AuditEntry(
        user_id=ctx.actor.user_id, roles=",".join(r.value for r in ctx.actor.roles), action="case.import_hotline",
        object_type="case", object_ids=[str(c.id) for c in out.created],
        detail={"total": out.total, "created": len(out.created), "dry_run": dry_run,
                "bad_rows": sorted(out.errors)}, request_id=ctx.request_id, client_addr=ctx.client_addr,
        area_path=None, created_at=ctx.now))


ERROR_HEADER = "错误原因/error"


def report_xlsx(content: bytes, errors: dict[int, list[str]]) -> bytes:
    """The file as sent with a column 错误原因/error naming every error of each bad row (like the register
    import's report): fix the rows and send it again (the extra column is ignored)."""
    from openpyxl import Workbook, load_workbook

    src = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    ws_in = src[SHEET] if SHEET in src.sheetnames else src.worksheets[0]
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    for number, values in enumerate(ws_in.iter_rows(values_only=True), start=1):
        cells = list(values)
        ws.append([*cells, ERROR_HEADER if number == 1 else "；".join(errors.get(number, []))])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def template_xlsx(ctx: RequestContext) -> bytes:
    """The template: the columns, a help row per column on a second sheet, and an example row made
    of an area the importer may report in and an active category, so the example imports as it is."""
    from openpyxl import Workbook

    grant = ctx.actor.grant("case", "report")
    example = ["GD" + uuid.uuid4().hex[:12].upper(), "", "", "", "", "示例：小区门口路灯不亮", "市民来电反映……",
               "普通", ""]
    if grant:
        spot = await ctx.db.scalar(select(Area).where(area_reach_predicate(grant, ctx.actor),
                                                      Area.kind.in_([AreaKind.BUILDING, AreaKind.COMPOUND,
                                                                     AreaKind.COMMUNITY]))
                                   .order_by(Area.depth.desc(), Area.path).limit(1))
        if spot is not None:
            ids = [uuid.UUID(hex=x) for x in spot.path.strip("/").split("/")]
            names = {k: n for k, n in await ctx.db.all(select(Area.kind, Area.name).where(Area.id.in_(ids)))}
            example[1] = names.get(AreaKind.COMMUNITY, "")
            example[2] = names.get(AreaKind.COMPOUND, "")
            example[3] = names.get(AreaKind.BUILDING, "")
    example[4] = await ctx.db.scalar(select(CaseCategory.name).where(CaseCategory.active.is_(True))
                                     .order_by(CaseCategory.code).limit(1)) or ""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(HEADERS)
    ws.append(example)
    help_ws = wb.create_sheet("填写说明")
    help_ws.append(["列", "必填", "说明"])
    for c in COLUMNS:
        help_ws.append([c.zh, "是" if c.required else "否", c.help])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
