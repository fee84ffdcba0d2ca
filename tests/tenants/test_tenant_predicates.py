"""The statement checker of the suite (tests/support/tenant_predicates.py, issue #27) finds a tenant
table read without its own tenant_id value — RLS only, or a join column only — and lets the forms the
app sends through. The checker itself runs over every statement of the suite (tests/conftest.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import tenant_predicates
from tests.support.tenant_predicates import (
    CACHE_ROOT,
    CHECKER,
    TENANT_TABLES,
    Checker,
    cache_dir,
    cache_key,
    problems,
    shape_of,
)

T = "'01a24468-b07e-715c-ad06-a842b8e8a8f5'"

GOOD = [
    "SELECT cases.id FROM cases WHERE cases.tenant_id = $1::UUID AND cases.id = $2::UUID",
    f"SELECT a.id FROM areas AS a JOIN grid_buildings AS gb ON gb.tenant_id = a.tenant_id AND gb.grid_id = a.id "
    f"WHERE gb.tenant_id = {T} AND a.tenant_id = {T}",
    "UPDATE cases SET version=$1::INTEGER WHERE cases.tenant_id = $2::UUID AND cases.id = $3::UUID",
    "DELETE FROM casbin_rules WHERE tenant_id = :t AND v0 = :r",
    "INSERT INTO cases (tenant_id, id) VALUES ($1::UUID, $2::UUID)",
    "SELECT p.id FROM persons p WHERE p.tenant_id = ANY($1) OR p.tenant_id IN ($2, $3)",
    "SELECT x.n FROM (SELECT cases.number AS n FROM cases WHERE cases.tenant_id = $1) AS x",
    "SELECT areas.id FROM areas WHERE false",
    "SELECT t.id FROM tenants t WHERE t.slug = $1",  # a platform table
    "SELECT ra.id FROM role_assignments ra, areas a "
    "WHERE ra.tenant_id = $1 AND a.tenant_id = $1 AND a.id = ra.scope_area_id",
]
BAD = [
    ("SELECT cases.id FROM cases WHERE cases.id = $1", ["cases"]),  # row-level security only
    ("SELECT c.path FROM areas c WHERE c.tenant_id = b.tenant_id AND c.kind = 'compound'", ["areas AS c"]),
    (f"SELECT a.id FROM areas AS a JOIN grid_buildings AS gb ON gb.tenant_id = a.tenant_id WHERE gb.tenant_id = {T}",
     ["areas AS a"]),
    ("UPDATE cases SET tenant_id = $1 WHERE id = $2", ["cases"]),  # an assignment is not a predicate
    ("SELECT m.id FROM members m WHERE m.tenant_id = $1 AND EXISTS (SELECT 1 FROM persons p WHERE p.id = m.person_id)",
     ["persons AS p"]),
    # the alias of a subquery is not the outer query's
    ("SELECT a.id FROM areas a WHERE a.id IN (SELECT a.id FROM areas a WHERE a.kind = 'grid') AND a.tenant_id = $1",
     ["areas AS a"]),
    ("SELECT ra.id FROM role_assignments ra, areas a WHERE ra.tenant_id = $1 AND a.id = ra.scope_area_id",
     ["areas AS a"]),
    ("INSERT INTO cases (tenant_id, id) SELECT tenant_id, id FROM cases WHERE id = $1", ["cases"]),
]


@pytest.mark.parametrize("sql", GOOD)
def test_statements_that_name_their_tenant_pass(sql: str) -> None:
    assert problems(sql) == []


@pytest.mark.parametrize(("sql", "missing"), BAD)
def test_a_table_without_its_own_tenant_value_is_found(sql: str, missing: list[str]) -> None:
    assert [p.split(" at «")[0] for p in problems(sql)] == missing


def test_the_tables_come_from_the_models() -> None:
    assert {"cases", "areas", "persons", "audit_log", "casbin_rules"} <= TENANT_TABLES
    assert not {"tenants", "users", "platform_calendar_days"} & TENANT_TABLES


def test_a_statement_is_checked_once_per_shape() -> None:
    checker = Checker()
    sql = "SELECT cases.id FROM cases WHERE cases.tenant_id = '{}' AND cases.id = $1"
    t0 = time.thread_time()  # this thread's CPU: a busy machine's delays are not the checker's
    for i in range(2000):
        checker.check(sql.format(f"01a24468-b07e-715c-ad06-{i:012d}"))
    assert len(checker.verdicts) == 1 and not checker.violations
    assert time.thread_time() - t0 < 1.0


def test_verdicts_are_kept_for_the_next_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CI time (issue #21): a process reads the verdicts others worked out and tokenizes none of those
    shapes again — a fault found stays found; an unreadable file is passed over."""
    first = Checker()
    bad, good = BAD[0][0], GOOD[1]
    first.check(bad)
    first.check(good)
    assert first.verdicts[bad] and first.save(tmp_path) is not None
    (tmp_path / "broken.json").write_text("{not json")
    second = Checker()
    second.load(tmp_path)
    monkeypatch.setattr(Checker, "_verdict", staticmethod(lambda sql: pytest.fail(f"tokenized again: {sql}")))
    second.check(bad)
    second.check(good.replace("01a24468", "11a24468"))  # another literal, the same shape
    assert second.from_kept == 2 and second.verdicts == first.verdicts
    assert second.save(tmp_path / "next") is None  # nothing new worked out: no file


def test_the_scope_cte_names_of_a_run_are_not_part_of_the_shape() -> None:
    """policies.filters names a scope's CTE by its paths' digest (this run's ids): numbered in the shape one
    to one, so a read has one shape in every run and two CTEs of one statement stay two."""
    read = ("WITH scope_{0}_0 AS (SELECT a.id FROM areas a WHERE a.tenant_id = $1), scope_{1}_0 AS "
            "(SELECT b.id FROM areas b WHERE b.tenant_id = $1) SELECT x.id FROM scope_{0}_0 x, scope_{1}_0 y")
    one = shape_of(read.format("4008416e9652954f", "634dd0ca45c87fba"))
    assert one == shape_of(read.format("7e98b6bc8db053da", "4afe5be903701997"))
    assert "scope_cte0" in one and "scope_cte1" in one
    assert one != shape_of(read.format("4008416e9652954f", "4008416e9652954f"))


def test_kept_verdicts_are_keyed_by_the_checker_and_the_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = cache_dir()
    assert kept is not None and kept.name == cache_key() and kept.parent == CACHE_ROOT
    monkeypatch.setattr(tenant_predicates, "TENANT_TABLES", TENANT_TABLES | {"a_new_table"})
    assert cache_key() != kept.name
    monkeypatch.setenv("GONGZHI_TENANT_PREDICATES_CACHE", "0")
    assert cache_dir() is None


def test_the_suite_checker_is_installed() -> None:
    assert CHECKER.statements >= 0 and isinstance(CHECKER.verdicts, dict)


def _function_statements(migration: str) -> list[str]:
    """The SELECTs of gongzhi_request_actor as a migration defines it, its parameter p_tenant as $1."""
    import importlib.util

    from tests.support.paths import ROOT

    path = next((ROOT / "migrations" / "versions").glob(f"{migration}_*.py"))
    spec = importlib.util.spec_from_file_location(f"m{migration}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    body = str(module.FUNCTION).split("$fn$")[1].replace("p_tenant", "$1")
    return [s.strip() for s in body.split(";") if s.strip().startswith("SELECT")]


def test_the_request_actor_function_names_its_tenant_in_every_read() -> None:
    """Its statements run inside the database, out of the hook's sight: checked on its text. Before
    0034 its joins named the tenant through join columns only; the compound lookup's ``c.tenant_id =
    b.tenant_id`` sent it to every shard on every request."""
    new = _function_statements("0034")
    assert len(new) == 2 and all(problems(s) == [] for s in new), [problems(s) for s in new]
    newest = _function_statements("0048")  # the compound by the building path's prefixes (issue #21)
    assert len(newest) == 2 and all(problems(s) == [] for s in newest), [problems(s) for s in newest]
    kept = _function_statements("0055")  # read only when not kept (issue #21)
    assert len(kept) == 2 and all(problems(s) == [] for s in kept), [problems(s) for s in kept]
    old = _function_statements("0025")
    assert {p.split(" at «")[0] for s in old for p in problems(s)} == {
        "areas AS a", "areas AS c", "persons AS p", "households AS h", "areas AS b"}
