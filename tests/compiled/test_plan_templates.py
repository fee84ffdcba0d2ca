"""A plan's text made from its shape's template (compiled.sql.Templates: rendered once per shape, each statement's
bound values — the tenant's id, the actor's ids, area paths — put in) is the text rendered whole
(compiled.plans.render_whole), byte for byte, for every document of the equivalence tests, every role, two tenants
and several areas; and a template never carries the tenant it was made for (issue #21)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import asyncpg

import compiled.plans as plans
from compiled.sql import Template, Templates, lit
from models import Area, Case
from tests.compiled.test_compiled import all_equivalence_documents
from tests.compiled.test_plan_render import AREAS
from tests.support.compiled import module_world
from tests.support.deliberation import area
from tests.support.harness import Api, DbEnv, World

DIALECT = asyncpg.dialect()  # type: ignore[no-untyped-call]


def _statement(paths: list[str], today: str) -> Any:
    """A statement of one shape whatever its values: a tenant's filter, an area path prefix, a list, a text."""
    return (sa.select(Case.id, sa.literal(today)).join(Area, Area.id == Case.area_id)
            .where(Area.path.startswith(paths[0]), Case.id.in_([uuid.UUID(int=len(p)) for p in paths]),
                   Case.title != "it's"))


def test_a_shape_is_rendered_once_and_each_tenants_values_put_in() -> None:
    templates = Templates()
    a, b = uuid.uuid4(), uuid.uuid4()
    texts = []
    for tenant, paths, today in ((a, [a.hex + "/", "x"], "2026-12-06"), (b, [b.hex + "/", "y", "zz"], "it's")):
        scoped = plans.tenant_scoped(_statement(paths, today), tenant)
        made = templates.render(scoped, DIALECT, {"literal_binds": True})
        assert made is not None
        assert made == plans.render_whole(plans.tenant_scoped(_statement(paths, today), tenant), DIALECT)
        texts.append(made)
    assert str(a) in texts[0] and a.hex in texts[0] and str(b) not in texts[0]
    assert str(b) in texts[1] and b.hex in texts[1] and str(a) not in texts[1] and a.hex not in texts[1]
    assert "'it''s'" in texts[1] and "starts_with(" in texts[1]
    (kept,) = templates._made.values()
    assert isinstance(kept, Template)
    assert not any(str(t) in part or t.hex in part for t in (a, b) for part in kept.parts)


def test_a_shape_with_an_id_in_its_own_text_is_rendered_whole_each_time() -> None:
    templates = Templates()
    fixed = uuid.UUID(int=7)  # an id in the statement's structure, not a bound value: no template may hold it
    outs = []
    for tenant in (uuid.uuid4(), uuid.uuid4()):
        stmt = plans.tenant_scoped(sa.select(Case.id).where(Case.id == sa.literal_column(f"'{fixed}'")), tenant)
        outs.append(templates.render(stmt, DIALECT, {"literal_binds": True}))
        assert outs[-1] is None or outs[-1] == plans.render_whole(stmt, DIALECT)
    assert outs[1] is None  # the second statement of the shape: rendered whole by the caller
    assert list(templates._made.values()) == [None]


def test_a_limit_and_a_literal_come_from_the_statement_rendered() -> None:
    templates = Templates()
    texts = []
    for value, limit in ((5, 3), (6, 4)):
        stmt = sa.select(lit("x")).where(sa.literal(value, sa.Integer) > 1).limit(limit)
        made = templates.render(stmt, DIALECT, {"literal_binds": True})
        assert made == str(stmt.compile(dialect=DIALECT, compile_kwargs={"literal_binds": True}))
        texts.append(made)
    assert " 6 > 1" in texts[1] and "LIMIT 4" in texts[1]
    assert isinstance(next(iter(templates._made.values())), Template)


@pytest.fixture(scope="module")
async def two_tenants(db: DbEnv) -> World:
    return await module_world(db)


async def test_every_plan_made_from_its_template_is_the_text_rendered_whole(api: Api, two_tenants: World,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[uuid.UUID, str]] = []
    made_from_template = 0
    real = plans.render
    real_templates = plans.TEMPLATES.render

    def counted(stmt: Any, dialect: Any, kw: dict[str, Any]) -> str | None:
        nonlocal made_from_template
        before = len(plans.TEMPLATES._made)
        out = real_templates(stmt, dialect, kw)
        made_from_template += out is not None and len(plans.TEMPLATES._made) == before
        return out

    def spy(stmt: Any, dialect: Any, tenant_id: uuid.UUID) -> str:
        sql = real(stmt, dialect, tenant_id)
        assert sql == plans.render_whole(plans.tenant_scoped(stmt, tenant_id), dialect)
        seen.append((tenant_id, sql))
        return sql

    monkeypatch.setattr(plans, "render", spy)
    monkeypatch.setattr(plans.TEMPLATES, "render", counted)
    # The process's templates as a fresh process has them: after a whole worker's run of the suite the kept ones may
    # be near their limit, and the emptying at the limit (models.bounded's rule) mid-test made most of this test's
    # plans anew (122 of 574 from a template in one make test, under a quarter).
    monkeypatch.setattr(plans.TEMPLATES, "_made", {})
    documents = all_equivalence_documents()
    for tw in (two_tenants.a, two_tenants.b):
        for user in ("admin", "grid1"):  # the widest scope and a narrow one (the other roles: tests/compiled's own)
            token = api.token(tw, user)
            for doc in documents:
                await api.post(doc, {}, token=token)
            for variables in ({"within": area(tw, "S")}, {"within": area(tw, "C1"), "kind": "BUILDING"},
                              {"within": area(tw, "G1")}):
                await api.post(AREAS, variables, token=token)
    tenants = {two_tenants.a.tenant_id, two_tenants.b.tenant_id}
    assert len(seen) >= 100 and made_from_template >= len(seen) // 4, (len(seen), made_from_template)
    for tenant, sql in seen:
        (other,) = tenants - {tenant}
        assert str(other) not in sql and other.hex not in sql
    assert sum(str(tenant) in sql for tenant, sql in seen) >= len(seen) // 2
