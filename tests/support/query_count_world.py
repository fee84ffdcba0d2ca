"""Rows for the query-count tests (tests/resolvers/test_query_counts.py): ``populate(n)`` gives a world tenant
n more of every listable thing — compounds, buildings, households and persons, cases with their
timelines and photos, topics, meetings, notices, activities, ledgers, wishes, visits, leads, partner units,
agreements, audit entries … — so that every list the schema has is n items longer (or n groups
wider) than in the world drawn in tests/support/world.py. Direct inserts (fast), except the co-building
rows, which go through the real mutations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from models import (
    Area,
    AreaKind,
    Attachment,
    AuditEntry,
    CalendarOverride,
    CareService,
    CareServiceRecord,
    CareTagKind,
    CasbinRule,
    Case,
    CaseCategory,
    CaseCategoryRule,
    CaseEvent,
    CasePriority,
    CaseReview,
    CaseStage,
    CaseStageKind,
    CaseStageLimit,
    CaseState,
    CentralHousehold,
    EvaluationItem,
    EvaluationPeriod,
    EvaluationPeriodItem,
    EvaluationRating,
    EvaluationTarget,
    GridBuilding,
    HandlerKind,
    Household,
    ImportJob,
    ImportStatus,
    LeadHousehold,
    LeadTitle,
    Member,
    NeighborLead,
    Notification,
    OwnerCommittee,
    PartyOrg,
    PartyOrgKind,
    PartyOrgMember,
    PartyOrgRole,
    PeriodState,
    Person,
    PersonCareTag,
    PersonMove,
    PersonMoveKind,
    PropertyFirm,
    PropertyManagement,
    PropertyOwner,
    RoleAssignment,
    SelfGoverningKind,
    SelfGoverningUnit,
    ServiceContract,
    SlaRule,
    SlaUnit,
    UrgencyTier,
    User,
    Visit,
    VisitKind,
    Wish,
    WishState,
    path_segment,
    uuid7,
)
from models.cobuilding import InServiceMember
from resolvers.ids import decode_global_id, encode_global_id
from tenants.session import bind_tenant
from tests.support import deliberation_rows, volunteering_rows
from tests.support.cobuilding import CREATE_CLIENT, community, make_agreement, make_unit, run
from tests.support.harness import Api, DbEnv
from tests.support.world import TenantWorld, make_id_card

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@dataclass
class Scene:
    """What the documents need to name: global ids and the partner client's access token."""

    tw: TenantWorld
    n: int
    ids: dict[str, Any] = field(default_factory=dict)
    partner_token: str = ""


async def populate(api: Api, db: DbEnv, tw: TenantWorld, n: int) -> Scene:
    sc = Scene(tw, n)
    admin = tw.users["admin"]
    await deliberation_rows.seed(db, tw, n)  # topics (cases, steps, votes), meetings (agenda, attendees), notices
    await volunteering_rows.seed(db, tw, n)  # activities, sign-ups, ledger entries, reward items, redemptions
    persons: list[uuid.UUID] = []
    households: list[uuid.UUID] = []
    cases: list[uuid.UUID] = []
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            areas = {a.id: a for a in await s.scalars(select(Area))}
            c1, g1, b1, street = (areas[tw.areas[k]] for k in ("C1", "G1", "B1", "S"))
            compounds: list[Area] = []
            lead_users: list[uuid.UUID] = []
            # The area tree: n compounds in C1, each with one building covered by G1, each building
            # with one household of two persons (one of them with a care tag).
            for i in range(n):
                cid, bid = uuid7(), uuid7()
                comp = Area(id=cid, parent_id=c1.id, kind=AreaKind.COMPOUND, name=f"新小区{i}",
                            path=c1.path + path_segment(cid), depth=c1.depth + 1,
                            property_management=PropertyManagement.FIRM)
                bldg = Area(id=bid, parent_id=cid, kind=AreaKind.BUILDING, name=f"新楼{i}",
                            path=comp.path + path_segment(bid), depth=comp.depth + 1, floors=6, unit_count=1)
                s.add_all([comp, bldg])
                await s.flush()
                compounds.append(comp)
                s.add_all([GridBuilding(grid_id=g1.id, building_id=bid),
                           ServiceContract(firm_id=tw.firms["F1"], compound_id=cid, valid_from=date(2020, 1, 1)),
                           # onboarding's organisations (issue #23): a branch and an owner committee each
                           branch := PartyOrg(id=uuid7(), name=f"新小区{i}党支部", kind=PartyOrgKind.BRANCH,
                                              area_id=cid),
                           OwnerCommittee(compound_id=cid, name=f"新小区{i}业委会", chair_name="主任",
                                          term_start=date(2025, 1, 1), term_end=date(2029, 12, 31))])
                h = Household(id=uuid7(), building_id=bid, unit="1", room=f"{i + 1:03d}", floor_area=Decimal("70.00"))
                s.add(h)
                await s.flush()
                households.append(h.id)
                for j in range(2):
                    born = date(1950 + i % 40, 1 + j, 1)
                    p = Person(id=uuid7(), household_id=h.id, name=f"新居民{i}-{j}", birth_date=born,
                               id_card_no=make_id_card("340303", born, 300 + 2 * i + j),
                               phone=f"1360000{2 * i + j:04d}", party_member=False, in_service_party_member=False)
                    s.add(p)
                    await s.flush()
                    persons.append(p.id)
                    # moved in (迁入) from outside the register: the residence history (Person.moves)
                    s.add(PersonMove(person_id=p.id, kind=PersonMoveKind.MOVE_IN, to_household_id=h.id,
                                     effective_on=date(2024, 1, 1), note="迁入", recorded_by=admin, recorded_at=AT))
                    if j == 0:
                        s.add(PersonCareTag(person_id=p.id, code="living_alone"))
                        s.add(PropertyOwner(household_id=h.id, person_id=p.id))  # on the title (产权人)
                s.add(PartyOrgMember(party_org_id=branch.id, person_id=persons[-1], role=PartyOrgRole.MEMBER))
                # residents' self-governing zone and group, the group's central household (issue #23)
                zone = SelfGoverningUnit(id=uuid7(), area_id=cid, kind=SelfGoverningKind.ZONE, name="第一自治片区")
                s.add(zone)
                await s.flush()
                group = SelfGoverningUnit(id=uuid7(), area_id=cid, parent_id=zone.id, kind=SelfGoverningKind.GROUP,
                                          name="第一小组")
                s.add(group)
                await s.flush()
                s.add(CentralHousehold(unit_id=group.id, household_id=h.id, person_id=persons[-1]))
                # A neighbourhood lead per household, holding the role (a user of their own).
                u = User(id=uuid7(), username=tw.username(f"lead{i}"), display_name=f"邻长{i}")
                s.add(u)
                await s.flush()
                lead_users.append(u.id)
                ra = RoleAssignment(user_id=u.id, role="neighbor_lead", scope_area_id=bid, valid_from=AT)
                s.add_all([ra, Member(user_id=u.id, person_id=persons[-2])])
                await s.flush()
                lead = NeighborLead(id=uuid7(), user_id=u.id, person_id=persons[-2], title=LeadTitle.BUILDING,
                                    area_id=bid, area_path=bldg.path, role_assignment_id=ra.id, appointed_by=admin,
                                    created_at=AT)
                s.add(lead)
                await s.flush()
                s.add(LeadHousehold(lead_id=lead.id, household_id=h.id))
            # One user holding n roles (Me.roles).
            many = User(id=uuid7(), username=tw.username("many"), display_name="多角色")
            s.add(many)
            await s.flush()
            tw.users["many"] = many.id
            s.add(Member(user_id=many.id, person_id=None))
            for comp in compounds:
                s.add(RoleAssignment(user_id=many.id, role="resident", scope_area_id=comp.id, valid_from=AT))
            # Catalogues: firms, care tag kinds, case categories with SLA rules, calendar days,
            # evaluation items, policy lines.
            for i in range(n):
                s.add_all([
                    PropertyFirm(id=uuid7(), name=f"新物业{i}"),
                    CareTagKind(code=f"qc_tag{i}", name=f"关爱{i}"),
                    CaseCategory(code=f"qc{i}", name=f"类别{i}", active=True),
                    SlaRule(category_code=f"qc{i}", priority=CasePriority.NORMAL, amount=3, unit=SlaUnit.WORKING_DAYS),
                    CalendarOverride(day=date(2026, 1, 1) + timedelta(days=7 * i + 2), workday=False, note="调休"),
                    EvaluationItem(target=EvaluationTarget.PROPERTY_FIRM, code=f"qc{i}", name=f"指标{i}", weight=1,
                                   active=True),
                    CasbinRule(ptype="p", v0=f"qc_role{i}", v1=str(tw.tenant_id), v2="notice", v3="read",
                               v4="scope", v5=""),
                ])
            # Cases in B1 on the problem wall, each in its own category, half of them answered
            # (echo wall); two timeline entries each, and a notification to the admin per case.
            for i in range(n):
                answered = i % 2 == 1
                # Reporters alternate, so the users a page names are alike for 2 or 20 (the
                # user loader's cache then saves the same statements in both).
                reporter = admin if answered else tw.users["resident"]
                case = Case(id=uuid7(), number=f"Q-{i:04d}", area_id=b1.id, area_path=b1.path,
                            category_code=f"qc{i}", priority=CasePriority.NORMAL, title=f"问题{i}", description="",
                            state=CaseState.RESOLVED if answered else CaseState.REPORTED,
                            resolution="已处理" if answered else None, reporter_user_id=reporter,
                            reporter_role="street_admin" if answered else "resident", on_wall=True,
                            supervised=False, reopen_count=0, version=1,
                            updated_at=AT, created_at=AT + timedelta(minutes=i),
                            resolved_at=AT + timedelta(hours=1) if answered else None)
                s.add(case)
                await s.flush()
                cases.append(case.id)
                # One photo per case, on its report (Case.photos, CaseTimelineEntry.photos; no file needed).
                photo = Attachment(id=uuid7(), uploader_user_id=reporter, case_id=case.id, content_type="image/jpeg",
                                   size=1000, sha256="0" * 64, storage_key=f"{tw.tenant_id.hex}/qc{i}",
                                   width=640, height=480, thumbnail_key=f"{tw.tenant_id.hex}/qc{i}.thumb")
                s.add_all([
                    photo,
                    CaseEvent(case_id=case.id, seq=1, action="report", from_state=None, to_state="reported",
                              actor_user_id=tw.users["resident"], actor_role="resident",
                              attachments=[str(photo.id)], detail={}, created_at=case.created_at),
                    CaseEvent(case_id=case.id, seq=2, action="comment", from_state="reported", to_state="reported",
                              actor_user_id=admin, actor_role="street_admin", attachments=[], detail={},
                              created_at=case.created_at + timedelta(minutes=1)),
                    Notification(user_id=admin, case_id=case.id, kind="case_reported", message=f"新事件{i}",
                                 created_at=case.created_at),
                    # its stages (Case.stages, issue #22), and a stage limit and closure rule per category
                    *(CaseStage(case_id=case.id, seq=k + 1, stage=CaseStageKind.ACCEPT, started_at=case.created_at,
                                due_at=case.created_at + timedelta(hours=1), extensions=0, created_at=case.created_at)
                      for k in range(2)),
                    CaseStageLimit(stage=CaseStageKind.ACCEPT, tier=UrgencyTier.URGENT, category_code=f"qc{i}",
                                   amount=1, unit=SlaUnit.WORKING_HOURS, created_at=AT),
                    CaseCategoryRule(category_code=f"qc{i}", requires_photo=True, created_at=AT),
                    CaseReview(area_id=street.id, period_start=date(2025, 1, 1) + timedelta(days=i),
                               period_end=date(2025, 1, 1) + timedelta(days=i + 6), summary=f"复盘{i}",
                               author_user_id=admin, created_at=AT,
                               statistics={"total": n, "by_state": {f"s{k}": 1 for k in range(n)},
                                           "by_category": {f"qc{k}": 1 for k in range(n)}, "resolved": 0,
                                           "resolved_on_time": 0, "on_time_rate": None,
                                           "mean_handling_hours": None, "median_handling_hours": None,
                                           "with_feedback": 0, "satisfied": 0, "satisfaction_rate": None,
                                           "reopened": 0, "open_overdue": 0}),
                    ImportJob(user_id=admin, file_name=f"register{i}.xlsx", file_sha256=f"{i:064d}", dry_run=False,
                              create_areas=False, status=ImportStatus.SUCCEEDED, total=n, processed=n,
                              created_at=AT + timedelta(seconds=i), finished_at=AT + timedelta(seconds=i + 1)),
                    AuditEntry(user_id=admin, roles="street_admin", action="updateCase", object_type="Case",
                               object_ids=[str(case.id)] * n, request_id=f"r{i}", created_at=AT + timedelta(seconds=i),
                               detail={"outcome": "ok", "errors": [f"E{k}" for k in range(n)],
                                       "changes": [{"table": "cases", "id": str(case.id), "op": "update",
                                                    "fields": {f"f{k}": [k, k + 1] for k in range(n)}}] * n}),
                ])
            # Care: visits, services with records, wishes.
            for i, (hid, comp) in enumerate(zip(households, compounds, strict=True)):
                building_id = await s.scalar(select(Household.building_id).where(Household.id == hid))
                assert building_id is not None
                svc = CareService(id=uuid7(), tag_code="living_alone", area_id=comp.id, area_path=comp.path,
                                  name=f"助餐{i}", frequency="每周", provider="社工站", created_at=AT)
                s.add(svc)
                await s.flush()
                s.add_all([
                    Visit(id=uuid7(), household_id=hid, building_id=building_id, visitor_user_id=lead_users[i],
                          visitor_role="neighbor_lead", kind=VisitKind.ROUTINE, visited_at=AT + timedelta(days=i),
                          findings="正常", case_id=cases[i], created_at=AT + timedelta(days=i)),
                    CareServiceRecord(id=uuid7(), service_id=svc.id, person_id=persons[2 * i], provided_at=AT,
                                      provided_by="社工", recorder_user_id=admin,
                                      created_at=AT + timedelta(seconds=i)),
                    Wish(id=uuid7(), beneficiary_person_id=persons[2 * i], household_id=hid, building_id=building_id,
                         title=f"心愿{i}", description="", poster_user_id=admin, state=WishState.OPEN, version=1,
                         updated_at=AT, created_at=AT + timedelta(seconds=i)),
                ])
            # Evaluations: n monthly periods with their items; the first closed with one rating
            # per new compound (results, and the admin's own ratings).
            for m in range(n):
                period = EvaluationPeriod(id=uuid7(), month=date(2020 + m // 12, m % 12 + 1, 1),
                                          state=PeriodState.CLOSED, created_at=AT)
                s.add(period)
                await s.flush()
                for code in ("cleanliness", "repairs"):
                    s.add(EvaluationPeriodItem(id=uuid7(), period_id=period.id, target=EvaluationTarget.PROPERTY_FIRM,
                                               code=code, name=code, weight=50, created_at=AT))
                if m == 0:
                    sc.ids["period"] = encode_global_id("EvaluationPeriod", period.id)
                    for k, comp in enumerate(compounds):
                        s.add(EvaluationRating(
                            id=uuid7(), period_id=period.id, target=EvaluationTarget.PROPERTY_FIRM,
                            compound_id=comp.id, compound_path=comp.path, firm_id=tw.firms["F1"], rater_user_id=admin,
                            rater_role="street_admin", scores={"cleanliness": 60 + k, "repairs": 80},
                            total=Decimal(70 + k), created_at=AT))
            for i, pid in enumerate(persons[::2]):
                s.add(InServiceMember(id=uuid7(), person_id=pid, community_id=c1.id, community_path=c1.path,
                                      work_unit_name=f"单位{i}", registered_on=date(2026, 1, 1), registered_by=admin,
                                      created_at=AT))
    sc.ids["street"] = encode_global_id("Street", tw.areas["S"])
    sc.ids["P1"] = encode_global_id("Compound", tw.areas["P1"])
    sc.ids["C1"] = encode_global_id("Community", tw.areas["C1"])
    sc.ids["h1b"] = encode_global_id("Person", tw.persons["h1b"])  # the resident: the personal-data report
    sc.ids["nodes"] = ([encode_global_id("Person", p) for p in persons[:n]]
                       + [encode_global_id("Household", h) for h in households]
                       + [encode_global_id("Case", c) for c in cases])
    # Co-building through the real mutations: n units, each with an API client; n agreements of
    # the first unit (C1 and C2, in force); that unit's client is the partner reader.
    units = [await make_unit(api, tw, f"共建单位{i}", 100 + i) for i in range(n)]
    first_client = ""
    for unit in units:
        out = await run(api, tw, "admin", CREATE_CLIENT, {"u": unit, "l": "系统"})
        assert out["errors"] == [], out
        first_client = first_client or out["client"]["clientId"]
        if not sc.ids.get("secret"):
            sc.ids["secret"] = out["clientSecret"]
    today = datetime.now(UTC).date()
    for i in range(n):
        await make_agreement(api, tw, units[0], [community(tw, "C1"), community(tw, "C2")], title=f"协议{i}",
                             valid_from=today - timedelta(days=10), valid_until=today + timedelta(days=300))
    r = await api.client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": first_client,
                                                    "client_secret": sc.ids["secret"]})
    assert r.status_code == 200, r.text
    sc.partner_token = str(r.json()["access_token"])
    # The first unit handles the scene's cases (issue #22: assignedCases), and each has a notification to it.
    unit_id = decode_global_id(units[0]).id
    sc.ids["unit"] = units[0]
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            await s.execute(update(Case).where(Case.id.in_(cases)).values(
                handler_kind=HandlerKind.PARTNER_UNIT, handler_partner_id=unit_id, handler_name="共建单位0",
                due_at=AT + timedelta(days=3)))
            s.add_all([Notification(partner_unit_id=unit_id, case_id=c, kind="dispatched", message="已派给您办理",
                                    created_at=AT) for c in cases])
    return sc
