"""The tenant's area tree as the register import sees it (区域树): buildings keyed by the names a row
gives, the importer's scope, and the communities, compounds and buildings a row may create."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from models import AreaKind, path_segment, uuid7
from resolvers.context import RequestContext


@dataclass
class AreaNode:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    kind: AreaKind
    name: str
    path: str
    depth: int
    new: bool = False


class AreaIndex:
    """The tenant's area tree, keyed the way the template names a building."""

    def __init__(self, nodes: Iterable[AreaNode]) -> None:
        self.by_id = {n.id: n for n in nodes}
        self.root = next(n for n in self.by_id.values() if n.kind is AreaKind.STREET)
        self.communities: dict[str, list[AreaNode]] = {}
        self.compounds: dict[tuple[str, str], list[AreaNode]] = {}
        self.buildings: dict[tuple[str, str, str], list[AreaNode]] = {}
        for n in self.by_id.values():
            self._add(n)

    def _ancestor(self, n: AreaNode, kind: AreaKind) -> AreaNode | None:
        for seg in n.path.strip("/").split("/"):
            a = self.by_id.get(uuid.UUID(hex=seg))
            if a is not None and a.kind is kind:
                return a
        return None

    def _add(self, n: AreaNode) -> None:
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

    def create(self, parent: AreaNode, kind: AreaKind, name: str) -> AreaNode:
        aid = uuid7()
        n = AreaNode(aid, parent.id, kind, name, parent.path + path_segment(aid), parent.depth + 1, new=True)
        self.by_id[aid] = n
        self._add(n)
        return n

    def building_name(self, n: AreaNode) -> tuple[str, str, str]:
        c = self._ancestor(n, AreaKind.COMMUNITY)
        p = self._ancestor(n, AreaKind.COMPOUND)
        return (c.name if c else "", p.name if p else "", n.name)


def in_scope(path: str, ctx: RequestContext) -> bool:
    grant = ctx.actor.grant("register", "import")
    return grant.all or any(path.startswith(p) for p in grant.scope_paths)


def create_path(areas: AreaIndex, key: tuple[str, str, str], ctx: RequestContext
                 ) -> tuple[str | None, list[AreaNode]]:
    """Create the community, compound and building a row names (where missing), in scope only."""
    community, compound, building = key
    label = "/".join(x for x in key if x)
    made: list[AreaNode] = []
    cs = areas.communities.get(community, [])
    if len(cs) > 1:
        return f"社区名称不唯一 (ambiguous community): {community}", made
    if cs:
        parent = cs[0]
    else:
        if not in_scope(areas.root.path, ctx):
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
            if not in_scope(parent.path, ctx):
                return f"不在您的管辖范围 (outside your scope): {label}", made
            parent = areas.create(parent, AreaKind.COMPOUND, compound)
            made.append(parent)
    if not in_scope(parent.path, ctx):
        return f"不在您的管辖范围 (outside your scope): {label}", made
    made.append(areas.create(parent, AreaKind.BUILDING, building))
    return None, made
