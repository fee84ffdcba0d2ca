"""bench.pgsplit's pure parts: a report found in a PostgreSQL log, its parameters, the write's WITH parts and the
variants made of them (the replay itself needs PostgreSQL on this machine: bench/RESULTS.md, h-op4 eighth)."""

from __future__ import annotations

from bench.pgsplit import last_report, log_entries, params, shadow_sql, variant_sql, write_parts

APP = "2026-12-06 20:27:20.575 UTC [8623] gongzhi_bench_app@gongzhi_x_s01"
WRITE = ("WITH w0 AS (SELECT true AS ok FROM (SELECT $1::text AS k) c WHERE c.k IS NOT NULL), "
         "w1 AS (INSERT INTO cases (id) VALUES ((SELECT $2::uuid FROM w0))), "
         "w2 AS (INSERT INTO case_events (id) VALUES ((SELECT $3::uuid FROM w0))), "
         "w3 AS (INSERT INTO case_stages (id) VALUES ((SELECT $4::uuid FROM w0))), "
         "audit AS (INSERT INTO audit_log (id) VALUES ((SELECT $5::uuid FROM w0))) "
         "SELECT count(*) FROM (SELECT pg_notify($6, p) FROM unnest($7::text[]) AS n(p)) notified LIMIT 0")
LOG = "\n".join([
    f"{APP} LOG:  execute <unnamed>: BEGIN",
    f"{APP} LOG:  execute __asyncpg_stmt_1__: SELECT t.id FROM tenants t",
    "\tWHERE t.slug = $1",
    f"{APP} DETAIL:  parameters: $1 = 'bench-01'",
    "2026-12-06 20:27:20.576 UTC [9999] postgres@gongzhi_x_s01 LOG:  execute s: SELECT 1",
    f"{APP} LOG:  execute __asyncpg_stmt_2__: {WRITE}",
    f"{APP} DETAIL:  parameters: $1 = 'it''s', $2 = NULL, $3 = 'a', $4 = 'b', $5 = 'c', $6 = 'ch', $7 = '{{}}'",
    f"{APP} LOG:  execute <unnamed>: COMMIT",
    f"{APP} LOG:  execute __asyncpg_stmt_3__: SELECT count(*) FROM (SELECT pg_notify($1, p)) n",
    f"{APP} DETAIL:  parameters: $1 = 'gongzhi_events'",
])


def test_the_last_report_of_the_app_role_is_found_with_its_parameters() -> None:
    entries = log_entries(LOG)
    assert [e["sql"].split()[0] for e in entries] == ["BEGIN", "SELECT", "WITH", "COMMIT", "SELECT"]  # not postgres'
    report = last_report(entries)
    assert report["first"]["sql"] == "SELECT t.id FROM tenants t\n\tWHERE t.slug = $1"
    assert params(report["write"]["params"]) == ["it's", None, "a", "b", "c", "ch", "{}"]
    assert params(report["notify"]["params"]) == ["gongzhi_events"]


def test_the_writes_parts_and_variants_keep_every_parameter() -> None:
    parts = write_parts(WRITE)
    assert list(parts) == ["w0", "w1", "w2", "w3", "audit"]
    assert parts["w1"] == "INSERT INTO cases (id) VALUES ((SELECT $2::uuid FROM w0))"
    types = ["text", "uuid", "uuid", "uuid", "uuid", "text", "text[]"]
    checks = variant_sql(WRITE, "w0", types, None)
    assert checks.startswith("WITH w0 AS (SELECT true AS ok") and "INSERT" not in checks
    assert all(f"${i}::{t}" in checks for i, t in enumerate(types, 1))
    assert variant_sql(WRITE, "all", types, None) == WRITE
    shadow = variant_sql(WRITE, "all", types, "nofk")
    assert shadow.count("INSERT INTO cases__nofk (") == 1 and "INSERT INTO audit_log__nofk (" in shadow
    assert "FROM w0" in variant_sql(WRITE, "w0,w1", types, None) and "case_events" not in variant_sql(
        WRITE, "w0,w1", types, None)


def test_a_shadow_set_leaves_out_only_what_it_names() -> None:
    full = shadow_sql("all", "t")
    assert full.count("ADD FOREIGN KEY") == 11 and full.count("CREATE POLICY") == 4
    assert "REFERENCES cases__all(tenant_id, id)" in full
    assert shadow_sql("nofk", "t", fk=False).count("ADD FOREIGN KEY") == 0
    assert shadow_sql("notenfk", "t", tenant_fk=False).count("REFERENCES tenants") == 1  # cases' own
    assert "CREATE POLICY" not in shadow_sql("norls", "t", rls=False)
    pk = shadow_sql("pkc", "t", pk_only=("cases",))
    assert "CREATE TABLE cases__pkc (LIKE cases INCLUDING DEFAULTS" in pk and "LIKE case_events INCLUDING ALL" in pk
