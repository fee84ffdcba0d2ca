"""The area tree: read within reach, manage within scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, select

from models import ALLOWED_PARENTS, Area, AreaKind, GridBuilding, PropertyManagement, path_segment, uuid7
from policies.filters import area_manage_predicate, area_read_predicate
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError, check_version
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page


def _read_pred(ctx: RequestContext) -> ColumnElement[bool]:
    return area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)


def area_list_filters(ctx: RequestContext, *, kind: AreaKind | None = None, parent_id: Any = None,
                      within: tuple[Any, Any] | None = None, search: Any = None,
                      property_management: PropertyManagement | None = None,
                      include_archived: bool = False) -> list[ColumnElement[bool]]:
    """The rows of ``areas``: readable by the grant, live unless archived ones are asked, of the kind, of
    the management, children of the parent, strictly below ``within`` (its path and id), the name
    containing ``search`` (checked by the caller). The compiled read (compiled/areas.py) uses the same,
    with the ids and the text parameters and the path a subquery."""
    out = [_read_pred(ctx)]
    if not include_archived:  # archived areas stay in the ledgers, out of pickers (issue #23)
        out.append(Area.archived_at.is_(None))
    if kind is not None:
        out.append(Area.kind == kind)
    if property_management is not None:  # e.g. 无物业小区: the compounds managed that way
        out += [Area.kind == AreaKind.COMPOUND, Area.property_management == property_management]
    if parent_id is not None:
        out.append(Area.parent_id == parent_id)
    if within is not None:
        path, within_id = within
        out += [Area.path.startswith(path), Area.id != within_id]
    if search is not None:
        out.append(Area.name.contains(search))
    return out


async def list_areas(
    ctx: RequestContext,
    *,
    kind: AreaKind | None = None,
    parent_id: uuid.UUID | None = None,
    within_id: uuid.UUID | None = None,
    search: str | None = None,
    property_management: PropertyManagement | None = None,
    include_archived: bool = False,
    first: int | None = None,
    after: str | None = None,
) -> Page[Area]:
    within = None
    if within_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == within_id))
        if path is None:
            raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "within")
        within = (path, within_id)
    stmt = select(Area).where(*area_list_filters(
        ctx, kind=kind, parent_id=parent_id, within=within,
        search=v.text(search, "search", max_len=50) if search else None,
        property_management=property_management, include_archived=include_archived))
    return await keyset_page(ctx.db, stmt, Area.id, first=first, after=after)


async def get_readable_area(ctx: RequestContext, area_id: uuid.UUID) -> Area | None:
    area: Area | None = await ctx.db.scalar(select(Area).where(Area.id == area_id, _read_pred(ctx)))
    return area


async def _manageable(ctx: RequestContext, area_id: uuid.UUID, field: str) -> Area:
    grant = ctx.actor.grant("area", "manage")
    area: Area | None = await ctx.db.scalar(select(Area).where(Area.id == area_id))
    if area is None or await get_readable_area(ctx, area_id) is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), field)
    if not grant or await ctx.db.scalar(
        select(Area.id).where(Area.id == area_id, area_manage_predicate(grant))
    ) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权管理该区域", "you may not manage this area"), field)
    return area


async def check_sibling_name(ctx: RequestContext, parent_id: uuid.UUID, name: str, own_id: uuid.UUID | None,
                             field: str = "name") -> None:
    """Names are unique among the live children of a parent (issue #23: two 花园社区 under one street)."""
    stmt = select(Area.id).where(Area.parent_id == parent_id, Area.name == name, Area.archived_at.is_(None))
    if own_id is not None:
        stmt = stmt.where(Area.id != own_id)
    if await ctx.db.scalar(stmt) is not None:
        raise ServiceError(ErrorCode.DUPLICATE_NAME, t(f"同一上级下已有名为“{name}”的区域",
                                                       f"another area under this parent is called {name!r}"), field)


@dataclass
class AreaFields:
    name: str | None = None
    code: str | None = None
    description: str | None = None
    property_management: PropertyManagement | None = None
    floors: int | None = None
    unit_count: int | None = None
    expected_version: int | None = None


def _apply(area: Area, f: AreaFields) -> None:
    if f.name is not None:
        area.name = v.text(f.name, "name", max_len=100)
    if f.code is not None:
        area.code = v.text(f.code, "code", max_len=32, required=False) or None
    if f.description is not None:
        area.description = v.text(f.description, "description", max_len=1000, required=False) or None
    if f.property_management is not None:
        if area.kind is not AreaKind.COMPOUND:
            raise ServiceError(ErrorCode.INVALID, t("只有小区有物业管理类型",
                                                    "only a compound has a property management type"),
                               "propertyManagement")
        area.property_management = f.property_management
    for attr in ("floors", "unit_count"):
        value = getattr(f, attr)
        if value is not None:
            if area.kind is not AreaKind.BUILDING:
                raise ServiceError(ErrorCode.INVALID, t(f"只有楼栋有 {attr}", f"only a building has {attr}"), attr)
            if not 0 < value <= 200:
                raise ServiceError(ErrorCode.INVALID, t(f"{attr} 应在 1 到 200 之间",
                                                        f"{attr} must be between 1 and 200"), attr)
            setattr(area, attr, value)


async def create_area(ctx: RequestContext, *, kind: AreaKind, parent_id: uuid.UUID, fields: AreaFields) -> Area:
    if kind is AreaKind.STREET:
        raise ServiceError(ErrorCode.INVALID, t("一个街道只有一个街道根区域",
                                                "a tenant has exactly one street root"), "kind")
    if fields.name is None:
        raise ServiceError(ErrorCode.INVALID, t("名称不能为空", "name must not be empty"), "name")
    parent = await _manageable(ctx, parent_id, "parentId")
    if parent.kind not in ALLOWED_PARENTS[kind]:
        raise ServiceError(ErrorCode.INVALID_PARENT, t(f"{kind.value} 不能放在 {parent.kind.value} 之下",
                                                       f"a {kind.value} cannot be placed under a {parent.kind.value}"),
                           "parentId")
    area_id = uuid7()
    area = Area(id=area_id, kind=kind, parent_id=parent.id, path=parent.path + path_segment(area_id),
                depth=parent.depth + 1, name="")
    _apply(area, fields)
    await check_sibling_name(ctx, parent.id, area.name, None)
    if kind is AreaKind.COMPOUND and area.property_management is None:
        area.property_management = PropertyManagement.NONE
    await ctx.db.flush(area)
    return area


async def update_area(ctx: RequestContext, area_id: uuid.UUID, fields: AreaFields) -> Area:
    area = await _manageable(ctx, area_id, "id")
    check_version(fields.expected_version, area.version)
    before = area.name
    _apply(area, fields)
    if area.name != before and area.parent_id is not None:
        await check_sibling_name(ctx, area.parent_id, area.name, area.id)
    await ctx.db.flush(area)
    return area


def _community_path(grid: Area) -> str:
    """Path of the community a grid belongs to (its ancestor at depth 1)."""
    segs = grid.path.strip("/").split("/")
    return "/" + "/".join(segs[:2]) + "/"


async def set_grid_buildings(ctx: RequestContext, grid_id: uuid.UUID, building_ids: list[uuid.UUID]) -> Area:
    """Replace the set of buildings a grid covers (it may cut across compounds of its community)."""
    grid = await _manageable(ctx, grid_id, "gridId")
    if grid.kind is not AreaKind.GRID:
        raise ServiceError(ErrorCode.INVALID, t("gridId 应指向网格", "gridId must name a grid"), "gridId")
    if len(building_ids) > 500:
        raise ServiceError(ErrorCode.INVALID, t("一个网格最多覆盖 500 栋楼",
                                                "a grid covers at most 500 buildings"), "buildingIds")
    unique = list(dict.fromkeys(building_ids))
    grant = ctx.actor.grant("area", "manage")
    found = await ctx.db.scalars(
        select(Area).where(Area.id.in_(unique), Area.kind == AreaKind.BUILDING, area_manage_predicate(grant))
    )
    if len(found) != len(unique):
        raise ServiceError(ErrorCode.NOT_FOUND, t("每栋楼都须存在且由您管理",
                                                  "every building must exist and be yours to manage"), "buildingIds")
    community = _community_path(grid)
    if any(not b.path.startswith(community) for b in found):
        raise ServiceError(ErrorCode.INVALID, t("网格只能覆盖本社区的楼栋",
                                                "a grid covers buildings of its own community only"), "buildingIds")
    await ctx.db.execute(delete(GridBuilding).where(GridBuilding.grid_id == grid.id))
    await ctx.db.flush(*(GridBuilding(grid_id=grid.id, building_id=b) for b in unique))
    return grid
