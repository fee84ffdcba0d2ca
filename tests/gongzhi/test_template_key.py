"""The test databases are copies of a migrated template named by a hash of what an upgrade reads
(tests/support/templates.py): a repository module an upgrade imports but the hash leaves out could change
the schema it builds while every run keeps copying the old template. Checked by following the imports of
the migrations, their env and gongzhi.migrate through the repository."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT
from tests.support.templates import _files

_PACKAGES = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}


def _module_file(name: str) -> Path | None:
    if name.split(".")[0] not in _PACKAGES:
        return None  # a library's
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(path: Path) -> set[Path]:
    found: set[Path] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # the package's __init__ runs too
                if (f := _module_file(".".join(parts[:i]))) is not None:
                    found.add(f)
    return found


def test_the_template_key_covers_every_module_an_upgrade_imports() -> None:
    start = [*(ROOT / "migrations").rglob("*.py"), ROOT / "gongzhi" / "migrate.py"]
    seen: set[Path] = set()
    todo = list(start)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(_imports(path) - seen)
    hashed = set(_files())
    # Package __init__ files of gongzhi and tenants run, but hold no schema (checked: they only import).
    missing = sorted(str(p.relative_to(ROOT)) for p in seen - hashed
                     if p.name != "__init__.py" or p.parent.name == "models")
    assert not missing, f"imported by an upgrade but not in the template key: {missing}"
