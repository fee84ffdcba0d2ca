"""The tenant of a transaction is set with ``SET LOCAL`` only (issue #27): Citus propagates ``SET
LOCAL`` to its workers and never a ``set_config`` call, so a ``set_config`` on the tenant setting would
leave the shards' row-level security without a tenant — silently (empty answers, 0 rows updated). The
scan covers every Python file of the repository (the app, the migrations, the tests and their support,
the demo, the CLI, the benchmarks) and every SQL file."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from tenants.rls import set_tenant_sql, tenant_text
from tests.support.paths import ROOT

SKIP_DIRS = {".venv", ".git", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache", "var"}
# Exempt, with the reason: the benchmark's hand-written SQL for its peers (pgbench scripts, run by
# bench/compare.py on plain PostgreSQL only) — not gongzhi's code; their settings go in one statement
# on purpose, since the comparison counts round trips.
EXEMPT = {Path("bench/ops/sql")}
# A set_config call and its first argument. Allowed: a literal name of another setting (the request's
# statement_timeout, lock_timeout), or of the app's own bookkeeping settings under ``gongzhi.`` (migration
# 0055's gongzhi.actor_changed). Anything else — the tenant setting, another ``app.`` name, or a name that is
# not a plain literal (it could be the tenant's) — is a finding.
CALL = re.compile(r"set_config\s*\(\s*([^,)]*)", re.IGNORECASE)
ALLOWED_FIRST = re.compile(r"""^(['"])(gongzhi\.)?(?!app\.)[a-z_]+\1$""")


def findings(text: str) -> list[str]:
    out = []
    for m in CALL.finditer(text):
        first = m.group(1).strip()
        if not ALLOWED_FIRST.match(first):
            out.append(text[m.start():m.end() + 40].splitlines()[0])
    return out


def sources() -> list[Path]:
    files = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if path.suffix in (".py", ".sql") and not SKIP_DIRS.intersection(rel.parts) \
                and not any(rel.is_relative_to(e) for e in EXEMPT):
            files.append(path)
    return files


def test_no_code_sets_the_tenant_with_set_config() -> None:
    files = sources()
    assert any(p.parts[-3:-1] == ("migrations", "versions") for p in files)  # the migrations are scanned
    assert ROOT / "tenants" / "session.py" in files
    found = {str(p.relative_to(ROOT)): f for p in files if p != Path(__file__) and (f := findings(p.read_text()))}
    assert not found, f"set_config on the tenant setting (use tenants.rls.set_tenant_sql): {found}"


@pytest.mark.parametrize("text", [
    "SELECT set_config('app.tenant_id', :t, true)",
    'conn.execute("SELECT set_config(\'app.tenant_id\', $1, true)", tid)',
    "PERFORM set_config('app.tenant_id', p_tenant::text, true), set_config('jit', 'off', true);",
    "SELECT set_config(:name, :t, true)",
    'text("SELECT SET_CONFIG( \\"app.tenant_id\\", :t, true)")',
])
def test_the_scan_finds_a_set_config_on_the_tenant(text: str) -> None:
    assert findings(text)


def test_the_scan_lets_other_settings_through() -> None:
    assert not findings("SELECT set_config('statement_timeout', $4, true), set_config('lock_timeout', $5, true)")
    assert not findings("PERFORM set_config('gongzhi.actor_changed', t::text, true);")
    assert findings("PERFORM set_config('app.actor_changed', t::text, true);")
    assert findings("PERFORM set_config('gongzhi.app.tenant_id', t::text, true);")


def test_the_tenant_is_set_with_set_local_of_a_parsed_uuid() -> None:
    tid = uuid.uuid4()
    assert set_tenant_sql(tid) == f"SET LOCAL app.tenant_id = '{tid}'"
    assert set_tenant_sql(str(tid).upper()) == f"SET LOCAL app.tenant_id = '{tid}'"  # canonical text
    assert set_tenant_sql(None) == "SET LOCAL app.tenant_id = ''"
    for bad in ("x", f"{tid}'; RESET ROLE; --", "", 42, b"\x00" * 16):
        with pytest.raises(ValueError):
            tenant_text(bad)
