"""``Module``: everything one domain adds to gongzhi, named in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gongzhi.jobs import Check, Job
from models.base import TenantScoped
from schema.parts import SchemaParts
from tenants.provisioning import DomainDefaults


@dataclass(frozen=True)
class Demo:
    """The domain's demo seeder (idempotent; returns what it created) and how the CLI prints it."""

    label: str
    seed: Callable[[async_sessionmaker[AsyncSession]], Awaitable[list[str]]]
    separator: str = ", "
    nothing: str | None = None  # printed when it created nothing (else: silence)


# What a root field needs of a partner unit's agreements in force: a (resource, action) grant, or
# None when the field serves partner systems whatever their agreements say (their own records).
PartnerNeed = tuple[str, str] | None


@dataclass(frozen=True)
class Module:
    """One domain: its tables (``models``), the Casbin resources its policy lines speak of
    (``policies/<name>/policy.csv``), its part of the GraphQL schema, what a new tenant gets,
    its periodic jobs, its platform-wide checks and its demo seeder."""

    name: str
    tables: tuple[type[TenantScoped], ...]
    resources: tuple[str, ...]
    schema: SchemaParts
    defaults: DomainDefaults | None = None
    jobs: tuple[Job, ...] = ()
    checks: tuple[Check, ...] = ()
    demo: Demo | None = None
    # The root fields (queries and mutations) a partner unit's API client may use, and what each needs
    # of its agreements (issue #24/#25: anything else is refused with FORBIDDEN, never an empty answer).
    partner: Mapping[str, PartnerNeed] = field(default_factory=dict)
