"""The house: generic top-level package names come from this repository, and layers point down only."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ["models", "tenants", "policies", "resolvers", "schema", "compiled", "gongzhi"]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_is_imported_from_this_repository(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    path = Path(module.__file__).resolve()
    assert path.is_relative_to(REPO), f"{name} imported from {path}, not from {REPO}"
    assert path == REPO / name / "__init__.py"


def test_layers_point_down_only() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.exists(), f"import-linter is not installed next to {sys.executable}"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=REPO, capture_output=True, text=True,
                            timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "BROKEN" not in output
    assert "Layers point down only KEPT" in output


def test_composition_root_is_split_by_concern() -> None:
    """gongzhi/ holds at most ten top-level modules; the rest lives in http/, cli/, demo/ and ops/."""
    top = sorted(p.name for p in (REPO / "gongzhi").glob("*.py"))
    assert len(top) <= 10, top
    for concern in ("http", "cli", "demo", "ops"):
        assert (REPO / "gongzhi" / concern / "__init__.py").exists(), concern
