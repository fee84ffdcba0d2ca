"""Work ledgers (台账) as XLSX, for an area and a period (issue #11), and the register in the import
template's layout.

Every sheet selects only rows the exporter may read — each module's own read predicate in the
query, never load-then-drop — inside the area. An export is masked for everyone (DESIGN.md §6, §8):
ID numbers, phones and room numbers never leave unmasked, whatever the exporter may read on screen.
A full export is a separate action (``FullExport``): the street admin only (``ledger · export_full``),
with a stated purpose; it shows them where the exporter holds ``person · read_pii`` for that person
(the same predicate the schema's Person fields use), and every full read and the export itself,
purpose included, are audited. Every sheet carries who exported it and when (its header and footer),
and a full export says so and why. Care tags are shown where the exporter may read them in full.
Headers are Chinese, times are Asia/Shanghai.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from models import (
    Activity,
    ActivitySignup,
    Area,
    AreaKind,
    AuditEntry,
    Case,
    CaseCategory,
    CaseEvent,
    EvaluationPeriod,
    EvaluationRating,
    Household,
    Meeting,
    MeetingTopic,
    Person,
    PersonCareTag,
    PersonStatus,
    PointsEntry,
    PropertyFirm,
    Topic,
    Visit,
)
from policies.cases import case_in_area
from policies.filters import area_read_predicate, buildings_in_scope, household_predicate, person_predicate
from policies.volunteering import compound_predicate, person_points_predicate
from resolvers import validation as v
from resolvers.care import visit_read_predicate
from resolvers.cases import SHANGHAI
from resolvers.cases import read_predicate as case_read_predicate
from resolvers.context import RequestContext
from resolvers.deliberation import meeting_read_predicate, topic_read_predicate
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t
from resolvers.ledgers import rate_sheet
from resolvers.ledgers.register_file import COLUMNS, SHEET_NAME
from resolvers.ledgers.register_jobs import audit_user
from resolvers.ledgers.register_rows import GENDER_ZH, TENURE_ZH
from resolvers.validation import mask_id_card, mask_phone

MAX_DAYS = 366 * 3
MASKED_ROOM = "***"

CASE_STATE_ZH = {"reported": "已上报", "accepted": "已受理", "rejected": "不予受理", "dispatched": "已派遣",
                 "in_progress": "处置中", "resolved": "已办结", "closed": "已关闭", "reopened": "已重启",
                 "withdrawn": "已撤回"}
PRIORITY_ZH = {"low": "低", "normal": "一般", "high": "紧急", "urgent": "特急"}
ACTION_ZH = {"report": "上报", "accept": "受理", "reject": "不予受理", "dispatch": "派遣", "start": "开始处置",
             "resolve": "办结", "close": "关闭", "reopen": "重启", "feedback": "评价", "supervise": "督办",
             "urge": "催办", "escalate": "上报上级", "auto_close": "到期自动关闭",
             "withdraw": "撤回"}
VISIT_KIND_ZH = {"routine": "例行走访", "key_household": "重点户走访", "care": "关爱走访", "follow_up": "回访"}
TOPIC_STATE_ZH = {"proposed": "已提出", "accepted": "已受理", "deliberated": "已协商", "decided": "已决定",
                  "implementing": "落实中", "done": "已完成", "reviewed": "已复盘", "declined": "不予受理",
                  "cancelled": "已取消"}
MEETING_STATE_ZH = {"convened": "已召集", "closed": "已结束", "cancelled": "已取消"}
ENTRY_KIND_ZH = {"hours": "志愿时长", "manual": "奖励", "redemption": "兑换", "reversal": "冲正"}
TARGET_ZH = {"property_firm": "物业服务", "owner_committee": "业委会"}
ROLE_ZH = {"street_admin": "街道管理员", "party_secretary": "社区书记", "grid_leader": "网格长",
           "owner_committee_chair": "业委会主任", "property_firm": "物业", "resident": "居民",
           "neighbor_lead": "邻长", "partner_unit": "共建单位"}

SHEETS = ("事件台账", "事件流转", "走访台账", "议事会议", "议题决定", "志愿时长", "积分台账", "评比结果")


def local(ts: datetime | None) -> str:
    return "" if ts is None else ts.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) Asia/Shanghai, as aware datetimes."""
    return (datetime.combine(start, time(), SHANGHAI), datetime.combine(end + timedelta(days=1), time(), SHANGHAI))


@dataclass(frozen=True)
class FullExport:
    """The separate action that exports ID numbers, phones and rooms unmasked: why it is done."""

    purpose: str


@dataclass
class Export:
    content: bytes
    file_name: str
    counts: dict[str, int] = field(default_factory=dict)


class _Areas:
    """Names of the areas above a row (community, compound, building) from one query of the tree."""

    def __init__(self, rows: Iterable[tuple[uuid.UUID, AreaKind, str, str]]) -> None:
        self.by_id = {i: (k, n, p) for i, k, n, p in rows}

    def names(self, path: str | None) -> dict[AreaKind, str]:
        out: dict[AreaKind, str] = {}
        for seg in (path or "").strip("/").split("/"):
            if not seg:
                continue
            found = self.by_id.get(uuid.UUID(hex=seg))
            if found is not None:
                out[found[0]] = found[1]
        return out

    def label(self, path: str | None) -> str:
        n = self.names(path)
        return "/".join(n[k] for k in (AreaKind.COMMUNITY, AreaKind.ZONE, AreaKind.COMPOUND, AreaKind.BUILDING)
                        if k in n) or n.get(AreaKind.STREET, "")


async def _export_area(ctx: RequestContext, area_id: uuid.UUID | None) -> tuple[uuid.UUID, str, str]:
    if not ctx.actor.grant("ledger", "export"):
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权导出台账", "you may not export ledgers"), "areaId")
    readable = area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)
    stmt = select(Area.id, Area.path, Area.name).where(readable)
    stmt = stmt.where(Area.id == area_id) if area_id is not None else stmt.where(Area.kind == AreaKind.STREET)
    row = (await ctx.db.all(stmt)) or None
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    return row[0][0], row[0][1], row[0][2]


def _check_full(ctx: RequestContext, full: FullExport | None) -> FullExport | None:
    if full is None:
        return None
    if not ctx.actor.grant("ledger", "export_full").all:
        raise ServiceError(ErrorCode.FORBIDDEN, "只有街道管理员可以导出未脱敏的完整台账", "purpose")
    purpose = v.text(full.purpose, "purpose", max_len=200)
    if len(purpose) < 4:
        raise ServiceError(ErrorCode.INVALID, "请写明完整导出的用途（至少 4 个字）", "purpose")
    return FullExport(purpose)


def _stamp(wb: Any, ctx: RequestContext, full: FullExport | None) -> None:
    """Who exported it and when, on every sheet (header and footer, printed too) and in the file's
    properties; a full export says that it is one and why."""
    who = f"{ctx.actor.display_name or ctx.actor.username}（{ctx.actor.username}）"
    what = f"完整导出（含未脱敏个人信息）· 用途：{full.purpose}" if full else "已脱敏导出"
    text = f"导出人：{who} · 导出时间：{local(ctx.now)} · {what}"
    for ws in wb.worksheets:
        ws.oddHeader.center.text = text
        ws.oddFooter.center.text = text
    wb.properties.creator = ctx.actor.username
    wb.properties.description = text


async def _areas(ctx: RequestContext) -> _Areas:
    return _Areas(await ctx.db.all(select(Area.id, Area.kind, Area.name, Area.path)))


def _workbook() -> Any:
    from openpyxl import Workbook

    return Workbook(write_only=True)


def _sheet(wb: Any, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    ws = wb.create_sheet(title)
    bold = Font(bold=True)
    head = []
    for h in headers:
        c = WriteOnlyCell(ws, value=h)
        c.font = bold
        head.append(c)
    ws.append(head)
    n = 0
    for r in rows:
        # Everything as text: an ID number or phone must never turn into a number.
        ws.append(["" if x is None else x if isinstance(x, int | float) and not isinstance(x, bool) else str(x)
                   for x in r])
        n += 1
    return n


def _save(wb: Any) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _audit(ctx: RequestContext, action: str, area_id: uuid.UUID, path: str, detail: dict[str, Any]) -> None:
    ctx.audit.append(AuditEntry(
        user_id=audit_user(ctx),
        roles=",".join(r.value for r in ctx.actor.roles), action=action, object_type="area",
        object_ids=[str(area_id)], detail=detail, request_id=ctx.request_id, client_addr=ctx.client_addr,
        area_path=path, created_at=ctx.now))


# -- the register, in the import template's layout


async def export_register(ctx: RequestContext, area_id: uuid.UUID | None = None,
                          full_export: FullExport | None = None) -> Export:
    """Persons the exporter may read in the area, one row each in the template's columns; masked
    unless ``full_export`` (the street admin's separate action)."""
    full_export = _check_full(ctx, full_export)
    aid, path, name = await _export_area(ctx, area_id)
    actor = ctx.actor
    pii = person_predicate(actor.grant("person", "read_pii"), actor)
    room_pii = household_predicate(actor.grant("person", "read_pii"), actor)
    b = aliased(Area)
    rows = await ctx.db.all(
        select(Person, Household.unit, Household.room, Household.floor_area, Household.tenure, b.path,
               pii.label("pii"), room_pii.label("room_pii"))
        .join(Household, and_(Household.tenant_id == Person.tenant_id, Household.id == Person.household_id))
        .join(b, and_(b.tenant_id == Household.tenant_id, b.id == Household.building_id))
        .where(person_predicate(actor.grant("person", "read"), actor),
               Household.building_id.in_(buildings_in_scope((path,))),
               Person.status == PersonStatus.ACTIVE)  # the current register: no one moved out or deceased
        .order_by(b.path, Household.unit, Household.room, Person.id)
    )
    visible = [r[0].id for r in rows if r[6]]  # care tags: where the exporter may read them in full
    tags: dict[uuid.UUID, list[str]] = {}
    for i in range(0, len(visible), 5000):
        for pid, code in await ctx.db.all(select(PersonCareTag.person_id, PersonCareTag.code)
                                          .where(PersonCareTag.person_id.in_(visible[i:i + 5000]))
                                          .order_by(PersonCareTag.code)):
            tags.setdefault(pid, []).append(code)
    areas = await _areas(ctx)

    def lines() -> Iterable[list[Any]]:
        for p, unit, room, area, tenure, bpath, pii_ok, room_ok in rows:
            n = areas.names(bpath)
            full = full_export is not None and pii_ok
            if full:
                ctx.pii_reads.add(p.id)
            yield [n.get(AreaKind.COMMUNITY, ""), n.get(AreaKind.COMPOUND, ""), n.get(AreaKind.BUILDING, ""), unit,
                   room if full_export is not None and room_ok else MASKED_ROOM,
                   "" if area is None else f"{area:.2f}",
                   TENURE_ZH.get(tenure, "") if tenure else "", p.name,
                   GENDER_ZH.get(p.gender, "") if p.gender else "",
                   p.id_card_no if full else mask_id_card(p.id_card_no),
                   p.phone if full else mask_phone(p.phone), p.relation_to_head or "",
                   "是" if p.party_member else "否", "、".join(tags.get(p.id, [])) if pii_ok else ""]

    wb = _workbook()
    count = _sheet(wb, SHEET_NAME, [c.zh for c in COLUMNS], lines())
    _stamp(wb, ctx, full_export)
    if full_export is None:
        _audit(ctx, "register.export", aid, path, {"persons": count, "full": 0})
    else:
        _audit(ctx, "register.export_full", aid, path, {"persons": count, "full": len(ctx.pii_reads),
                                                          "purpose": full_export.purpose})
    return Export(_save(wb), f"户籍登记-{name}.xlsx", {SHEET_NAME: count})


# -- the work ledgers


async def export_ledgers(ctx: RequestContext, area_id: uuid.UUID | None, start: date, end: date,
                         full_export: FullExport | None = None) -> Export:
    full_export = _check_full(ctx, full_export)
    if end < start:
        raise ServiceError(ErrorCode.INVALID, t("统计期的结束早于开始", "the period ends before it starts"), "to")
    if (end - start).days > MAX_DAYS:
        raise ServiceError(ErrorCode.INVALID, t(f"统计期超过 {MAX_DAYS} 天",
                                                f"the period is longer than {MAX_DAYS} days"), "to")
    aid, path, name = await _export_area(ctx, area_id)
    lo, hi = day_bounds(start, end)
    actor = ctx.actor
    areas = await _areas(ctx)
    wb = _workbook()
    counts: dict[str, int] = {}

    # 事件台账 / 事件流转: cases reported in the period, seen in full (problem-wall entries excluded).
    cases_q = select(Case.id).where(case_read_predicate(ctx, public=False), case_in_area(path),
                                    Case.created_at >= lo, Case.created_at < hi)
    cases = await ctx.db.scalars(select(Case).where(Case.id.in_(cases_q)).order_by(Case.created_at, Case.id))
    cat = dict(await ctx.db.all(select(CaseCategory.code, CaseCategory.name)))
    counts["事件台账"] = _sheet(wb, "事件台账", [
        "事件编号", "标题", "类别", "优先级", "状态", "所在区域", "上报时间", "受理时间", "派遣时间", "办理期限",
        "办结时间", "关闭时间", "处置单位", "处置结果", "不予受理原因", "督办", "重启次数", "群众评价", "评价意见"],
        ([c.number, c.title, cat.get(c.category_code, c.category_code), PRIORITY_ZH.get(c.priority, c.priority),
          CASE_STATE_ZH.get(c.state, c.state), areas.label(c.area_path), local(c.created_at), local(c.accepted_at),
          local(c.dispatched_at), local(c.due_at), local(c.resolved_at), local(c.closed_at), c.handler_name or "",
          c.resolution or "", c.reject_reason or "", "是" if c.supervised else "否", c.reopen_count,
          "" if c.satisfied is None else "满意" if c.satisfied else "不满意", c.feedback_comment or ""]
         for c in cases))
    events = await ctx.db.all(
        select(CaseEvent, Case.number).join(Case, and_(Case.tenant_id == CaseEvent.tenant_id,
                                                       Case.id == CaseEvent.case_id))
        .where(CaseEvent.case_id.in_(cases_q)).order_by(Case.created_at, Case.id, CaseEvent.seq))
    counts["事件流转"] = _sheet(wb, "事件流转", ["事件编号", "序号", "时间", "环节", "原状态", "新状态",
                                            "操作角色", "说明"],
        ([num, e.seq, local(e.created_at), ACTION_ZH.get(e.action, e.action),
          CASE_STATE_ZH.get(e.from_state or "", e.from_state or ""),
          CASE_STATE_ZH.get(e.to_state or "", e.to_state or ""),
          ROLE_ZH.get(e.actor_role or "", e.actor_role or "系统"), e.note or ""] for e, num in events))

    # 走访台账: visits in the period; the room number is personal data.
    room_pii = household_predicate(actor.grant("person", "read_pii"), actor)
    b = aliased(Area)
    visits = await ctx.db.all(
        select(Visit, Household.unit, Household.room, b.path, room_pii.label("full"))
        .join(Household, and_(Household.tenant_id == Visit.tenant_id, Household.id == Visit.household_id))
        .join(b, and_(b.tenant_id == Visit.tenant_id, b.id == Visit.building_id))
        .where(visit_read_predicate(ctx), Visit.building_id.in_(buildings_in_scope((path,))),
               Visit.visited_at >= lo, Visit.visited_at < hi)
        .order_by(Visit.visited_at, Visit.id))
    counts["走访台账"] = _sheet(wb, "走访台账", ["走访时间", "楼栋", "单元", "房号", "走访类型", "走访人角色",
                                            "发现问题", "群众需求", "已转事件"],
        ([local(vi.visited_at), areas.label(bp), unit, room if full_export is not None and full else MASKED_ROOM,
          VISIT_KIND_ZH.get(vi.kind, vi.kind), ROLE_ZH.get(vi.visitor_role, vi.visitor_role), vi.findings,
          vi.needs or "", "是" if vi.case_id else "否"] for vi, unit, room, bp, full in visits))

    # 议事会议 / 议题决定
    meetings = list(await ctx.db.scalars(
        select(Meeting).where(meeting_read_predicate(ctx), Meeting.area_path.startswith(path),
                              Meeting.starts_at >= lo, Meeting.starts_at < hi).order_by(Meeting.starts_at, Meeting.id)))
    agenda: dict[uuid.UUID, list[tuple[str, bool]]] = {}
    if meetings:
        for mid, title, decided in await ctx.db.all(
                select(MeetingTopic.meeting_id, Topic.title, MeetingTopic.decided)
                .join(Topic, and_(Topic.tenant_id == MeetingTopic.tenant_id, Topic.id == MeetingTopic.topic_id))
                .where(MeetingTopic.meeting_id.in_([m.id for m in meetings]), topic_read_predicate(ctx))
                .order_by(MeetingTopic.meeting_id, MeetingTopic.position)):
            agenda.setdefault(mid, []).append((title, decided))
    counts["议事会议"] = _sheet(wb, "议事会议", ["会议", "时间", "地点", "所在区域", "状态", "议程", "形成决定的议题",
                                            "会议纪要", "结束时间"],
        ([m.title, local(m.starts_at), m.place, areas.label(m.area_path), MEETING_STATE_ZH.get(m.state, m.state),
          "；".join(t for t, _ in agenda.get(m.id, [])), "；".join(t for t, d in agenda.get(m.id, []) if d),
          m.minutes or "", local(m.closed_at)] for m in meetings))
    topics = await ctx.db.scalars(
        select(Topic).where(topic_read_predicate(ctx), Topic.area_path.startswith(path), Topic.decided_at >= lo,
                            Topic.decided_at < hi).order_by(Topic.decided_at, Topic.id))
    counts["议题决定"] = _sheet(wb, "议题决定", ["议题", "所在区域", "状态", "决定内容", "决定时间", "复盘"],
        ([t.title, areas.label(t.area_path), TOPIC_STATE_ZH.get(t.state, t.state), t.decision or "",
          local(t.decided_at), t.review or ""] for t in topics))

    # 志愿时长 / 积分台账: persons the points grant reaches, in the area.
    pii = person_predicate(actor.grant("person", "read_pii"), actor)
    points_read = actor.grant("points", "read")
    in_area = Person.household_id.in_(select(Household.id).where(Household.building_id.in_(
        buildings_in_scope((path,)))))
    hours = await ctx.db.all(
        select(ActivitySignup, Activity.title, Activity.starts_at, Activity.organiser_name, Person, pii.label("full"))
        .join(Activity, and_(Activity.tenant_id == ActivitySignup.tenant_id, Activity.id == ActivitySignup.activity_id))
        .join(Person, and_(Person.tenant_id == ActivitySignup.tenant_id, Person.id == ActivitySignup.person_id))
        .where(person_points_predicate(ActivitySignup.person_id, points_read, actor), in_area,
               ActivitySignup.hours.is_not(None), ActivitySignup.confirmed_at >= lo, ActivitySignup.confirmed_at < hi)
        .order_by(ActivitySignup.confirmed_at, ActivitySignup.id))

    def hour_rows() -> Iterable[list[Any]]:
        for s, title, starts, organiser, p, pii_ok in hours:
            full = full_export is not None and pii_ok
            if full:
                ctx.pii_reads.add(p.id)
            yield [title, local(starts), organiser, p.name, p.id_card_no if full else mask_id_card(p.id_card_no),
                   p.phone if full else mask_phone(p.phone), float(s.hours or 0), local(s.confirmed_at)]

    counts["志愿时长"] = _sheet(wb, "志愿时长", ["活动", "活动时间", "组织方", "志愿者", "身份证号", "联系电话",
                                            "服务时长(小时)", "确认时间"], hour_rows())
    entries = await ctx.db.all(
        select(PointsEntry, Person.name)
        .join(Person, and_(Person.tenant_id == PointsEntry.tenant_id, Person.id == PointsEntry.person_id))
        .where(person_points_predicate(PointsEntry.person_id, points_read, actor), in_area,
               PointsEntry.created_at >= lo, PointsEntry.created_at < hi)
        .order_by(PointsEntry.created_at, PointsEntry.id))
    counts["积分台账"] = _sheet(wb, "积分台账", ["时间", "姓名", "积分变动", "类型", "事由", "变动后余额"],
        ([local(e.created_at), pname, e.delta, ENTRY_KIND_ZH.get(e.kind, e.kind), e.reason or "", e.balance_after]
         for e, pname in entries))

    # 评比结果: ratings of months overlapping the period, for compounds in the area.
    first_month, last_month = start.replace(day=1), end.replace(day=1)
    ratings = await ctx.db.all(
        select(EvaluationRating, EvaluationPeriod.month, PropertyFirm.name)
        .join(EvaluationPeriod, and_(EvaluationPeriod.tenant_id == EvaluationRating.tenant_id,
                                     EvaluationPeriod.id == EvaluationRating.period_id))
        .outerjoin(PropertyFirm, and_(PropertyFirm.tenant_id == EvaluationRating.tenant_id,
                                      PropertyFirm.id == EvaluationRating.firm_id))
        .where(compound_predicate(EvaluationRating.compound_path, actor.grant("evaluation", "read"), actor),
               EvaluationRating.compound_path.startswith(path), EvaluationPeriod.month >= first_month,
               EvaluationPeriod.month <= last_month)
        .order_by(EvaluationPeriod.month, EvaluationRating.compound_path, EvaluationRating.id))
    counts["评比结果"] = _sheet(wb, "评比结果", ["月份", "评比对象", "小区", "物业公司", "评分人角色", "总分",
                                            "各项得分", "评语", "评分时间"],
        ([f"{month:%Y-%m}", TARGET_ZH.get(r.target, r.target), areas.label(r.compound_path), firm or "",
          ROLE_ZH.get(r.rater_role, r.rater_role), float(r.total),
          "；".join(f"{k}:{v}" for k, v in sorted(r.scores.items())), r.comment or "", local(r.created_at)]
         for r, month, firm in ratings))
    # 考核指标: the case rates of the area and period (issue #22), as caseRates gives them.
    counts["考核指标"] = _sheet(wb, "考核指标", rate_sheet.HEADERS, await rate_sheet.rate_rows(ctx, aid, start, end))

    _stamp(wb, ctx, full_export)
    detail: dict[str, Any] = {"from": start.isoformat(), "to": end.isoformat(), "sheets": counts}
    if full_export is None:
        _audit(ctx, "ledger.export", aid, path, detail)
    else:
        _audit(ctx, "ledger.export_full", aid, path, {**detail, "purpose": full_export.purpose})
    return Export(_save(wb), f"台账-{name}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx", counts)
