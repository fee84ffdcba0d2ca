"""The embedded demo: the four street offices of DESIGN.md §7 (``specs``), their register and users
(``streets``), and each domain's demo records driven through the real services (``cases``, …).

``SEEDERS`` is the order ``gongzhi seed-demo`` runs them in: the register first, then each domain.
Every seeder is idempotent (a second run adds nothing) and returns what it created.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .care import seed_demo_care
from .cases import seed_demo_cases
from .cobuilding import seed_demo_cobuilding
from .deliberation import seed_demo_deliberation
from .streets import demo_users, seed_demo
from .volunteering import seed_demo_volunteering

Seeder = Callable[[async_sessionmaker[AsyncSession]], Awaitable[list[str]]]

# (label printed by the CLI, separator, seeder): the register first; the domains after it.
SEEDERS: tuple[tuple[str, str, Seeder], ...] = (
    ("demo cases", ", ", seed_demo_cases),
    ("demo volunteering and ratings", ", ", seed_demo_volunteering),
    ("demo care", ", ", seed_demo_care),
    ("demo deliberation", ", ", seed_demo_deliberation),
    ("demo co-building", "; ", seed_demo_cobuilding),
)

__all__ = ["SEEDERS", "demo_users", "seed_demo"]
