"""Running Alembic from code (the CLI, the tests, /readyz)."""

from __future__ import annotations

import asyncio
from functools import cache

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from gongzhi.settings import ROOT


def alembic_config(url: str | None = None, app_role: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        cfg.attributes["url"] = url
    if app_role:
        cfg.attributes["app_role"] = app_role
    return cfg


@cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(url: str, app_role: str = "gongzhi_app", revision: str = "head") -> None:
    """Build or upgrade a database to ``revision`` (as its owner)."""
    command.upgrade(alembic_config(url, app_role), revision)


async def upgrade_async(url: str, app_role: str = "gongzhi_app") -> None:
    await asyncio.to_thread(upgrade, url, app_role)
