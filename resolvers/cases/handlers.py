"""Who handles a case (承办单位), as dispatch and transfer (转办) name it: a record of the tenant
(DESIGN.md §8 "Handlers", issue #22) — a property firm serving the case's compound that day, the
community the case lies in, a grid covering it, or a partner unit with a co-building agreement in force
for the case's community. The free-text partner name of before stays accepted (deprecated): it names
no record, so no system of a partner unit sees the case.

Every id given must name a record of this tenant (NOT_FOUND otherwise, issue #24), and only the one the
handler kind uses may be given (INVALID).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, literal, select

from models import Agreement, AgreementCommunity, Area, AreaKind, Case, HandlerKind, PartnerUnit, PropertyFirm
from policies.cases import case_in_area
from policies.cobuilding import active_on, local_date
from resolvers import register as register_service
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t


@dataclass
class HandlerChoice:
    """The handling unit a dispatcher names: its kind and the id of its record."""

    handler_kind: HandlerKind
    firm_id: uuid.UUID | None = None
    community_id: uuid.UUID | None = None
    grid_id: uuid.UUID | None = None
    partner_unit_id: uuid.UUID | None = None
    partner_name: str | None = None  # deprecated free text (no record); partner_unit_id names the record


@dataclass
class Handler:
    """The case's handler columns, and whom to notify (send_notification's keywords)."""

    values: dict[str, Any]
    notify: dict[str, Any]

    def key(self) -> tuple[Any, ...]:
        return tuple(self.values[k] for k in HANDLER_COLUMNS)


HANDLER_COLUMNS = ("handler_kind", "handler_firm_id", "handler_area_id", "handler_partner_id", "handler_name")
NO_HANDLER: dict[str, Any] = dict.fromkeys(HANDLER_COLUMNS)


def current_key(case: Case) -> tuple[Any, ...]:
    return tuple(getattr(case, k) for k in HANDLER_COLUMNS)


_FIELD = {HandlerKind.PROPERTY_FIRM: "firmId", HandlerKind.COMMUNITY: "communityId", HandlerKind.GRID: "gridId",
          HandlerKind.PARTNER_UNIT: "partnerUnitId"}
_WORD = {HandlerKind.PROPERTY_FIRM: ("物业企业", "a property firm"), HandlerKind.COMMUNITY: ("社区", "the community"),
         HandlerKind.GRID: ("网格", "a grid"), HandlerKind.PARTNER_UNIT: ("共建单位", "a partner unit")}


def _only_for(kind: HandlerKind, given: HandlerKind, field: str) -> ServiceError:
    zh, en = _WORD[kind]
    return ServiceError(ErrorCode.INVALID, t(f"只有派给{zh}时才填写 {field}", f"give {field} only when {en} handles "
                                               "the case"), field)


async def _record(ctx: RequestContext, stmt: Any, given: uuid.UUID | None, zh: str, en: str, field: str) -> Any:
    if given is None:
        return None
    found = await ctx.db.scalar(stmt)
    if found is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t(f"找不到该{zh}", f"{en} not found"), field)
    return found


async def resolve_handler(ctx: RequestContext, case: Case, choice: HandlerChoice) -> Handler:
    """The checked handler of ``case``; ServiceError naming the field when a choice does not hold."""
    firm = await _record(ctx, select(PropertyFirm).where(PropertyFirm.id == choice.firm_id), choice.firm_id,
                         "物业企业", "property firm", "firmId")
    community = await _record(ctx, select(Area).where(Area.id == choice.community_id,
                                                      Area.kind == AreaKind.COMMUNITY),
                              choice.community_id, "社区", "community", "communityId")
    grid = await _record(ctx, select(Area).where(Area.id == choice.grid_id, Area.kind == AreaKind.GRID),
                         choice.grid_id, "网格", "grid", "gridId")
    unit = await _record(ctx, select(PartnerUnit).where(PartnerUnit.id == choice.partner_unit_id),
                         choice.partner_unit_id, "共建单位", "partner unit", "partnerUnitId")
    kind = choice.handler_kind
    for record, of in ((firm, HandlerKind.PROPERTY_FIRM), (community, HandlerKind.COMMUNITY),
                       (grid, HandlerKind.GRID), (unit, HandlerKind.PARTNER_UNIT)):
        if record is not None and kind is not of:
            raise _only_for(of, kind, _FIELD[of])
    if choice.partner_name is not None and kind is not HandlerKind.PARTNER_UNIT:
        raise _only_for(HandlerKind.PARTNER_UNIT, kind, "partnerName")
    values: dict[str, Any] = dict(NO_HANDLER, handler_kind=kind)
    if kind is HandlerKind.PROPERTY_FIRM:
        if firm is None:
            raise ServiceError(ErrorCode.INVALID, t("请指定办理该事件的物业公司",
                                                    "name the property firm that handles the case"), "firmId")
        # Only a firm with a service contract for the case's compound in force today, Beijing time (issue #23).
        if not await register_service.firm_serves(ctx, firm.id, case.area_path, local_date(ctx.now)):
            raise ServiceError(ErrorCode.FIRM_NOT_SERVING, t(f"{firm.name} 当日未服务该事件所在小区",
                                                             f"{firm.name} does not serve the case's compound "
                                                             "on that date"), "firmId")
        return Handler(values | {"handler_firm_id": firm.id, "handler_name": firm.name}, {"firm_id": firm.id})
    if kind is HandlerKind.COMMUNITY:
        if community is None or not case.area_path.startswith(community.path):
            raise ServiceError(ErrorCode.INVALID, t("请指定事件所在的社区",
                                                    "name the community the case lies in"), "communityId")
        return Handler(values | {"handler_area_id": community.id, "handler_name": community.name},
                       {"area_id": community.id})
    if kind is HandlerKind.GRID:
        covers = grid is not None and (case.area_path.startswith(grid.path) or await ctx.db.scalar(
            select(Case.id).where(Case.id == case.id, case_in_area(grid.path))) is not None)
        if not covers:
            raise ServiceError(ErrorCode.INVALID, t("请指定覆盖事件所在楼栋的网格",
                                                    "name a grid that covers the case's place"), "gridId")
        return Handler(values | {"handler_area_id": grid.id, "handler_name": grid.name}, {"area_id": grid.id})
    if unit is not None:
        if choice.partner_name is not None:
            raise ServiceError(ErrorCode.INVALID, t("已指定共建单位，请勿再填写名称",
                                                    "give partnerUnitId or partnerName, not both"), "partnerName")
        # A partner unit acts only through an agreement in force for the case's community (DESIGN.md §4).
        covered = await ctx.db.scalar(
            select(Agreement.id)
            .join(AgreementCommunity, and_(AgreementCommunity.tenant_id == Agreement.tenant_id,
                                           AgreementCommunity.agreement_id == Agreement.id))
            .where(Agreement.partner_unit_id == unit.id, active_on(local_date(ctx.now)),
                   literal(case.area_path).startswith(AgreementCommunity.community_path))
            .limit(1))
        if covered is None:
            raise ServiceError(ErrorCode.INVALID, t(f"{unit.name} 没有覆盖该事件所在社区的生效共建协议",
                                                    f"{unit.name} has no agreement in force for the case's "
                                                    "community"), "partnerUnitId")
        return Handler(values | {"handler_partner_id": unit.id, "handler_name": unit.name},
                       {"partner_unit_id": unit.id})
    if choice.partner_name is None:
        raise ServiceError(ErrorCode.INVALID, t("请指定办理该事件的共建单位",
                                                "name the partner unit that handles the case"), "partnerUnitId")
    return Handler(values | {"handler_name": v.text(choice.partner_name, "partnerName", max_len=100)}, {})
