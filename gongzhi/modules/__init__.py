"""The domains gongzhi is made of, each declared once (``Module``), and what the composition root
builds from them: the GraphQL schema, a new tenant's policy and defaults, the periodic jobs and
checks, and the demo. Adding a domain is a folder per layer it needs (``models/<d>.py``, ``policies/<d>/``,
``resolvers/<d>/``, ``schema/<d>/``, ``gongzhi/demo/<d>.py``), its declaration
``gongzhi/modules/<d>.py``, and one line in ``MODULES`` below; ``tests/gongzhi/test_modules.py``
fails when a part is not declared (a table, a policy resource, a node type).
"""

from __future__ import annotations

from functools import cache

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.jobs import Check, Job
from gongzhi.modules.declaration import Demo, Module, PartnerNeed
from models import Tenant
from policies.enforcer import rules_for_domain
from schema.schema import Schema
from schema.schema import build_schema as _build_schema
from tenants.provisioning import FirstAdmin, provision_tenant

from . import access, audit, care, cases, cobuilding, deliberation, evaluations, ledgers, register, volunteering

# In this order the root fields are merged (Query, Mutation, Subscription) and the demo is seeded.
MODULES: tuple[Module, ...] = (
    register.MODULE,
    cases.MODULE,
    deliberation.MODULE,
    care.MODULE,
    volunteering.MODULE,
    evaluations.MODULE,
    access.MODULE,
    cobuilding.MODULE,
    ledgers.MODULE,
    audit.MODULE,
)


def build_schema(*, introspection: bool = True) -> Schema:
    """The GraphQL schema of every module (production: without introspection)."""
    return _build_schema([m.schema for m in MODULES], introspection=introspection)


@cache
def schema() -> Schema:
    """The schema with introspection, built once (SDL export, tools, tests)."""
    return build_schema()


@cache
def partner_surface() -> dict[str, PartnerNeed]:
    """Every root field a partner unit's system may use, with what it needs of its agreements."""
    surface: dict[str, PartnerNeed] = {}
    for m in MODULES:
        surface.update(m.partner)
    return surface


def jobs() -> tuple[Job, ...]:
    return tuple(job for m in MODULES for job in m.jobs)


def checks() -> tuple[Check, ...]:
    return tuple(check for m in MODULES for check in m.checks)


def demo_seeders() -> tuple[Demo, ...]:
    return tuple(m.demo for m in MODULES if m.demo is not None)


async def provision(sessionmaker: async_sessionmaker[AsyncSession], *, slug: str, name: str,
                    admin: FirstAdmin | None = None) -> Tenant:
    """A new tenant with the default policy and every module's defaults (and its first street admin)."""
    return await provision_tenant(sessionmaker, slug=slug, name=name, policy_rules=rules_for_domain,
                                  defaults=[m.defaults for m in MODULES if m.defaults is not None], admin=admin)


__all__ = ["MODULES", "Check", "Demo", "FirstAdmin", "Job", "Module", "PartnerNeed", "build_schema", "checks",
           "demo_seeders", "jobs", "partner_surface", "provision", "schema"]
