"""The head revision /readyz compares with the database's (issue #21): read from the revision files
without importing Alembic, it must be Alembic's own answer, and defer to Alembic when it is unsure."""

from __future__ import annotations

from pathlib import Path

from gongzhi.migrate import _head_from_files, alembic_head_revision, head_revision


def _revision(d: Path, name: str, down: str) -> None:
    (d / f"{name}.py").write_text(f'"""{name}"""\n\nrevision: str = "{name}"\ndown_revision: str | None = {down}\n'
                                  f"branch_labels = None\n", encoding="utf-8")


def test_the_files_head_is_alembics_head() -> None:
    assert _head_from_files() is not None
    assert head_revision() == _head_from_files() == alembic_head_revision()


def test_branches_merged_have_one_head(tmp_path: Path) -> None:
    _revision(tmp_path, "a", "None")
    _revision(tmp_path, "b", '"a"')
    _revision(tmp_path, "c", '"a"')
    _revision(tmp_path, "d", '("b", "c")')
    assert _head_from_files(tmp_path) == "d"


def test_unsure_means_none_so_alembic_answers(tmp_path: Path) -> None:
    _revision(tmp_path, "a", "None")
    _revision(tmp_path, "b", '"a"')
    _revision(tmp_path, "c", '"a"')
    assert _head_from_files(tmp_path) is None  # two heads: Alembic raises on that, as before
    (tmp_path / "c.py").unlink()
    assert _head_from_files(tmp_path) == "b"
    (tmp_path / "odd.py").write_text('revision = make_name()\ndown_revision = "b"\n', encoding="utf-8")
    assert _head_from_files(tmp_path) is None  # not a literal
    (tmp_path / "odd.py").write_text('"""no revision line"""\n', encoding="utf-8")
    assert _head_from_files(tmp_path) is None
