"""The embedded demo: the four street offices of DESIGN.md §7 (``specs``), their register and users
(``streets``), and each domain's demo records driven through the real services (``cases``, …).

Each domain's declaration (``gongzhi.modules``) names its seeder; ``gongzhi seed-demo`` runs them in
module order. Every seeder is idempotent (a second run adds nothing) and returns what it created.
"""

from __future__ import annotations

from .care import seed_demo_care
from .cases import seed_demo_cases
from .cobuilding import seed_demo_cobuilding
from .deliberation import seed_demo_deliberation
from .organisations import seed_demo_organisations
from .streets import demo_users, seed_demo
from .volunteering import seed_demo_volunteering

__all__ = [
    "demo_users",
    "seed_demo",
    "seed_demo_care",
    "seed_demo_cases",
    "seed_demo_cobuilding",
    "seed_demo_deliberation",
    "seed_demo_organisations",
    "seed_demo_volunteering",
]
