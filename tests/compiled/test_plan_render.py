"""A plan's SQL text as compiled.plans.render writes it (issue #21: the area path prefixes rewritten as
starts_with while the text is written, the tenant filter made once per entity) is the text of the way it
replaced: the whole statement rewritten first by ``replacement_traverse(stmt, {}, area_paths_by_index)``,
then compiled under ``with_loader_criteria``'s tenant filter.

For these documents byte for byte (elsewhere the ORM's tenant filter may sit on another SELECT: see
compiled.plans.render), but for one place: a join's ON condition, grouped when the join is built — by the ORM while
compiling (``select(…).join(x, prefix)``), or with the statement — may be written ``ON (starts_with(a, b))``
where the other way wrote ``ON starts_with(a, b)``, or the other way round: the same condition."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import with_loader_criteria
from sqlalchemy.sql.visitors import replacement_traverse

import compiled.plans as plans
from compiled.sql import area_paths_by_index
from models import TenantScoped
from tests.support.compiled import both, module_tenant
from tests.support.deliberation import area
from tests.support.harness import Api, DbEnv
from tests.support.world import ROLE_USERS, TenantWorld

USERS = (*ROLE_USERS, "nobody")
AREAS = """query($within: ID, $kind: AreaKind) { areas(first: 5, within: $within, kind: $kind) {
  totalCount nodes { id name kind parent { name parent { name } } } } }"""
CASES = "query { cases(first: 20) { totalCount nodes { id title grid { id name } } } }"


@pytest.fixture(scope="module")
async def render_tenant(db: DbEnv) -> TenantWorld:
    return await module_tenant(db)


def _traversed(stmt: Any, dialect: Any, tenant_id: Any) -> str:
    """The text as compile_request wrote it before (2d758c2)."""
    stmt = replacement_traverse(stmt, {}, area_paths_by_index)
    stmt = stmt.options(with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id,
                                             include_aliases=True))
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _on_ungrouped(sql: str) -> str:
    """The text with each ``ON (starts_with(…))`` written ``ON starts_with(…)``."""
    start = 0
    while (i := sql.find("ON (starts_with(", start)) >= 0:
        depth, j = 0, i + 3
        while True:
            depth += {"(": 1, ")": -1}.get(sql[j], 0)
            if depth == 1 and sql[j] == ")":
                break
            j += 1
        assert sql[j + 1] == ")", sql[i:j + 2]
        sql = sql[:i + 3] + sql[i + 4:j + 1] + sql[j + 2:]
        start = i + 3
    return sql


async def test_a_plan_is_the_text_of_the_statement_rewritten_first(api: Api, render_tenant: TenantWorld,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    tw = render_tenant
    seen: list[tuple[str, str]] = []
    real = plans.render

    def spy(stmt: Any, dialect: Any, tenant_id: Any) -> str:
        sql = real(stmt, dialect, tenant_id)
        seen.append((sql, _traversed(stmt, dialect, tenant_id)))
        return sql

    monkeypatch.setattr(plans, "render", spy)
    for user in USERS:
        for variables in ({}, {"within": area(tw, "S")}, {"within": area(tw, "C1"), "kind": "BUILDING"}):
            compiled, resolved, taken = await both(api, tw, user, AREAS, variables)
            assert taken and compiled == resolved, (user, variables)
        compiled, resolved, taken = await both(api, tw, user, CASES, {})
        assert taken and compiled == resolved, user
    assert len(seen) >= 3 * len(USERS), len(seen)
    assert sum("starts_with(" in sql for sql, _ in seen) >= 2 * len(USERS)
    for sql, before in seen:
        assert sql == before or _on_ungrouped(sql) == _on_ungrouped(before)
