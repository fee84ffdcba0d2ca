"""The module registry (issue #20): every domain declared once in gongzhi.modules, and nothing a
domain adds left undeclared — a tenant table, a policy resource, a node type — nor a table without
row-level security or without tenant_id in its keys."""

from __future__ import annotations

import dataclasses

from sqlalchemy import text

from gongzhi.modules import MODULES, build_schema, schema
from gongzhi.modules.consistency import node_problems, resource_problems, table_problems
from models import Case
from tests.support.harness import KEYLESS_TABLES, DbEnv


def test_every_tenant_table_belongs_to_exactly_one_module() -> None:
    assert table_problems(MODULES) == []


def test_a_table_no_module_declares_is_found() -> None:
    cases = next(m for m in MODULES if m.name == "cases")
    without = [dataclasses.replace(m, tables=tuple(t for t in m.tables if t is not Case)) if m is cases else m
               for m in MODULES]
    assert table_problems(without) == ["table cases belongs to no module"]
    twice = table_problems([*MODULES, cases])
    assert twice and all("declared by 2 modules" in p for p in twice)


def test_every_policy_resource_is_owned_and_used() -> None:
    assert resource_problems(MODULES) == []


def test_a_resource_without_lines_or_owner_is_found() -> None:
    first = dataclasses.replace(MODULES[0], resources=(*MODULES[0].resources, "rocket"))
    assert resource_problems([first, *MODULES[1:]]) == [
        "module register owns policy resource 'rocket' that no line uses"]
    rules = [("p", "street_admin", "ufo", "read", "all")]
    assert "policy resource 'ufo' has lines but no module owns it" in resource_problems(MODULES, rules)


def test_every_node_type_resolves_through_its_module() -> None:
    assert node_problems(MODULES, schema()._schema) == []


def test_a_node_type_without_resolver_is_found() -> None:
    cases = next(m for m in MODULES if m.name == "cases")
    nodes = {k: v for k, v in cases.schema.nodes.items() if k != "CaseReview"}
    broken = [dataclasses.replace(m, schema=dataclasses.replace(m.schema, nodes=nodes)) if m is cases else m
              for m in MODULES]
    assert node_problems(broken, schema()._schema) == [
        "node type CaseReview implements Node but node(id:) cannot resolve it"]


def test_modules_have_distinct_names_and_the_schema_is_built_from_them() -> None:
    names = [m.name for m in MODULES]
    assert len(names) == len(set(names))
    built = build_schema()
    assert set(built.node_resolvers) == {n for m in MODULES for n in m.schema.nodes}
    assert built.as_str() == schema().as_str()


async def test_every_declared_table_has_forced_rls_and_tenant_id_in_its_primary_key(db: DbEnv) -> None:
    tables = sorted({t.__tablename__ for m in MODULES for t in m.tables})
    for t in (t for m in MODULES for t in m.tables):
        if t.__tablename__ in KEYLESS_TABLES:  # no key: tenant_id leads each of its indexes, and it has one
            indexes = t.__table__.indexes
            assert indexes and all(ix.columns[0].name == "tenant_id" for ix in indexes), t.__tablename__
            assert not t.__table__.primary_key.columns, t.__tablename__
            continue
        assert t.__table__.c.tenant_id.primary_key, f"{t.__tablename__}: tenant_id not in the primary key"
    if not db.is_pg:
        return
    async with db.owner_engine.connect() as conn:
        rows = dict((await conn.execute(text(
            "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class "
            "WHERE relkind = 'r' AND relname = ANY(:names)"), {"names": tables})).all())
    assert set(rows) == set(tables)
    assert [t for t, forced in rows.items() if not forced] == []
