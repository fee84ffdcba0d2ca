"""Provisioning a tenant (street office): its row, the root of its area tree, its default policy
lines and each domain's defaults (categories, SLA rules, care tags, points rule, rating items …).

What a tenant gets is handed in by the caller — the composition root (``gongzhi.modules``) names
each domain's ``DomainDefaults`` below and builds the policy lines — so this layer neither lists the
domains nor reaches up into policies/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import (
    Area,
    AreaKind,
    CareSettings,
    CareTagKind,
    CasbinRule,
    CaseCategory,
    CasePriority,
    CaseSettings,
    CaseStageKind,
    CaseStageLimit,
    CaseWorkflowSettings,
    EvaluationItem,
    EvaluationTarget,
    Member,
    RoleAssignment,
    SlaRule,
    SlaUnit,
    Tenant,
    UrgencyTier,
    User,
    VolunteerSettings,
    account_id_for_subject,
    path_segment,
    uuid7,
)
from tenants.session import bind_tenant

DEFAULT_POINTS_PER_HOUR = 10  # 1 confirmed volunteer hour = 10 points (a tenant may change its rule)
# (target, code, name, weight): weights of a target sum to 100.
DEFAULT_EVALUATION_ITEMS: tuple[tuple[EvaluationTarget, str, str, int], ...] = (
    (EvaluationTarget.PROPERTY_FIRM, "cleanliness", "环境卫生", 30),
    (EvaluationTarget.PROPERTY_FIRM, "security", "秩序安全", 25),
    (EvaluationTarget.PROPERTY_FIRM, "repairs", "维修养护", 25),
    (EvaluationTarget.PROPERTY_FIRM, "attitude", "服务态度", 20),
    (EvaluationTarget.OWNER_COMMITTEE, "duties", "履职尽责", 40),
    (EvaluationTarget.OWNER_COMMITTEE, "transparency", "公开透明", 30),
    (EvaluationTarget.OWNER_COMMITTEE, "liaison", "沟通协调", 30),
)



SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,62}$")

DEFAULT_CARE_TAGS: tuple[tuple[str, str], ...] = (
    ("living_alone", "独居老人"),
    ("empty_nest", "空巢老人"),
    ("disabled", "残疾人"),
    ("child_in_difficulty", "困境儿童"),
    ("bereaved_family", "失独家庭"),
    ("veteran", "退役军人"),
    ("low_income", "低保户"),
    ("serious_illness", "重病患者"),
)

DEFAULT_CASE_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("drainage", "管道堵塞/污水外溢"),
    ("fly_wire", "飞线充电"),
    ("garbage", "垃圾清运"),
    ("lighting", "路灯照明"),
    ("parking", "车辆乱停"),
    ("noise", "噪音扰民"),
    ("dispute", "邻里纠纷"),
    ("facility", "公共设施损坏"),
    ("safety", "安全隐患"),
    ("greening", "绿化养护"),
    ("other", "其他"),
)

# (category or None for the default, priority, amount, unit)
DEFAULT_SLA_RULES: tuple[tuple[str | None, CasePriority, float, SlaUnit], ...] = (
    (None, CasePriority.URGENT, 4, SlaUnit.WORKING_HOURS),
    (None, CasePriority.HIGH, 1, SlaUnit.WORKING_DAYS),
    (None, CasePriority.NORMAL, 3, SlaUnit.WORKING_DAYS),
    (None, CasePriority.LOW, 5, SlaUnit.WORKING_DAYS),
    ("drainage", CasePriority.HIGH, 8, SlaUnit.WORKING_HOURS),
    ("drainage", CasePriority.URGENT, 2, SlaUnit.WORKING_HOURS),
    ("safety", CasePriority.URGENT, 2, SlaUnit.WORKING_HOURS),
    ("fly_wire", CasePriority.HIGH, 4, SlaUnit.WORKING_HOURS),
)

# Stage limits (环节时限, issue #22; sources in docs/domains/cases.md): (stage, tier, amount, unit) for every
# category. The 处置 stage is the SLA rules above. Migration 0033_case_stages holds a frozen copy.
DEFAULT_STAGE_LIMITS: tuple[tuple[CaseStageKind, UrgencyTier, float, SlaUnit], ...] = (
    (CaseStageKind.ACCEPT, UrgencyTier.URGENT, 1, SlaUnit.WORKING_HOURS),
    (CaseStageKind.ACCEPT, UrgencyTier.EXPEDITED, 2, SlaUnit.WORKING_HOURS),
    (CaseStageKind.ACCEPT, UrgencyTier.ORDINARY, 4, SlaUnit.WORKING_HOURS),
    (CaseStageKind.DISPATCH, UrgencyTier.URGENT, 1, SlaUnit.WORKING_HOURS),
    (CaseStageKind.DISPATCH, UrgencyTier.EXPEDITED, 2, SlaUnit.WORKING_HOURS),
    (CaseStageKind.DISPATCH, UrgencyTier.ORDINARY, 4, SlaUnit.WORKING_HOURS),
    (CaseStageKind.CALLBACK, UrgencyTier.URGENT, 1, SlaUnit.CALENDAR_DAYS),
    (CaseStageKind.CALLBACK, UrgencyTier.EXPEDITED, 1, SlaUnit.WORKING_DAYS),
    (CaseStageKind.CALLBACK, UrgencyTier.ORDINARY, 1, SlaUnit.WORKING_DAYS),
)
DEFAULT_MIN_HANDLING_MINUTES = 30  # a resolution within 30 minutes of the dispatch waits for a reviewer


# What one domain adds to a new tenant, inside the provisioning transaction (tenant bound).
DomainDefaults = Callable[[AsyncSession], None]


def care_defaults(session: AsyncSession) -> None:
    """Care groups, and the visit rhythm: leads keep 5–15 households; key households weekly, all quarterly."""
    for code, label in DEFAULT_CARE_TAGS:
        session.add(CareTagKind(code=code, name=label))
    session.add(CareSettings(lead_min_households=5, lead_max_households=15, key_visit_days=7,
                             routine_visit_days=90))


def cases_defaults(session: AsyncSession) -> None:
    """Case categories, SLA rules on the working calendar, a week to give feedback."""
    for code, label in DEFAULT_CASE_CATEGORIES:
        session.add(CaseCategory(code=code, name=label, active=True))
    for category, priority, amount, unit in DEFAULT_SLA_RULES:
        session.add(SlaRule(category_code=category, priority=priority, amount=amount, unit=unit))
    session.add(CaseSettings(feedback_wait_days=7))
    for stage, tier, amount, unit in DEFAULT_STAGE_LIMITS:
        session.add(CaseStageLimit(stage=stage, tier=tier, category_code=None, amount=amount, unit=unit))
    session.add(CaseWorkflowSettings(auto_supervise_overdue=True, min_handling_minutes=DEFAULT_MIN_HANDLING_MINUTES))


def volunteering_defaults(session: AsyncSession) -> None:
    """The points rule: one confirmed volunteer hour is worth DEFAULT_POINTS_PER_HOUR points."""
    session.add(VolunteerSettings(points_per_hour=DEFAULT_POINTS_PER_HOUR))


def evaluations_defaults(session: AsyncSession) -> None:
    """The rating items of property firms and owner committees, weights summing to 100 per target."""
    for target, code, label, weight in DEFAULT_EVALUATION_ITEMS:
        session.add(EvaluationItem(target=target, code=code, name=label, weight=weight, active=True))


class ProvisioningError(ValueError):
    pass


@dataclass(frozen=True)
class FirstAdmin:
    """The new street office's first street admin (issue #23): an account of the tenant, bound to the
    identity provider's ``subject`` (or, without one, to its own id), street admin over the root."""

    username: str
    display_name: str | None = None
    subject: str | None = None


async def _first_admin(session: AsyncSession, admin: FirstAdmin, root_id: uuid.UUID, tenant_id: uuid.UUID,
                 now: datetime) -> User:
    username = admin.username.strip()
    if not username or len(username) > 64:
        raise ProvisioningError("admin username must be 1–64 characters")
    subject = admin.subject.strip() if admin.subject else None
    if subject is not None and not 0 < len(subject) <= 255:
        raise ProvisioningError("admin subject must be 1–255 characters")
    user_id = account_id_for_subject(subject) if subject else uuid7()
    user = User(id=user_id, username=username, display_name=(admin.display_name or username).strip()[:100],
                home_tenant_id=tenant_id, subject=subject or str(user_id), created_at=now)
    session.add(user)
    await session.flush()  # the account before the rows that point at it
    session.add(Member(user_id=user_id, person_id=None))
    session.add(RoleAssignment(user_id=user_id, role="street_admin", scope_area_id=root_id, firm_id=None,
                               valid_from=now, valid_until=None, granted_by=None))
    return user


async def provision_tenant(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    slug: str,
    name: str,
    policy_rules: Callable[[str], Iterable[Sequence[str]]],
    defaults: Sequence[DomainDefaults],
    admin: FirstAdmin | None = None,
) -> Tenant:
    """Create a tenant with its street root area, policies (domain = tenant id) and each domain's
    defaults, in one transaction.

    ``policy_rules(domain)`` gives the Casbin lines (ptype first) for the tenant's domain.
    """
    if not SLUG_RE.match(slug):
        raise ProvisioningError("slug must be lowercase letters, digits and dashes, 2–63 characters")
    if not name.strip() or len(name) > 100:
        raise ProvisioningError("name must be 1–100 characters")
    tenant_id = uuid7()
    async with sessionmaker() as session:
        bind_tenant(session, tenant_id)
        async with session.begin():
            exists = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
            if exists is not None:
                raise ProvisioningError(f"tenant {slug!r} exists")
            tenant = Tenant(id=tenant_id, slug=slug, name=name)
            session.add(tenant)
            await session.flush()
            root_id = uuid7()
            session.add(
                Area(id=root_id, kind=AreaKind.STREET, name=name, parent_id=None,
                     path="/" + path_segment(root_id), depth=0)
            )
            dom = str(tenant_id)
            for rule in policy_rules(dom):
                ptype, *values = rule
                values += [""] * (6 - len(values))
                session.add(CasbinRule(ptype=ptype, v0=values[0], v1=values[1], v2=values[2],
                                       v3=values[3], v4=values[4], v5=values[5]))
            for add_defaults in defaults:
                add_defaults(session)
            if admin is not None:
                if admin.subject and await session.scalar(select(User.id).where(
                        (User.subject == admin.subject.strip())
                        | (User.id == account_id_for_subject(admin.subject.strip())))) is not None:
                    raise ProvisioningError("an account is bound to that subject already (link it instead)")
                await session.flush()
                await _first_admin(session, admin, root_id, tenant_id, datetime.now(UTC))
        return tenant
