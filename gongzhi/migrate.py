"""Running Alembic from code (the CLI, the tests, /readyz).

Alembic is imported when it is used, not with this module: the app needs only the head revision
(/readyz), and importing Alembic (with Mako and Pygments, which it imports) was ≈ 0.1 s of a
server's start-up CPU (issue #21).
"""

from __future__ import annotations

import ast
import asyncio
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from gongzhi.settings import ROOT

if TYPE_CHECKING:
    from alembic.config import Config

# A revision file's own lines: `revision: str = "0046_perf2"`, `down_revision: … = ("0021", "0019_ledgers")`.
_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config(url: str | None = None, app_role: str | None = None) -> Config:
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        cfg.attributes["url"] = url
    if app_role:
        cfg.attributes["app_role"] = app_role
    return cfg


@cache
def head_revision() -> str | None:
    """The newest migration's revision: read from the revision files' own lines when they name one
    head, else (anything unusual: no file, a line not a literal, several heads) asked of Alembic,
    which then answers or raises as it always did. ``tests/gongzhi/test_migrate.py`` holds the two equal."""
    return _head_from_files() or alembic_head_revision()


def alembic_head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _head_from_files(versions: Path = ROOT / "migrations" / "versions") -> str | None:
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        found = dict(_LINE.findall(path.read_text(encoding="utf-8")))
        try:
            revision = ast.literal_eval(found["revision"])
            down = ast.literal_eval(found["down_revision"])
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple) and all(isinstance(d, str) for d in down):
            parents.update(down)
        elif down is not None:
            return None
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def upgrade(url: str, app_role: str = "gongzhi_app", revision: str = "head") -> None:
    """Build or upgrade a database to ``revision`` (as its owner)."""
    from alembic import command

    command.upgrade(alembic_config(url, app_role), revision)


async def upgrade_async(url: str, app_role: str = "gongzhi_app") -> None:
    await asyncio.to_thread(upgrade, url, app_role)
