"""Stages that run over (环节超时, issue #22): the periodic job tells the next level up, once per stage.

The level above a stage's holder: the handler's (处置) is the grid leader of the case's grid, then the
party secretary whose scope holds the case, then the street admin; the dispatcher's (受理, 派遣, 回访) is
the party secretary, then the street admin — the first level with someone in post is told, each of its
people by a notification of their own. Where the tenant says so (``auto_supervise_overdue``) an open
case is put under 督办 at the same time. The stage is claimed with ``UPDATE … WHERE
overdue_notified_at IS NULL``, so two job runs at once tell nobody twice; the case moves by the machine
(``stage_overdue``, a system step: version, timeline entry, audit entry).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, update

from models import (
    OPEN_STATES,
    Area,
    Case,
    CaseEvent,
    CaseStage,
    CaseStageKind,
    CaseWorkflowSettings,
    GridBuilding,
    Notification,
    RoleAssignment,
)
from resolvers.cases.machine import CASE
from resolvers.context import Db
from resolvers.transitions import system_move

__all__ = ["STAGE_NAMES", "next_level", "report_overdue_stages"]

STAGE_NAMES = {CaseStageKind.ACCEPT: "受理", CaseStageKind.DISPATCH: "派遣", CaseStageKind.HANDLE: "处置",
               CaseStageKind.CALLBACK: "回访"}
_ABOVE_HANDLER = ("grid_leader", "party_secretary", "street_admin")
_ABOVE_DISPATCHER = ("party_secretary", "street_admin")


async def _holders(db: Db, case: Case, role: str, now: datetime) -> list[uuid.UUID]:
    """Users in post as ``role`` whose scope holds the case (for a grid: its area or a building it covers)."""
    path = literal(case.area_path)
    holds = func.substr(path, 1, func.length(Area.path)) == Area.path
    if role == "grid_leader":
        holds = or_(holds, Area.id.in_(select(GridBuilding.grid_id).where(GridBuilding.building_id == case.area_id)))
    rows = await db.scalars(
        select(RoleAssignment.user_id).distinct()
        .join(Area, and_(Area.tenant_id == RoleAssignment.tenant_id, Area.id == RoleAssignment.scope_area_id))
        .where(RoleAssignment.role == role, RoleAssignment.revoked_at.is_(None), RoleAssignment.valid_from <= now,
               or_(RoleAssignment.valid_until.is_(None), RoleAssignment.valid_until > now), holds)
        .order_by(RoleAssignment.user_id))
    return list(rows)


async def next_level(db: Db, case: Case, stage: CaseStageKind, now: datetime) -> tuple[str | None, list[uuid.UUID]]:
    """The role told when ``stage`` runs over, and its people (the first level with anyone in post)."""
    for role in _ABOVE_HANDLER if stage is CaseStageKind.HANDLE else _ABOVE_DISPATCHER:
        users = await _holders(db, case, role, now)
        if users:
            return role, users
    return None, []


async def report_overdue_stages(db: Db, *, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
    """Every open stage past due and not yet reported: notify the level above, 督办 where the tenant says
    so. Returns the events to publish once committed."""
    due = (await db.all(
        select(CaseStage, Case).join(Case, and_(Case.tenant_id == CaseStage.tenant_id, Case.id == CaseStage.case_id))
        .where(CaseStage.completed_at.is_(None), CaseStage.due_at.is_not(None), CaseStage.due_at < now,
               CaseStage.overdue_notified_at.is_(None))
        .order_by(CaseStage.due_at).limit(limit)))
    if not due:
        return []
    auto = await db.scalar(select(CaseWorkflowSettings.auto_supervise_overdue))
    auto = True if auto is None else bool(auto)
    events: list[dict[str, Any]] = []
    for stage, case in due:
        claimed = await db.execute(update(CaseStage).where(CaseStage.id == stage.id,
                                                           CaseStage.overdue_notified_at.is_(None))
                                   .values(overdue_notified_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]  # another run told them already
            continue
        role, users = await next_level(db, case, stage.stage, now)
        name = STAGE_NAMES[stage.stage]
        for user in users:
            await db.flush(Notification(user_id=user, case_id=case.id, kind="stage_overdue", created_at=now,
                                        message=f"事件 {case.number} {name}环节已超时：{case.title}"[:500]))
        supervise = auto and case.state in OPEN_STATES and not case.supervised
        values = {"supervised": True, "supervised_at": now} if supervise else {}
        moved = await system_move(db, CASE, case, "stage_overdue", now=now, audit_action="system.stageOverdue",
                                  values=values, area_path=case.area_path)
        if moved is None:  # the case moved meanwhile: the notice stands, the timeline entry waits for no one
            continue
        if supervise and (case.handler_firm_id is not None or case.handler_area_id is not None):
            await db.flush(Notification(firm_id=case.handler_firm_id, area_id=case.handler_area_id, case_id=case.id,
                                        kind="supervised", created_at=now,
                                        message=f"事件 {case.number} {name}环节超时，已列入督办：{case.title}"[:500]))
        await db.flush(CaseEvent(case_id=case.id, seq=case.version, action="stage_overdue",
                                 from_state=case.state.value, to_state=case.state.value, actor_user_id=None,
                                 actor_role=None, note=f"{name}环节超时" + ("，已自动督办" if supervise else ""),
                                 attachments=[], detail={"stage": stage.stage.value, "notified_role": role,
                                                         "notified": len(users), "supervised": supervise},
                                 created_at=now))
        events.append({"topic": "case", "tenant_id": str(case.tenant_id), "case_id": str(case.id),
                       "area_path": case.area_path, "action": "stage_overdue", "state": case.state.value,
                       "seq": case.version})
        events += [{"topic": "notification", "tenant_id": str(case.tenant_id), "case_id": str(case.id),
                    "kind": "stage_overdue"} for _ in users[:1]]
    return events
