"""Moving and archiving areas (issue #23): a typo in the area tree is no longer permanent.

``move_area`` puts an area (and its subtree) under another parent the actor manages: the paths of
the subtree and every record that carries a materialized path inside it (cases, topics, visits …)
move with it, so scopes and lists follow. The audit log keeps the paths of its time (it is
append-only). ``archive_area`` marks an area and its subtree archived — never deleted: records of
their time still name them, lists and pickers leave them out unless asked.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Table, func, literal, update

from models import ALLOWED_PARENTS, Area, AreaKind, path_segment
from models.base import Base
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, ServiceError, check_version
from resolvers.i18n import t
from resolvers.register.areas import _manageable, check_sibling_name

# Denormalized area paths of other tables that follow a move (the audit log never changes).
PATH_COLUMNS = ("area_path", "compound_path", "community_path")
FROZEN_TABLES = frozenset({"audit_log", "areas"})


def _path_tables() -> list[tuple[Table, str]]:
    out: list[tuple[Table, str]] = []
    for table in Base.metadata.sorted_tables:
        if table.name in FROZEN_TABLES or "tenant_id" not in table.c:
            continue
        out.extend((table, c) for c in PATH_COLUMNS if c in table.c)
    return out


async def move_area(ctx: RequestContext, area_id: uuid.UUID, new_parent_id: uuid.UUID,
                    expected_version: int | None) -> Area:
    area = await _manageable(ctx, area_id, "id")
    check_version(expected_version, area.version)
    if area.kind is AreaKind.STREET:
        raise ServiceError(ErrorCode.INVALID, t("街道根区域不能移动", "the street root does not move"), "id")
    if area.archived_at is not None:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("已归档的区域不能移动", "an archived area does not move"),
                           "id")
    parent = await _manageable(ctx, new_parent_id, "newParentId")
    if parent.id == area.parent_id:
        raise ServiceError(ErrorCode.INVALID, t("已在该上级之下", "the area is under that parent already"),
                           "newParentId")
    if parent.path.startswith(area.path):
        raise ServiceError(ErrorCode.INVALID_PARENT, t("不能移到自身或其下级之下", "an area cannot move under itself"),
                           "newParentId")
    if parent.kind not in ALLOWED_PARENTS[area.kind] or parent.archived_at is not None:
        raise ServiceError(ErrorCode.INVALID_PARENT, t(f"{area.kind.value} 不能放在 {parent.kind.value} 之下",
                                                       f"a {area.kind.value} cannot be placed under a "
                                                       f"{parent.kind.value}"), "newParentId")
    await check_sibling_name(ctx, parent.id, area.name, area.id, "newParentId")
    old, new = area.path, parent.path + path_segment(area.id)
    shift = parent.depth + 1 - area.depth
    # The subtree below the area, then the area itself through the ORM (its version moves on).
    tenant = ctx.actor.tenant_id
    await ctx.db.execute(
        update(Area).where(Area.tenant_id == tenant, Area.path.startswith(old), Area.id != area.id)
        .values(path=literal(new) + func.substr(Area.path, len(old) + 1), depth=Area.depth + shift)
        .execution_options(synchronize_session=False))
    for table, col in _path_tables():
        c = table.c[col]
        await ctx.db.execute(update(table).where(table.c.tenant_id == tenant, c.startswith(old))
                             .values({col: literal(new) + func.substr(c, len(old) + 1)}))
    area.parent_id = parent.id
    area.path = new
    area.depth = parent.depth + 1
    await ctx.db.flush(area)
    return area


async def archive_area(ctx: RequestContext, area_id: uuid.UUID, expected_version: int | None) -> Area:
    area = await _manageable(ctx, area_id, "id")
    check_version(expected_version, area.version)
    if area.kind is AreaKind.STREET:
        raise ServiceError(ErrorCode.INVALID, t("街道根区域不能归档", "the street root cannot be archived"), "id")
    if area.archived_at is not None:
        raise ServiceError(ErrorCode.INVALID_TRANSITION, t("该区域已归档", "the area is archived already"), "id")
    await ctx.db.execute(
        update(Area).where(Area.tenant_id == ctx.actor.tenant_id, Area.path.startswith(area.path), Area.id != area.id,
                           Area.archived_at.is_(None))
        .values(archived_at=ctx.now).execution_options(synchronize_session=False))
    area.archived_at = ctx.now
    await ctx.db.flush(area)
    return area

