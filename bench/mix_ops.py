"""The portal mix's operations (issue #21): every root query field with a realistic selection, as the
role that sends it, and the 15 mutations portals send most. ``bench/mix.py`` drives them.

A query entry is (actor, document, variables): variables whose value is a ``Ref`` are looked up
before the run (``LOOKUPS``: a query as some actor and the path of the value in its answer). The
root query fields are read from the schema and a field without an entry fails the run, so a new
field must be added here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bench.fixture import gid

TENANT = "yanquan"  # most entries: the demo street office with most domains seeded; a user's tenant is
# the prefix of their name (baitao.grid: baitao), where the demo has that domain's data
PARTNER = "partner"  # the actor name of the tenant's first partner API client (a client-credentials token)
PARTNER_DESK = "partner.desk"  # a partner client whose unit handles cases (its desk: assignedCases …)


class Fail(RuntimeError):
    """The run stops: a wrong answer, a missing entry."""


@dataclass(frozen=True)
class Ref:
    """A value looked up before the run: ``LOOKUPS[name]``."""

    name: str


@dataclass(frozen=True)
class Q:
    actor: str
    document: str
    variables: dict[str, Any] = field(default_factory=dict)


# name -> (actor, query, path in data): the ids the entries below need.
LOOKUPS: dict[str, tuple[str, str, tuple[Any, ...] | Callable[[Any], Any]]] = {
    "grid_scope": ("yanquan.grid", "{ me { roles { scope { id } } } }", ("me", "roles", 0, "scope", "id")),
    "community": ("yanquan.secretary", "{ me { roles { scope { id } } } }", ("me", "roles", 0, "scope", "id")),
    "resident_compound": (
        "yanquan.dongwan1",
        "{ me { person { household { building { parent { id } } } } } }",
        ("me", "person", "household", "building", "parent", "id"),
    ),
    "resident_community": (
        "yanquan.dongwan1",
        "{ me { person { household { building { parent { parent { id } } } } } } }",
        ("me", "person", "household", "building", "parent", "parent", "id"),
    ),
    "reporter_building": (
        "yanquan.resident",
        "{ me { person { household { building { id } } } } }",
        ("me", "person", "household", "building", "id"),
    ),
    "resident_person": ("yanquan.dongwan1", "{ me { person { id } } }", ("me", "person", "id")),
    "case": ("yanquan.grid", "{ cases(first: 3) { nodes { id } } }", ("cases", "nodes", 0, "id")),
    "case2": ("yanquan.grid", "{ cases(first: 3) { nodes { id } } }", ("cases", "nodes", 1, "id")),
    "case3": ("yanquan.grid", "{ cases(first: 3) { nodes { id } } }", ("cases", "nodes", 2, "id")),
    "activity": (
        "yanquan.admin",
        "{ activities(first: 20) { nodes { id signedUp } } }",  # one with sign-ups
        lambda d: next(a["id"] for a in d["activities"]["nodes"] if a["signedUp"]),
    ),
    "youth_person": ("yanquan.youth1", "{ me { person { id } } }", ("me", "person", "id")),
    "baitao_partner": (
        "baitao.secretary",
        "{ inserviceMembers(first: 1) { nodes { partnerUnit { id } } } }",
        ("inserviceMembers", "nodes", 0, "partnerUnit", "id"),
    ),
    "period": ("yanquan.admin", "{ evaluationPeriods { id } }", ("evaluationPeriods", 0, "id")),
    "partner_community": (
        "partner",
        "{ myAgreements { communities { id } } }",
        ("myAgreements", 0, "communities", 0, "id"),
    ),
}

TODAY = date.today()
FROM, TO = (TODAY - timedelta(days=30)).isoformat(), TODAY.isoformat()

AREA = "id name kind"
CASE_ROW = "id number title categoryName priority state overdue dueAt supervised area { name } reportedAt"
PAGE = "totalCount pageInfo { hasNextPage endCursor }"
RATE = "{ numerator denominator rate }"
RATES = (f"rows {{ key label cases responseRate {RATE} resolutionRate {RATE} satisfactionRate {RATE} "
         f"onTimeRate {RATE} returnRate {RATE} reworkRate {RATE} callbackRate {RATE} score }}")

QUERIES: dict[str, Q] = {
    "me": Q(
        "yanquan.resident",
        "query Me { me { username displayName tenant { name } "
        "roles { role active scope { id name kind } } person { id name household { id room } } } }",
    ),
    "errorCodes": Q("yanquan.resident", "query Codes { errorCodes { code httpStatus meaning } }"),
    "node": Q(
        "yanquan.grid",
        "query Node($id: ID!) { node(id: $id) { id ... on Case { number title state priority "
        "categoryName dueAt overdue area { name } reporter { displayName } } } }",
        {"id": Ref("case")},
    ),
    "nodes": Q(
        "yanquan.grid",
        "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { id ... on Case { number title state } } }",
        {"ids": [Ref("case"), Ref("case2"), Ref("case3")]},
    ),
    "areas": Q(
        "yanquan.secretary",
        f"query Areas {{ areas(first: 20) {{ {PAGE} nodes {{ {AREA} code parent {{ name }} }} }} }}",
    ),
    "households": Q(
        "yanquan.grid",
        f"query Households {{ households(first: 20) {{ {PAGE} nodes {{ id unit room "
        "addressMasked floorArea building { name } persons { id name piiMasked phone } } } }",
    ),
    "persons": Q(
        "yanquan.grid",
        f"query Persons {{ persons(first: 20) {{ {PAGE} nodes {{ id name gender partyMember "
        "piiMasked phone idCardNo careTags household { unit room } } } }",
    ),
    "propertyFirms": Q("yanquan.secretary", "query Firms { propertyFirms { id name creditCode } }"),
    "careTagKinds": Q("yanquan.grid", "query Tags { careTagKinds { code name } }"),
    "roleAssignments": Q(
        "yanquan.admin",
        f"query Roles {{ roleAssignments(includeInactive: false, first: 20) {{ "
        f"{PAGE} nodes {{ id role active validFrom scope {{ name }} "
        "user { username displayName } } } }",
    ),
    # The log's page shows "共 N 条", or "1000+" on a log past the cap (cappedCount, issue #21): an office's
    # log grows by every mutation and full read (this mix's own runs add ≈ 16,000), so its page does not
    # count the whole log (totalCount) on every request.
    "auditLog": Q(
        "yanquan.admin",
        "query Audit { auditLog(first: 20) { cappedCount { count hasMore } pageInfo { hasNextPage endCursor } "
        "nodes { id action outcome objectType objectIds at user { username } } } }",
    ),
    "workingCalendar": Q(
        "yanquan.admin",
        "query Cal($from: Date!, $to: Date!) { workingCalendar(from: $from, to: $to) { date working source note } }",
        {"from": FROM, "to": TO},
    ),
    "caseCategorySettings": Q("yanquan.admin", "query CatSettings { caseCategorySettings { code name active } }"),
    "slaRules": Q("yanquan.admin", "query Sla { slaRules { category priority amount unit } }"),
    "calendarOverrides": Q(
        "yanquan.admin", f"query Overrides {{ calendarOverrides(year: {TODAY.year}) {{ day workday note }} }}"
    ),
    "caseSettings": Q("yanquan.admin", "query CaseSettings { caseSettings { feedbackWaitDays } }"),
    "cases": Q(
        "yanquan.grid",
        "query OpenCases { cases(states: [REPORTED, ACCEPTED, DISPATCHED, IN_PROGRESS, "
        f"REOPENED], first: 20) {{ {PAGE} nodes {{ {CASE_ROW} }} }} }}",
    ),
    "notifications": Q(
        "yanquan.secretary",
        "query Inbox { notifications(unreadOnly: false, first: 20) { "
        f"{PAGE} nodes {{ id kind message at readAt case {{ id number title }} }} }} }}",
    ),
    "caseCategories": Q("yanquan.resident", "query Categories { caseCategories { code name } }"),
    "caseStatistics": Q(
        "yanquan.secretary",
        "query Dashboard($areaId: ID!, $from: Date!, $to: Date!) { "
        "caseStatistics(areaId: $areaId, from: $from, to: $to) { total resolved resolvedOnTime "
        "onTimeRate meanHandlingHours satisfactionRate openOverdue byState { key count } "
        "byCategory { key count } } }",
        {"areaId": Ref("community"), "from": FROM, "to": TO},
    ),
    "caseReviews": Q(
        "yanquan.secretary",
        "query Reviews($areaId: ID!) { caseReviews(areaId: $areaId) { id periodStart periodEnd summary decisions } }",
        {"areaId": Ref("community")},
    ),
    "topics": Q(
        "yanquan.chair",
        f"query Topics {{ topics(first: 20) {{ {PAGE} nodes {{ id title state proposedAt "
        "version area { name } proposer { displayName } vote { id state closesAt ballotsCast } } } }",
    ),
    "meetings": Q(
        "yanquan.chair",
        f"query Meetings {{ meetings(first: 20) {{ {PAGE} nodes {{ id title startsAt place "
        "state area { name } } } }",
    ),
    "notices": Q(
        "yanquan.resident",
        f"query Notices {{ notices(includeExpired: false, first: 20) {{ {PAGE} nodes {{ "
        "id title body publishedAt expiresAt area { name } publisher { displayName } } } }",
    ),
    "problemWall": Q(
        "yanquan.dongwan1",
        "query Wall($c: ID!) { problemWall(compoundId: $c, first: 20) { "
        "hasNextPage endCursor nodes { number title category state reportedAt answer "
        "area { name } } } }",
        {"c": Ref("resident_compound")},
    ),
    "echoWall": Q(
        "yanquan.dongwan1",
        "query Echo($c: ID!) { echoWall(compoundId: $c, first: 20) { "
        "hasNextPage endCursor nodes { number title category state reportedAt answer answeredAt } } }",
        {"c": Ref("resident_compound")},
    ),
    "careSettings": Q(
        "yanquan.admin",
        "query CareSettings { careSettings { leadMinHouseholds leadMaxHouseholds keyVisitDays routineVisitDays } }",
    ),
    "neighborLeads": Q(
        "yanquan.admin",
        f"query Leads {{ neighborLeads(includeEnded: false, first: 20) {{ {PAGE} "
        "nodes { id title householdCount appointedAt user { displayName } area { name } } } }",
    ),
    "visits": Q(
        "yanquan.lead",
        f"query Visits {{ visits(first: 20) {{ {PAGE} nodes {{ id kind visitedAt findings "
        "needs household { unit room } visitor { displayName } } } }",
    ),
    "overdueVisits": Q(
        "yanquan.lead",
        "query Overdue($asOf: Date!) { overdueVisits(asOf: $asOf) { householdId "
        "keyHousehold intervalDays lastVisitOn dueOn overdue daysOverdue household { unit room } "
        "building { name } } }",
        {"asOf": (TODAY + timedelta(days=366)).isoformat()},
    ),  # in a year
    "visitCoverage": Q(
        "yanquan.secretary",
        "query Coverage($from: Date!, $to: Date!) { visitCoverage(from: $from, "
        "to: $to, groupBy: GRID) { groupId groupName households visited rate keyHouseholds keyVisited "
        "overdue } }",
        {"from": FROM, "to": TO},
    ),
    "careServices": Q(
        "baitao.grid", "query Services { careServices { id tagCode name frequency provider area { name } } }"
    ),
    "careServiceRecords": Q(
        "baitao.grid",
        f"query Records {{ careServiceRecords(first: 20) {{ {PAGE} nodes {{ id "
        "providedAt providedBy note service { name } person { name } } } }",
    ),
    "wishes": Q(
        "baitao.grid",
        f"query Wishes {{ wishes(first: 20) {{ {PAGE} nodes {{ id title state postedAt "
        "beneficiaryName claimedByMe version building { name } } } }",
    ),
    "activities": Q(
        "yanquan.youth1",
        f"query Activities {{ activities(first: 20) {{ {PAGE} nodes {{ id title place "
        "startsAt endsAt capacity signedUp organiserName state area { name } } } }",
    ),
    "activitySignups": Q(
        "yanquan.admin",
        "query Signups($a: ID!) { activitySignups(activityId: $a, first: 20) { "
        f"{PAGE} nodes {{ id state checkedInAt hours person {{ name }} }} }} }}",
        {"a": Ref("activity")},
    ),
    "pointsBalance": Q(
        "yanquan.admin", "query Balance($p: ID!) { pointsBalance(personId: $p) }", {"p": Ref("youth_person")}
    ),
    "myPoints": Q("yanquan.youth1", "query MyPoints { myPoints }"),
    "pointsLedger": Q(
        "yanquan.youth1",
        f"query Ledger {{ pointsLedger(first: 20) {{ {PAGE} nodes {{ id delta kind reason balanceAfter at }} }} }}",
    ),
    "pointsPerHour": Q("yanquan.youth1", "query Rate { pointsPerHour }"),
    "rewardItems": Q(
        "weierlu.resident",
        f"query Rewards {{ rewardItems(first: 20) {{ {PAGE} nodes {{ id name points "
        "stock community { name } } } }",
    ),
    "redemptions": Q(
        "weierlu.grid",  # approves those of their grid: the demo's are weierlu's (the mix's own are outside
        # yanquan.grid's grid)
        f"query Redemptions {{ redemptions(first: 20) {{ {PAGE} nodes {{ id points state "
        "requestedAt person { name } item { name } } } }",
    ),
    "evaluationItems": Q(
        "yanquan.chair",
        "query Items { evaluationItems(target: PROPERTY_FIRM, includeInactive: false) { code name weight active } }",
    ),
    "evaluationPeriods": Q("yanquan.chair", "query Periods { evaluationPeriods { id month state closedAt } }"),
    "evaluationResults": Q(
        "yanquan.secretary",
        "query Results($p: ID!) { evaluationResults(periodId: $p, "
        "target: PROPERTY_FIRM) { firmName raters score rank } }",
        {"p": Ref("period")},
    ),
    "myEvaluationRatings": Q(
        "yanquan.secretary",  # who rated in the demo's period (the chair did not)
        "query MyRatings($p: ID!) { myEvaluationRatings(periodId: $p) { target total comment } }",
        {"p": Ref("period")},
    ),
    "policy": Q("yanquan.admin", "query Policy { policy { version rules { role resource action condition } } }"),
    "partnerUnits": Q(
        "yanquan.admin",
        f"query Partners {{ partnerUnits(first: 20) {{ {PAGE} nodes {{ id name kind creditCode contactName }} }} }}",
    ),
    "agreements": Q(
        "yanquan.admin",
        f"query Agreements {{ agreements(first: 20) {{ {PAGE} nodes {{ id title "
        "status inForce validFrom validUntil partnerUnit { name } communities { name } } } }",
    ),
    "lianchuangAreas": Q("yanquan.secretary", "query Lianchuang { lianchuangAreas { code name } }"),
    "inserviceMembers": Q(
        "baitao.secretary",
        f"query InService {{ inserviceMembers(first: 20) {{ {PAGE} nodes {{ id "
        "workUnitName registeredOn person { name } partnerUnit { name } } } }",
    ),
    "inserviceSummary": Q(
        "baitao.secretary",
        "query InServiceSummary($u: ID!, $from: Date!, $to: Date!) { "
        "inserviceSummary(partnerUnitId: $u, from: $from, to: $to) { members records hours wishes "
        "activities } }",
        {"u": Ref("baitao_partner"), "from": FROM, "to": TO},
    ),
    "myAgreements": Q(
        PARTNER, "query MyAgreements { myAgreements { id title grants validFrom validUntil communities { id name } } }"
    ),
    "sharedActivities": Q(
        PARTNER,
        "query SharedActivities { sharedActivities(first: 20) { nodes { id title place "
        "startsAt endsAt capacity signedUp organiserName state } } }",
    ),
    "sharedWishes": Q(
        PARTNER,
        "query SharedWishes { sharedWishes(first: 20) { nodes { id title state claimedByUs community { name } } } }",
    ),
    "sharedStatistics": Q(
        PARTNER,
        "query SharedStats($c: ID!, $from: Date!, $to: Date!) { sharedStatistics("
        "communityId: $c, from: $from, to: $to) { community { name } cases { total resolved "
        "onTimeRate } activities { total signedUp } } }",
        {"c": Ref("partner_community"), "from": FROM, "to": TO},
    ),
    "importJob": Q(
        "yanquan.admin",
        "query ImportJob($id: ID!) { importJob(id: $id) { id status total processed } }",
        {"id": gid("ImportJob", uuid.UUID(int=1))},
    ),  # none in the demo: null
    "importJobs": Q(
        "yanquan.admin",
        f"query ImportJobs {{ importJobs(first: 20) {{ {PAGE} nodes {{ id fileName status "
        "total processed createdAt } } }",
    ),
    # ---- the connections beside the plain lists (issue #25), as the same roles page them
    "propertyFirmsConnection": Q(
        "yanquan.secretary",
        f"query FirmsPage {{ propertyFirmsConnection(first: 20) {{ {PAGE} nodes {{ id name creditCode }} }} }}",
    ),
    "careTagKindsConnection": Q(
        "yanquan.grid", f"query TagsPage {{ careTagKindsConnection(first: 20) {{ {PAGE} nodes {{ code name }} }} }}"
    ),
    "caseCategoriesConnection": Q(
        "yanquan.resident",
        f"query CategoriesPage {{ caseCategoriesConnection(first: 50) {{ {PAGE} nodes {{ code name }} }} }}",
    ),
    "caseCategorySettingsConnection": Q(
        "yanquan.admin",
        f"query CatSettingsPage {{ caseCategorySettingsConnection(first: 50) {{ {PAGE} "
        "nodes { code name active } } }",
    ),
    "slaRulesConnection": Q(
        "yanquan.admin",
        f"query SlaPage {{ slaRulesConnection(first: 50) {{ {PAGE} nodes {{ category priority amount unit }} }} }}",
    ),
    "calendarOverridesConnection": Q(
        "yanquan.admin",
        f"query OverridesPage($y: Int!) {{ calendarOverridesConnection(year: $y, first: 50) {{ {PAGE} "
        "nodes { day workday note } } }",
        {"y": TODAY.year},
    ),
    "caseReviewsConnection": Q(
        "yanquan.secretary",
        f"query ReviewsPage($areaId: ID!) {{ caseReviewsConnection(areaId: $areaId, first: 20) {{ {PAGE} "
        "nodes { id periodStart periodEnd summary decisions } } }",
        {"areaId": Ref("community")},
    ),
    "careServicesConnection": Q(
        "baitao.grid",
        f"query ServicesPage {{ careServicesConnection(first: 20) {{ {PAGE} nodes {{ id tagCode name frequency "
        "provider retiredAt area { name } } } }",
    ),
    "overdueVisitsConnection": Q(
        "yanquan.lead",
        "query OverduePage($asOf: Date!) { overdueVisitsConnection(asOf: $asOf, first: 20) { "
        f"{PAGE} nodes {{ householdId keyHousehold intervalDays lastVisitOn dueOn overdue daysOverdue "
        "household { unit room } building { name } } } }",
        {"asOf": (TODAY + timedelta(days=366)).isoformat()},
    ),  # in a year, as overdueVisits
    "visitCoverageConnection": Q(
        "yanquan.secretary",
        "query CoveragePage($from: Date!, $to: Date!) { visitCoverageConnection(from: $from, to: $to, "
        f"groupBy: GRID, first: 20) {{ {PAGE} nodes {{ groupId groupName households visited rate keyHouseholds "
        "keyVisited keyRate overdue } } }",
        {"from": FROM, "to": TO},
    ),
    "evaluationItemsConnection": Q(
        "yanquan.chair",
        "query ItemsPage { evaluationItemsConnection(target: PROPERTY_FIRM, includeInactive: false, first: 20) { "
        f"{PAGE} nodes {{ code name weight active }} }} }}",
    ),
    "evaluationPeriodsConnection": Q(
        "yanquan.chair",
        f"query PeriodsPage {{ evaluationPeriodsConnection(first: 12) {{ {PAGE} "
        "nodes { id month state closedAt } } }",
    ),
    "evaluationResultsConnection": Q(
        "yanquan.secretary",
        "query ResultsPage($p: ID!) { evaluationResultsConnection(periodId: $p, target: PROPERTY_FIRM, first: 20) { "
        f"{PAGE} nodes {{ firmName raters score rank items {{ name weight average }} }} }} }}",
        {"p": Ref("period")},
    ),
    "myEvaluationRatingsConnection": Q(
        "yanquan.secretary",  # who rated in the demo's period (the chair did not)
        "query MyRatingsPage($p: ID!) { myEvaluationRatingsConnection(periodId: $p, first: 20) { "
        f"{PAGE} nodes {{ target total comment compound {{ name }} scores {{ item score }} }} }} }}",
        {"p": Ref("period")},
    ),
    "myAgreementsConnection": Q(
        PARTNER,
        f"query MyAgreementsPage {{ myAgreementsConnection(first: 20) {{ {PAGE} nodes {{ id title sharedData "
        "validFrom validUntil communities { id name } areas { code name } } } }",
    ),
    # ---- the register's organisations (issue #23), a person's data report (#24) and the accounts (#23)
    "serviceContracts": Q(
        "yanquan.secretary",
        "query Contracts($on: Date!) { serviceContracts(on: $on, first: 20) { "
        f"{PAGE} nodes {{ id validFrom validUntil firm {{ name }} compound {{ name }} }} }} }}",
        {"on": TO},
    ),
    "partyOrgs": Q(
        "baitao.secretary",
        f"query PartyOrgs {{ partyOrgs(first: 20) {{ {PAGE} nodes {{ id name kind parentId area {{ name }} }} }} }}",
    ),
    "ownerCommittees": Q(
        "yanquan.secretary",
        f"query Committees {{ ownerCommittees(first: 20) {{ {PAGE} nodes {{ id name chairName termStart termEnd "
        "compound { name } } } }",
    ),
    "selfGoverningUnits": Q(
        "langya.secretary",
        f"query SelfGoverning {{ selfGoverningUnits(first: 20) {{ {PAGE} nodes {{ id name kind parentId "
        "area { name } } } }",
    ),
    "centralHouseholds": Q(
        "langya.secretary",
        f"query CentralHouseholds {{ centralHouseholds(first: 20) {{ {PAGE} nodes {{ id unitId householdId "
        "personId appointedOn } } }",
    ),
    "personalDataReport": Q(
        "yanquan.admin",
        "query PersonalData($p: ID!) { personalDataReport(personId: $p) { erased person { name } "
        "records { table column link rowId createdAt } fullReads { at userName roles via purpose } } }",
        {"p": Ref("resident_person")},
    ),  # audited: each request writes its audit row, as the real page does
    "users": Q(
        "yanquan.admin",
        f"query Users {{ users(includeDeactivated: false, first: 20) {{ {PAGE} nodes {{ id username displayName "
        "active linked } } }",
    ),
    # ---- case settings and rates (issue #22)
    "caseStageLimits": Q(
        "yanquan.admin", "query StageLimits { caseStageLimits { stage tier category amount unit } }"
    ),  # deprecated for the connection below; older portals still send it
    "caseStageLimitsConnection": Q(
        "yanquan.admin",
        f"query StageLimitsPage {{ caseStageLimitsConnection(first: 50) {{ {PAGE} nodes {{ stage tier category "
        "amount unit } } }",
    ),
    "caseWorkflowSettings": Q(
        "yanquan.admin", "query Workflow { caseWorkflowSettings { autoSuperviseOverdue minHandlingMinutes } }"
    ),
    "caseCategoryRules": Q(
        "yanquan.admin", "query CategoryRules { caseCategoryRules { category requiresPhoto } }"
    ),  # deprecated for the connection below
    "caseCategoryRulesConnection": Q(
        "yanquan.admin",
        f"query CategoryRulesPage {{ caseCategoryRulesConnection(first: 50) {{ {PAGE} nodes {{ category "
        "requiresPhoto } } }",
    ),
    "caseRates": Q(
        "yanquan.admin",
        "query Rates($from: Date!, $to: Date!) { caseRates(period: {kind: RANGE, from: $from, to: $to}, "
        f"groupBy: COMMUNITY) {{ periodStart periodEnd {RATES} }} }}",
        {"from": FROM, "to": TO},
    ),
    "handlingUnitRanking": Q(
        "yanquan.admin",
        "query Ranking($from: Date!, $to: Date!) { handlingUnitRanking(period: {kind: RANGE, from: $from, "
        f"to: $to}}) {{ periodStart periodEnd {RATES} }} }}",
        {"from": FROM, "to": TO},
    ),
    "caseRateDefinitions": Q(
        "yanquan.admin",
        "query RateDefinitions { caseRateDefinitions { responseLimit responseLimitUnit customised "
        "weights { rate weight } } }",
    ),
    # ---- notifications and a unit's desk (issue #22)
    "unreadNotificationCount": Q("yanquan.resident", "query Unread { unreadNotificationCount }"),
    "assignedCases": Q(
        PARTNER_DESK,
        "query Desk { assignedCases(states: [DISPATCHED, IN_PROGRESS], first: 20) { "
        f"{PAGE} nodes {{ id number title category categoryName priority state locationText reportedAt "
        "dispatchedAt dueAt overdue requestedDueAt version } } }",
    ),
    "unitNotifications": Q(
        PARTNER_DESK,
        "query UnitInbox { unitNotifications(unreadOnly: false, first: 20) { "
        f"{PAGE} nodes {{ id kind message caseId at readAt }} }} }}",
    ),
}

# Fields whose answer may be null or empty in the demo data (the rows column shows it), each with why;
# any other empty answer fails the run. The set-up (bench/mix_writes.py set_up) adds the rows the demo
# lacks for caseCategoryRules, calendarOverrides and caseReviews (and their connections).
MAY_BE_EMPTY = frozenset(
    {
        "notifications",  # the secretary's come from the mix's own dispatches: none before its first run
        "sharedWishes",  # the partner's communities have no open wish (the mix's own are claimed at once)
        "problemWall",  # no case reported in 市政府东湾院 (the demo's yanquan cases are in 香樟雅苑)
        "echoWall",  # as problemWall
        "importJob",  # the demo imports nothing: null
        "importJobs",  # as importJob
    }
)

# The mutations (issue #21's list), in the order they run: each phase's requests are built from the
# earlier phases' answers (the cases reported are accepted, then dispatched, …).
MUTATIONS = (
    "reportCase",
    "acceptCase",
    "dispatchCase",
    "resolveCase",
    "giveCaseFeedback",
    "castBallot",
    "recordVisit",
    "postWish",
    "claimWish",
    "signUpForActivity",
    "checkInActivity",
    "requestRedemption",
    "publishNotice",
    "proposeTopic",
    "markNotificationsRead",
)
