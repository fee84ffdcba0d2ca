"""The house: generic top-level package names come from this repository, and layers point down only."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

PACKAGES = ["models", "tenants", "policies", "resolvers", "schema", "compiled", "gongzhi"]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_is_imported_from_this_repository(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    path = Path(module.__file__).resolve()
    assert path.is_relative_to(ROOT), f"{name} imported from {path}, not from {ROOT}"
    assert path == ROOT / name / "__init__.py"


def test_layers_point_down_only() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.exists(), f"import-linter is not installed next to {sys.executable}"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "BROKEN" not in output
    assert "Layers point down only KEPT" in output


def test_composition_root_is_split_by_concern() -> None:
    """gongzhi/ holds at most ten top-level modules; the rest lives in http/, cli/, demo/ and ops/."""
    top = sorted(p.name for p in (ROOT / "gongzhi").glob("*.py"))
    assert len(top) <= 10, top
    for concern in ("http", "cli", "demo", "ops"):
        assert (ROOT / "gongzhi" / concern / "__init__.py").exists(), concern


def test_no_module_over_600_lines_outside_migrations_tests_and_bench() -> None:
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    files = [f for f in tracked.stdout.split() if f.split("/", 1)[0] not in ("migrations", "tests", "bench")]
    assert files
    long = {f: n for f in files if (n := len((ROOT / f).read_text(encoding="utf-8").splitlines())) > 600}
    assert long == {}


def test_every_domain_package_has_an_import_contract() -> None:
    """A domain under resolvers/, schema/ or policies/ is reached only through its public module:
    pyproject.toml has a protected contract for it, which test_layers_point_down_only runs."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    protected = {m for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "protected"
                 for m in c["protected_modules"]}
    packages = {f"{layer}.{p.name}.*" for layer in ("resolvers", "schema", "policies")
                for p in (ROOT / layer).iterdir() if (p / "__init__.py").exists()}
    assert packages and packages <= protected, sorted(packages - protected)


def test_the_image_copies_and_byte_compiles_every_package() -> None:
    """The Dockerfile names its source folders one by one: a package it leaves out is loaded from the
    venv's copy (site-packages) instead of the source tree — compiled/ was, until 2026-12-05."""
    packages = PACKAGES
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    copied = {line.split()[1] for line in lines if line.startswith("COPY ") and "--from" not in line}
    compiled = next(line for line in lines if "compileall" in line).split()
    assert packages and set(packages) <= copied, set(packages) - copied
    assert set(packages) <= set(compiled), set(packages) - set(compiled)
