"""SQL statements per request are a fixed number per operation, independent of how long its lists
are (issue #9) — for every list field of the schema.

Two tenants of the world (tests/support/world.py) are populated, one with 2 and one with 20 more of every
listable thing (tests/support/query_count_world.py). Each case below runs one document, with nested fields,
in both, and asserts (a) every list it names really got longer and (b) the statement count is the
same. ``REGISTRY`` maps each list field coordinate (``Type.field``) reachable from ``Query`` to the
case that covers it; ``test_every_list_field_has_a_count_case`` walks the schema and fails for a
list field that is neither registered nor exempted, so a new list field needs a case here. Each
registered coordinate must really be selected by its case's document.

The fixed count of each operation is in ``EXPECTED`` (and shown in the test ids): a change that adds
or removes a statement to an operation changes that number on purpose, in review."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    TypeInfo,
    Visitor,
    build_ast_schema,
    parse,
    visit,
)
from graphql.utilities import TypeInfoVisitor
from sqlalchemy import text

from gongzhi.modules import schema as built_schema
from tenants.session import count_statements
from tests.support import citus
from tests.support.databases import analyze
from tests.support.harness import Api, DbEnv, new_slug
from tests.support.query_count_world import Scene, populate
from tests.support.world import build_tenant

SMALL, LARGE = 2, 20
NO_VARS: Callable[[Scene], dict[str, Any]] = lambda sc: {}  # noqa: E731


@dataclass(frozen=True)
class CountCase:
    doc: str
    grows: tuple[str, ...]  # response paths (dots; lists flattened) whose item counts must grow
    who: str = "admin"  # a world user key, or "partner" for the partner unit's API client
    variables: Callable[[Scene], dict[str, Any]] = NO_VARS
    covers: tuple[str, ...] = field(default=())


PERSON = "{ name phone idCardNo careTags household { room } }"
CASES: dict[str, CountCase] = {
    "areas": CountCase(
        """{ areas(first: 60) { totalCount nodes { name
          ... on Street { ancestors { name } children(first: 30) { totalCount nodes { name } } }
          ... on Community { ancestors { name } children(first: 30) { totalCount nodes { name } } }
          ... on Zone { ancestors { name } children(first: 30) { totalCount nodes { name } } }
          ... on Compound { ancestors { name } children(first: 30) { totalCount nodes { name } }
                            households(first: 30) { totalCount nodes { room } } }
          ... on Grid { ancestors { name } children(first: 30) { totalCount nodes { name } }
                        households(first: 30) { totalCount nodes { room } } }
          ... on Building { ancestors { name } children(first: 30) { totalCount nodes { name } } grids { name }
                            households(first: 30) { totalCount nodes { room grids { name } } } }
        } } }""",
        ("areas.nodes", "areas.nodes.ancestors", "areas.nodes.children.nodes", "areas.nodes.households.nodes",
         "areas.nodes.grids", "areas.nodes.households.nodes.grids"),
        covers=("Query.areas", "Street.ancestors", "Street.children", "Community.ancestors", "Community.children",
                "Zone.ancestors", "Zone.children", "Compound.ancestors", "Compound.children", "Compound.households",
                "Grid.ancestors", "Grid.children", "Grid.households", "Building.ancestors", "Building.children",
                "Building.grids", "Building.households"),
    ),
    "households": CountCase(
        f"""{{ households(first: 60) {{ totalCount nodes {{ room addressMasked building {{ name }}
          persons {PERSON} grids {{ name }} propertyOwners {{ certificateRef person {{ name }} }} }} }} }}""",
        ("households.nodes", "households.nodes.persons", "households.nodes.grids",
         "households.nodes.persons.careTags", "households.nodes.propertyOwners"),
        covers=("Query.households", "Household.persons", "Household.grids", "Person.careTags",
                "Household.propertyOwners"),
    ),
    "households_masked": CountCase(  # the firm reads masked persons: another path through the loaders
        f"""{{ households(first: 60) {{ nodes {{ room building {{ name }} persons {PERSON} grids {{ name }} }} }} }}""",
        ("households.nodes", "households.nodes.persons"), who="firm",
    ),
    "persons": CountCase(
        f"""{{ persons(first: 60) {{ totalCount nodes {{ name phone careTags
          household {{ room persons {PERSON} }} }} }} }}""",
        ("persons.nodes", "persons.nodes.household.persons"),
        covers=("Query.persons",),
    ),
    "person_moves": CountCase(  # the residence history (issue #23): one loader for the page's persons
        """{ persons(first: 60) { nodes { name moves { kind effectiveOn note fromHousehold { room }
          toHousehold { room } } } } }""",
        ("persons.nodes", "persons.nodes.moves"),
        covers=("Person.moves",),
    ),
    "nodes": CountCase(
        """query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Person { name phone household { room } }
          ... on Household { room persons { name } } ... on Case { title timeline { actor { username } } } } }""",
        ("nodes",), variables=lambda sc: {"ids": sc.ids["nodes"]},
        covers=("Query.nodes",),
    ),
    "catalogues": CountCase(
        """{ propertyFirms { name } careTagKinds { code name } caseCategories { code name }
          caseCategorySettings { code active } slaRules { category amount } calendarOverrides(year: 2026) { day }
          evaluationItems(target: PROPERTY_FIRM, includeInactive: true) { code weight }
          propertyFirmsConnection(first: 100) { totalCount nodes { name } }
          careTagKindsConnection(first: 100) { totalCount nodes { code name } }
          caseCategoriesConnection(first: 100) { totalCount nodes { code name } }
          caseCategorySettingsConnection(first: 100) { totalCount nodes { code active } }
          slaRulesConnection(first: 100) { totalCount nodes { category amount } }
          calendarOverridesConnection(year: 2026, first: 100) { totalCount nodes { day } }
          evaluationItemsConnection(target: PROPERTY_FIRM, includeInactive: true, first: 100) {
            totalCount nodes { code weight } } }""",
        ("propertyFirms", "careTagKinds", "caseCategories", "caseCategorySettings", "slaRules", "calendarOverrides",
         "evaluationItems", "propertyFirmsConnection.nodes", "careTagKindsConnection.nodes",
         "caseCategoriesConnection.nodes", "caseCategorySettingsConnection.nodes", "slaRulesConnection.nodes",
         "calendarOverridesConnection.nodes", "evaluationItemsConnection.nodes"),
        covers=("Query.propertyFirms", "Query.careTagKinds", "Query.caseCategories", "Query.caseCategorySettings",
                "Query.slaRules", "Query.calendarOverrides", "Query.evaluationItems",
                "Query.propertyFirmsConnection", "Query.careTagKindsConnection", "Query.caseCategoriesConnection",
                "Query.caseCategorySettingsConnection", "Query.slaRulesConnection",
                "Query.calendarOverridesConnection", "Query.evaluationItemsConnection"),
    ),
    # The settings lists alone (no evaluationItems, which the compiler does not know): on PostgreSQL the
    # whole document is one compiled statement (compiled/settings.py, issue #21).
    "settingsLists": CountCase(
        """{ propertyFirms { id name } careTagKinds { code name } caseCategories { code name }
          caseCategorySettings { code active } slaRules { category priority amount }
          calendarOverrides(year: 2026) { day } caseStageLimits { stage tier category amount }
          caseCategoryRules { category requiresPhoto }
          propertyFirmsConnection(first: 100) { totalCount nodes { id name } }
          careTagKindsConnection(first: 100) { totalCount nodes { code name } }
          caseCategoriesConnection(first: 100) { totalCount nodes { code name } }
          caseCategorySettingsConnection(first: 100) { totalCount nodes { code active } }
          slaRulesConnection(first: 100) { totalCount pageInfo { endCursor } nodes { category amount } }
          calendarOverridesConnection(year: 2026, first: 100) { totalCount edges { cursor node { day } } }
          caseStageLimitsConnection(first: 100) { totalCount nodes { stage category amount } }
          caseCategoryRulesConnection(first: 100) { totalCount nodes { category requiresPhoto } } }""",
        ("propertyFirms", "careTagKinds", "caseCategories", "caseCategorySettings", "slaRules", "calendarOverrides",
         "caseStageLimits", "caseCategoryRules", "propertyFirmsConnection.nodes", "careTagKindsConnection.nodes",
         "caseCategoriesConnection.nodes", "caseCategorySettingsConnection.nodes", "slaRulesConnection.nodes",
         "calendarOverridesConnection.edges", "caseStageLimitsConnection.nodes", "caseCategoryRulesConnection.nodes"),
    ),
    "roleAssignments": CountCase(
        """{ roleAssignments(includeInactive: true, first: 60) { totalCount nodes { role active
          scope { name ancestors { name } } user { username } } } }""",
        ("roleAssignments.nodes",),
        covers=("Query.roleAssignments",),
    ),
    "serviceContracts": CountCase(
        """{ serviceContracts(first: 60) { totalCount nodes { validFrom validUntil firm { name } compound { name } } }
          partyOrgs(first: 60) { totalCount nodes { name kind parentId area { name } } }
          ownerCommittees(first: 60) { totalCount nodes { name chairName termStart termEnd compound { name } } } }""",
        ("serviceContracts.nodes", "partyOrgs.nodes", "ownerCommittees.nodes"),
        covers=("Query.serviceContracts", "Query.partyOrgs", "Query.ownerCommittees"),
    ),
    "selfGoverningUnits": CountCase(
        """{ selfGoverningUnits(first: 60) { totalCount nodes { name kind parentId area { name } } }
          centralHouseholds(first: 60) { totalCount nodes { unitId householdId personId appointedOn } } }""",
        ("selfGoverningUnits.nodes", "centralHouseholds.nodes"),
        covers=("Query.selfGoverningUnits", "Query.centralHouseholds"),
    ),
    "users": CountCase(
        """{ users(includeDeactivated: true, first: 60) { totalCount nodes { username displayName subject active
          linked deactivatedAt } } }""",
        ("users.nodes",),
        covers=("Query.users",),
    ),
    "me": CountCase(
        """{ me { username roles { role scope { name ancestors { name } } user { username } } person { name } } }""",
        ("me.roles",), who="many",
        covers=("Me.roles",),
    ),
    "policy": CountCase(
        """{ policy { version rules { role resource action condition } } }""",
        ("policy.rules",),
        covers=("Policy.rules",),
    ),
    "auditLog": CountCase(
        """{ auditLog(action: "updateCase", first: 60) { totalCount nodes { action outcome errors objectIds
          user { username } changes { table op fields { name before after } } } } }""",
        ("auditLog.nodes", "auditLog.nodes.errors", "auditLog.nodes.objectIds", "auditLog.nodes.changes",
         "auditLog.nodes.changes.fields"),
        covers=("Query.auditLog", "AuditEntry.errors", "AuditEntry.objectIds", "AuditEntry.changes",
                "AuditChange.fields"),
    ),
    # A person's data report (issue #24): one statement per table naming them, however many rows do
    # (the resident reported half the scene's cases; each has a photo).
    "personalDataReport": CountCase(
        """query ($p: ID!) { personalDataReport(personId: $p) { erased person { name phone }
          records { table column link rowId createdAt } fullReads { at userName via purpose } } }""",
        ("personalDataReport.records",),
        variables=lambda sc: {"p": sc.ids["h1b"]},
        covers=("PersonalDataReport.records", "PersonalDataReport.fullReads"),
    ),
    "importJobs": CountCase(
        """{ importJobs(first: 60) { totalCount nodes { fileName status total processed errorRows reportUrl
          createdAt finishedAt } } }""",
        ("importJobs.nodes",),
        covers=("Query.importJobs",),
    ),
    # Without reportUrl (which the compiler does not know): one compiled statement on PostgreSQL.
    "importJobsCompiled": CountCase(
        """{ importJobs(first: 60) { totalCount pageInfo { endCursor } nodes { id kind fileName status total
          processed errorRows createdAt finishedAt } } }""",
        ("importJobs.nodes",),
    ),
    "cases": CountCase(
        """{ cases(first: 60) { totalCount nodes { number state overdue categoryName reporter { username }
          area { name ... on Building { grids { name } } } escalatedTo { name }
          timeline { seq action actor { username } attachmentIds } } } }""",
        ("cases.nodes", "cases.nodes.timeline", "cases.nodes.area.grids"),
        covers=("Query.cases", "Case.timeline", "CaseTimelineEntry.attachmentIds"),
    ),
    # The order and the filters of the cases list (issue #23): keyset on (bucket, time, id), still one page
    # statement (on PostgreSQL the compiled read: the whole document in one).
    "casesOrdered": CountCase(
        """{ a: cases(first: 60, order: DUE_SOONEST, priorities: [LOW, NORMAL, HIGH, URGENT],
                     reportedFrom: "2000-01-01T00:00:00Z") { totalCount pageInfo { endCursor } nodes { number dueAt } }
          b: cases(first: 60, order: OVERDUE_FIRST, reportedBefore: "2100-01-01T00:00:00Z") {
            totalCount edges { cursor node { number overdue } } } }""",
        ("a.nodes", "b.edges"),
    ),
    # By handling unit (issue #22): the scene's cases are all dispatched to its first partner unit.
    "casesByHandler": CountCase(
        """query($u: ID!) { cases(first: 60, handlerKind: PARTNER_UNIT, handlerPartnerUnitId: $u) {
          totalCount nodes { number handlerName handlerKind } } }""",
        ("cases.nodes",), variables=lambda sc: {"u": sc.ids["unit"]},
    ),
    "caseStages": CountCase(
        """{ cases(first: 60) { nodes { number stages { stage dueAt overdue } currentStage { stage } } }
          caseStageLimits { stage category amount } caseCategoryRules { category requiresPhoto }
          caseStageLimitsConnection(first: 100) { totalCount nodes { stage category amount } }
          caseCategoryRulesConnection(first: 100) { totalCount nodes { category requiresPhoto } } }""",
        ("cases.nodes.stages", "caseStageLimits", "caseCategoryRules", "caseStageLimitsConnection.nodes",
         "caseCategoryRulesConnection.nodes"),
        covers=("Case.stages", "Query.caseStageLimits", "Query.caseCategoryRules", "Query.caseStageLimitsConnection",
                "Query.caseCategoryRulesConnection"),
    ),
    "casePhotos": CountCase(
        """{ cases(first: 60) { nodes { number photos { id contentType width url thumbnailUrl urlsExpireAt }
          timeline { action photos { id url } } } } }""",
        ("cases.nodes.photos", "cases.nodes.timeline.photos"),
        covers=("Case.photos", "CaseTimelineEntry.photos"),
    ),
    "caseStatistics": CountCase(
        """query($s: ID!) { caseStatistics(areaId: $s, from: "2026-01-01", to: "2026-12-31") { total
          byState { key count } byCategory { key count } }
          caseReviews(areaId: $s) { summary statistics { total byState { key count } byCategory { key count } } }
          caseReviewsConnection(areaId: $s, first: 100) { totalCount nodes { summary
            statistics { total byState { key count } } } } }""",
        ("caseStatistics.byCategory", "caseReviews", "caseReviews.statistics.byState", "caseReviewsConnection.nodes"),
        variables=lambda sc: {"s": sc.ids["street"]},
        covers=("Query.caseReviews", "CaseStatistics.byState", "CaseStatistics.byCategory",
                "Query.caseReviewsConnection"),
    ),
    # The figures alone: on PostgreSQL one compiled statement (compiled/statistics.py), the area's path in it.
    "caseStatisticsCompiled": CountCase(
        """query($s: ID!) { caseStatistics(areaId: $s, from: "2026-01-01", to: "2026-12-31") { total
          byState { key count state } byCategory { key count } resolved onTimeRate meanHandlingHours
          medianHandlingHours satisfactionRate openOverdue } }""",
        ("caseStatistics.byCategory",),
        variables=lambda sc: {"s": sc.ids["street"]},
    ),
    # The reviews without their recorded figures: on PostgreSQL one compiled statement (compiled/case_reviews.py).
    "caseReviewsLists": CountCase(
        """query($s: ID!) { caseReviews(areaId: $s) { id periodStart periodEnd summary decisions }
          caseReviewsConnection(areaId: $s, first: 100) { totalCount edges { cursor node { id summary } } } }""",
        ("caseReviews", "caseReviewsConnection.edges"),
        variables=lambda sc: {"s": sc.ids["street"]},
    ),
    "caseRates": CountCase(
        """{ caseRates(period: {kind: MONTH, year: 2026, number: 3}, groupBy: CATEGORY) { definitions {
          weights { rate weight } } rows { key label cases responseRate { rate } satisfactionRate { rate } score } }
          handlingUnitRanking(period: {kind: QUARTER, year: 2026, number: 1}) { rows { key score } } }""",
        ("caseRates.rows",),
        covers=("CaseRates.rows",),
    ),
    "notifications": CountCase(
        """{ notifications(unreadOnly: false, first: 60) { totalCount nodes { kind message
          case { title area { name } timeline { actor { username } } } } } }""",
        ("notifications.nodes",),
        covers=("Query.notifications",),
    ),
    # a partner unit's desk (issue #22): the cases dispatched to its unit, and its unit's notifications
    "assignedCases": CountCase(
        """{ assignedCases(first: 60) { totalCount nodes { number title categoryName state dueAt overdue
          requestedDueAt } } unitNotifications(first: 60) { totalCount nodes { kind message caseId readAt } } }""",
        ("assignedCases.nodes", "unitNotifications.nodes"), who="partner",
        covers=("Query.assignedCases", "Query.unitNotifications"),
    ),
    "walls": CountCase(
        """query($c: ID!) { problemWall(compoundId: $c, first: 60) { nodes { number title category area { name } } }
          echoWall(compoundId: $c, first: 60) { nodes { number title answer area { name } } } }""",
        ("problemWall.nodes", "echoWall.nodes"), variables=lambda sc: {"c": sc.ids["P1"]},
        covers=("Query.problemWall", "Query.echoWall"),
    ),
    "topics": CountCase(
        """{ topics(first: 60) { totalCount nodes { title state area { name } proposer { username }
          cases { title area { name } } steps { seq progress }
          vote { state question ballotsCast myBallot { choice } compound { name } result { passed yesArea } } } } }""",
        ("topics.nodes", "topics.nodes.cases", "topics.nodes.steps"),
        covers=("Query.topics", "Topic.cases", "Topic.steps"),
    ),
    "topics_resident": CountCase(  # myBallot: the resident's household is in every electorate
        """{ topics(first: 60) { nodes { title cases { title } steps { seq } vote { ballotsCast myBallot { choice } } }
        } }""",
        ("topics.nodes", "topics.nodes.cases"), who="resident",
    ),
    "meetings": CountCase(
        """{ meetings(first: 60) { totalCount nodes { title state area { name } convener { username }
          agenda { position decided topic { title vote { ballotsCast myBallot { choice } } } }
          decidedTopics { title } attendees { name isOrganisation attended } } } }""",
        ("meetings.nodes", "meetings.nodes.agenda", "meetings.nodes.decidedTopics", "meetings.nodes.attendees"),
        covers=("Query.meetings", "Meeting.agenda", "Meeting.decidedTopics", "Meeting.attendees"),
    ),
    "notices": CountCase(
        """{ notices(includeExpired: true, first: 60) { totalCount nodes { title area { name }
          publisher { username } } } }""",
        ("notices.nodes",),
        covers=("Query.notices",),
    ),
    "neighborLeads": CountCase(
        """{ neighborLeads(includeEnded: true, first: 60) { totalCount nodes { title user { username }
          person { name phone } area { name } householdIds householdCount } } }""",
        ("neighborLeads.nodes", "neighborLeads.nodes.householdIds"),
        covers=("Query.neighborLeads", "NeighborLead.householdIds"),
    ),
    "visits": CountCase(
        """{ visits(first: 60) { totalCount nodes { kind household { room } building { name }
          visitor { username } case { title } } } }""",
        ("visits.nodes",),
        covers=("Query.visits",),
    ),
    "overdueVisits": CountCase(
        """{ overdueVisits(asOf: "2026-11-01") { household { room } building { name } lead { title user { username } }
          grids { name } community { name } }
          overdueVisitsConnection(asOf: "2026-11-01", first: 100) { totalCount nodes { household { room }
            building { name } lead { title user { username } } grids { name } community { name } } } }""",
        ("overdueVisits", "overdueVisits.grids", "overdueVisitsConnection.nodes",
         "overdueVisitsConnection.nodes.grids"),
        covers=("Query.overdueVisits", "VisitCadence.grids", "Query.overdueVisitsConnection"),
    ),
    "visitCoverage": CountCase(
        """{ visitCoverage(from: "2026-01-01", to: "2026-12-31", groupBy: LEAD) { groupName households visited }
          visitCoverageConnection(from: "2026-01-01", to: "2026-12-31", groupBy: LEAD, first: 100) { totalCount
            nodes { groupName households visited } } }""",
        ("visitCoverage", "visitCoverageConnection.nodes"),
        covers=("Query.visitCoverage", "Query.visitCoverageConnection"),
    ),
    "careServices": CountCase(
        """{ careServices { name area { name } }
          careServicesConnection(first: 100) { totalCount nodes { name area { name } } }
          careServiceRecords(first: 60) { totalCount nodes { service { name area { name } }
            person { name phone } } } }""",
        ("careServices", "careServicesConnection.nodes", "careServiceRecords.nodes"),
        covers=("Query.careServices", "Query.careServicesConnection", "Query.careServiceRecords"),
    ),
    "wishes": CountCase(
        """{ wishes(first: 60) { totalCount nodes { title beneficiaryName beneficiary { name phone } building { name }
          claimant { username } } } }""",
        ("wishes.nodes",),
        covers=("Query.wishes",),
    ),
    "activities": CountCase(
        """{ activities(first: 60) { totalCount nodes { title capacity signedUp organiserName area { name } } } }""",
        ("activities.nodes",),
        covers=("Query.activities",),
    ),
    "activitySignups": CountCase(  # without an activity, the list is the reader's own sign-ups
        """{ activitySignups(first: 60) { totalCount nodes { state hours activity { title area { name } }
          person { name phone } } } }""",
        ("activitySignups.nodes",), who="resident",
        covers=("Query.activitySignups",),
    ),
    # The same without the sign-up's activity: on PostgreSQL one compiled statement (compiled/signups.py).
    "activitySignupsCompiled": CountCase(
        """{ activitySignups(first: 60) { totalCount nodes { state hours checkedInAt person { name } } } }""",
        ("activitySignups.nodes",), who="resident",
    ),
    "volunteering": CountCase(
        """{ pointsLedger(first: 60, bookedFrom: "2000-01-01T00:00:00+08:00", bookedBefore: "2100-01-01T00:00:00Z") {
            totalCount nodes { delta kind balanceAfter person { name phone } } }
          rewardItems(first: 60) { totalCount nodes { name points stock community { name } } }
          redemptions(first: 60, requestedFrom: "2000-01-01T00:00:00Z", requestedBefore: "2100-01-01T00:00:00Z") {
            totalCount nodes { points state person { name phone }
            item { name community { name } } } } }""",
        ("pointsLedger.nodes", "rewardItems.nodes", "redemptions.nodes"),
        covers=("Query.pointsLedger", "Query.rewardItems", "Query.redemptions"),
    ),
    "evaluations": CountCase(
        """query($p: ID!) { evaluationPeriods { month items(target: PROPERTY_FIRM) { code weight } }
          evaluationResults(periodId: $p, target: PROPERTY_FIRM) { compound { name } firmName raters score rank
            items { code average } }
          myEvaluationRatings(periodId: $p) { target compound { name } scores { item score } total }
          evaluationPeriodsConnection(first: 100) { totalCount nodes { month items(target: PROPERTY_FIRM) { code } } }
          evaluationResultsConnection(periodId: $p, target: PROPERTY_FIRM, first: 100) { totalCount nodes {
            compound { name } firmName raters score rank items { code average } } }
          myEvaluationRatingsConnection(periodId: $p, first: 100) { totalCount nodes { target compound { name }
            scores { item score } total } } }""",
        ("evaluationPeriods", "evaluationPeriods.items", "evaluationResults", "evaluationResults.items",
         "myEvaluationRatings", "myEvaluationRatings.scores", "evaluationPeriodsConnection.nodes",
         "evaluationResultsConnection.nodes", "myEvaluationRatingsConnection.nodes"),
        variables=lambda sc: {"p": sc.ids["period"]},
        covers=("Query.evaluationPeriods", "EvaluationPeriod.items", "Query.evaluationResults",
                "EvaluationResult.items", "Query.myEvaluationRatings", "EvaluationRating.scores",
                "Query.evaluationPeriodsConnection", "Query.evaluationResultsConnection",
                "Query.myEvaluationRatingsConnection"),
    ),
    # The ranking alone: compiled (compiled/evaluations.py, issue #21), both forms in one statement.
    "evaluationResultsCompiled": CountCase(
        """query($p: ID!) { evaluationResults(periodId: $p, target: PROPERTY_FIRM) { compound { name } firmName
            raters score rank items { code average } }
          evaluationResultsConnection(periodId: $p, target: PROPERTY_FIRM, first: 100) { totalCount nodes {
            compound { name } firmName raters score rank items { code average } } } }""",
        ("evaluationResults", "evaluationResults.items", "evaluationResultsConnection.nodes"),
        variables=lambda sc: {"p": sc.ids["period"]},
    ),
    # A count, not a list (nothing grows): compiled (compiled/notifications.py, issue #21).
    "unreadNotificationCountCompiled": CountCase("""{ unreadNotificationCount }""", (), who="firm"),
    # Balances, not lists (nothing grows): compiled (compiled/points.py, issue #21), both in one statement.
    "pointsBalanceCompiled": CountCase("""query($p: ID!) { pointsBalance(personId: $p) myPoints }""", (),
                                       who="resident", variables=lambda sc: {"p": sc.ids["h1b"]}),
    "cobuilding": CountCase(
        """{ partnerUnits(first: 60) { totalCount nodes { name kind contactPhone clients { clientId label } } }
          agreements(first: 60) { totalCount nodes { title status partnerUnit { name } communities { name }
            areas { code name } grants sharedData signatories { name side party } } }
          inserviceMembers(first: 60) { totalCount nodes { workUnitName person { name phone } community { name }
            partnerUnit { name } } } }""",
        ("partnerUnits.nodes", "partnerUnits.nodes.clients", "agreements.nodes", "agreements.nodes.communities",
         "inserviceMembers.nodes"),
        covers=("Query.partnerUnits", "PartnerUnit.clients", "Query.agreements", "Agreement.communities",
                "Agreement.areas", "Agreement.grants", "Agreement.sharedData", "Agreement.signatories",
                "Query.inserviceMembers"),
    ),
    # The members list and a unit's summary: on PostgreSQL one compiled statement (compiled/inservice.py).
    "inserviceCompiled": CountCase(
        """query($u: ID!) { inserviceMembers(first: 60) { totalCount nodes { workUnitName } }
          inserviceSummary(partnerUnitId: $u, from: "2020-01-01", to: "2030-12-31") { members records hours
            wishes activities } }""",
        ("inserviceMembers.nodes",), variables=lambda sc: {"u": sc.ids["unit"]},
    ),
    # The compiled forms (compiled/cobuilding.py, issue #21): the staff's agreements list alone, and the
    # shared views compiled for a partner (myAgreements, its connection, sharedActivities) alone.
    "agreements_compiled": CountCase(
        """{ agreements(first: 60) { totalCount nodes { title status inForce validFrom partnerUnit { name }
            communities { name } areas { code name } grants sharedData } } }""",
        ("agreements.nodes", "agreements.nodes.communities"),
        covers=("Query.agreements",),
    ),
    "partner_compiled": CountCase(
        """{ myAgreements { title communities { name } grants sharedData areas { code } }
          myAgreementsConnection(first: 100) { totalCount nodes { title communities { name } } }
          sharedActivities(first: 60) { totalCount nodes { title community { name } } } }""",
        ("myAgreements", "myAgreements.communities", "myAgreementsConnection.nodes", "sharedActivities.nodes"),
        who="partner",
        covers=("Query.myAgreements", "Query.myAgreementsConnection", "Query.sharedActivities"),
    ),
    "assignedCases_compiled": CountCase(  # the desk alone: compiled for a partner (compiled/cobuilding.py)
        """{ assignedCases(first: 60) { totalCount nodes { number title categoryName state dueAt overdue
          requestedDueAt } } }""",
        ("assignedCases.nodes",), who="partner",
        covers=("Query.assignedCases",),
    ),
    "sharedStatisticsCompiled": CountCase(  # compiled for a partner (compiled/statistics.py)
        """query($c: ID!) { sharedStatistics(communityId: $c, from: "2026-01-01", to: "2026-12-31") {
          community { id name } cases { total byState { key count caseState } byCategory { key count }
          resolved onTimeRate meanHandlingHours satisfactionRate }
          activities { total byState { key count activityState } places signedUp } } }""",
        ("sharedStatistics.cases.byCategory",), who="partner", variables=lambda sc: {"c": sc.ids["C1"]},
    ),
    # The directory alone, without contactPhone and clients: one compiled statement on PostgreSQL.
    "partnerUnitsCompiled": CountCase(
        """{ partnerUnits(first: 60) { totalCount pageInfo { endCursor } nodes { id name kind creditCode
          contactName address } } }""",
        ("partnerUnits.nodes",),
    ),
    "partner": CountCase(
        """query($c: ID!) { myAgreements { title communities { name } grants sharedData areas { code } }
          myAgreementsConnection(first: 100) { totalCount nodes { title communities { name } } }
          sharedActivities(first: 60) { totalCount nodes { title community { name } } }
          sharedWishes(first: 60) { totalCount nodes { title state claimedByUs community { name } } }
          sharedStatistics(communityId: $c, from: "2026-01-01", to: "2026-12-31") { community { name }
            cases { total byState { key count } byCategory { key count } }
            activities { total byState { key count } } } }""",
        ("myAgreements", "myAgreements.communities", "myAgreementsConnection.nodes", "sharedActivities.nodes",
         "sharedWishes.nodes",
         "sharedStatistics.cases.byCategory"),
        who="partner", variables=lambda sc: {"c": sc.ids["C1"]},
        covers=("Query.myAgreements", "Query.myAgreementsConnection", "PartnerAgreement.communities",
                "PartnerAgreement.grants", "PartnerAgreement.sharedData",
                "PartnerAgreement.areas", "Query.sharedActivities", "Query.sharedWishes", "SharedCaseFigures.byState",
                "SharedCaseFigures.byCategory", "SharedActivityFigures.byState"),
    ),
    # The working calendar (issue #22): one entry per day, so the period grows with the scene (36 / 360
    # days); the tenant's overrides and the platform's days are one statement each, read by the first (warming)
    # run: the counted one reads the days the process keeps per year and calendar version (issue #21).
    "workingCalendar": CountCase(
        """query($f: Date!, $t: Date!) { workingCalendar(from: $f, to: $t) { date working source note } }""",
        ("workingCalendar",), who="resident",
        variables=lambda sc: {"f": "2027-01-01",
                              "t": (date(2027, 1, 1) + timedelta(days=18 * sc.n - 1)).isoformat()},
        covers=("Query.workingCalendar",),
    ),
}

REGISTRY: dict[str, str] = {coord: name for name, case in CASES.items() for coord in case.covers}

# List fields without a count case, each with the reason it cannot grow with the data.
EXEMPT: dict[str, str] = {
    # A constant of the code (resolvers/cobuilding.py::LIANCHUANG, the 联创 areas): no statement at all.
    "Query.lianchuangAreas": "a fixed catalogue in the code, not a table",
    # The error-code catalogue (issue #25, resolvers/error_catalogue.py): a constant too.
    "Query.errorCodes": "a fixed catalogue in the code, not a table",
    # The seven rates of resolvers/cases/rate_definitions.py::RATE_KEYS, always all of them (issue #22).
    "CaseRateDefinitions.weights": "one entry per rate of a fixed catalogue in the code",
}

# The fixed statement count of each operation (SQLite, PostgreSQL). Asserted, and shown in the test
# ids: adding a statement to an operation is a decision made here, in review. Each count includes
# the request's own work before the resolvers (tenant, actor, policy …); on PostgreSQL that start-up
# is one statement (tenant, user, RLS setting and the actor's rows: gongzhi_request_actor, issue #9), and the
# compiled reads answer a whole list in one (compiled/). The …Connection fields of issue #25 page in SQL
# (resolvers/pagination.py sorted_page): each totalCount they are asked is one COUNT statement more.
# SQLite: an operation that reads personal data in full writes its audit row and, one INSERT more, the ids
# it read (audit_pii_reads, migration 0049); PostgreSQL writes both in the one audit statement.
EXPECTED: dict[str, tuple[int, int]] = {
    "activities": (7, 2),  # PostgreSQL: start-up and the compiled read (compiled/activities.py)
    "activitySignups": (13, 8),
    "activitySignupsCompiled": (8, 2),  # PostgreSQL: start-up and the compiled read (compiled/signups.py)
    "areas": (13, 10),
    "assignedCases": (10, 3),  # PostgreSQL: start-up, the partner actor (#21), compiled (with unitNotifications)
    "assignedCases_compiled": (8, 3),  # PostgreSQL: start-up, the partner actor (one statement, #21), compiled
    "auditLog": (7, 2),  # PostgreSQL: start-up and the compiled read, errors and changes too (compiled/audit.py)
    "careServices": (15, 2),  # PostgreSQL: start-up, the compiled read of the three lists with its full reads' audit
    "caseRates": (9, 2),  # SQLite: each field's definitions, counts, names; PostgreSQL: compiled (compiled/rates.py)
    "caseStatistics": (9, 6),
    "caseStatisticsCompiled": (6, 2),  # PostgreSQL: start-up and the compiled read (compiled/statistics.py)
    "caseReviewsLists": (7, 2),  # PostgreSQL: start-up and the compiled read (compiled/case_reviews.py)
    "cases": (12, 9),
    "casesOrdered": (8, 2),
    "casesByHandler": (6, 2),
    "casePhotos": (8, 5),
    "caseStages": (13, 10),
    "catalogues": (25, 2),  # PostgreSQL: start-up and the compiled read (compiled/settings.py, issue #21)
    "settingsLists": (28, 2),  # PostgreSQL: start-up and the compiled read (compiled/settings.py)
    "cobuilding": (19, 15),
    "inserviceCompiled": (8, 2),  # PostgreSQL: start-up and the compiled read (compiled/inservice.py)
    "agreements_compiled": (9, 2),  # PostgreSQL: start-up and the compiled read (compiled/cobuilding.py)
    "partnerUnitsCompiled": (6, 2),  # PostgreSQL: start-up and the compiled read (compiled/cobuilding.py)
    "sharedStatisticsCompiled": (8, 3),  # PostgreSQL: start-up, the partner actor (one statement, #21), compiled
    "evaluations": (20, 17),
    "evaluationResultsCompiled": (13, 2),  # PostgreSQL: start-up and the compiled read (compiled/evaluations.py)
    "importJobs": (6, 3),
    "importJobsCompiled": (6, 2),  # PostgreSQL: start-up and the compiled read (compiled/ledgers.py)
    "households": (17, 13),
    "households_masked": (11, 8),
    "me": (6, 3),
    "meetings": (12, 9),
    "neighborLeads": (13, 2),  # start-up, the compiled read (compiled/care.py) with its full reads' audit (phones)
    "nodes": (15, 2),  # PostgreSQL: start-up, each id as the compiled node (compiled/nodes.py) with its reads' audit
    "notices": (8, 2),  # PostgreSQL: start-up and the compiled read (compiled/notices.py)
    "notifications": (11, 2),  # PostgreSQL: start-up and the compiled read (compiled/notifications.py)
    "overdueVisits": (21, 2),  # PostgreSQL: start-up and the compiled figures (compiled/care.py, cadence_sql)
    # PostgreSQL (#21): the partner actor (client and agreements) one driver statement; since sharedWishes
    # compiled for partners (h-gen) the whole document is one compiled statement (16 before)
    "partner": (18, 3),
    "partner_compiled": (11, 3),  # PostgreSQL: start-up, the partner actor (one statement, #21), compiled
    "persons": (13, 2),  # start-up, the compiled read with its full reads' audit entry (gongzhi.http.read_audit, #21)
    "person_moves": (9, 6),
    "personalDataReport": (11, 2),  # PostgreSQL: start-up, the compiled report (compiled/personal_data.py), audit in it
    "pointsBalanceCompiled": (9, 2),  # PostgreSQL: start-up and the compiled balances
    "policy": (6, 1),  # PostgreSQL: start-up; the compiled read (compiled/policy.py) ran at the first, its answer kept
    "roleAssignments": (9, 6),
    "topics": (13, 10),
    "topics_resident": (11, 7),
    "selfGoverningUnits": (9, 2),  # PostgreSQL: start-up and the compiled read (compiled/organisations.py)
    "serviceContracts": (12, 2),  # PostgreSQL: start-up and one compiled read of the three lists
    "unreadNotificationCountCompiled": (5, 2),  # PostgreSQL: start-up and the compiled count
    "users": (6, 2),  # PostgreSQL: start-up and the compiled read (compiled/users.py)
    "visitCoverage": (20, 2),  # PostgreSQL: start-up and the compiled figures (compiled/care.py, cadence_sql)
    "visits": (11, 8),
    "volunteering": (16, 2),  # start-up, the compiled read (compiled/volunteering.py) with its full reads' audit
    "walls": (9, 2),  # PostgreSQL: start-up and the compiled walls (compiled/walls.py)
    "wishes": (13, 2),  # PostgreSQL: start-up, the compiled read with its full reads' audit entry (read_audit, #21)
    # #21: the second run reads the days the first kept (no calendar statement); on PostgreSQL it is the compiled
    # read, whose one statement carries them as a parameter (compiled/calendar.py, h-gen; 1 before)
    "workingCalendar": (5, 2),
}


# ------------------------------------------------------------------ the walk


def _unwrap(t: Any) -> Any:
    while isinstance(t, GraphQLNonNull | GraphQLList):
        t = t.of_type
    return t


def _list_kind(t: Any) -> bool:
    while isinstance(t, GraphQLNonNull):
        t = t.of_type
    if isinstance(t, GraphQLList):
        return True
    return isinstance(t, GraphQLObjectType) and t.name.endswith("Connection")


def _reachable(schema: GraphQLSchema) -> list[GraphQLObjectType]:
    """Object types a query can reach from ``Query`` (through interfaces and unions too)."""
    assert schema.query_type is not None
    seen: dict[str, GraphQLObjectType] = {}
    todo: list[GraphQLNamedType] = [schema.query_type]
    while todo:
        t = todo.pop()
        if isinstance(t, GraphQLInterfaceType):
            todo.extend(schema.get_possible_types(t))
            continue
        if isinstance(t, GraphQLUnionType):
            todo.extend(t.types)
            continue
        if not isinstance(t, GraphQLObjectType) or t.name in seen:
            continue
        seen[t.name] = t
        todo.extend(_unwrap(f.type) for f in t.fields.values())
    return list(seen.values())


def list_fields(schema: GraphQLSchema) -> set[str]:
    """Every list or connection field a query can select, as ``Type.field`` — except a
    connection's own ``edges``/``nodes``, which are the page of the field returning it."""
    out: set[str] = set()
    for t in _reachable(schema):
        for name, f in t.fields.items():
            if t.name.endswith("Connection") and name in ("edges", "nodes"):
                continue
            if _list_kind(f.type):
                out.add(f"{t.name}.{name}")
    return out


def selected_fields(schema: GraphQLSchema, doc: str) -> set[str]:
    info = TypeInfo(schema)
    out: set[str] = set()

    class Collect(Visitor):
        def enter_field(self, node: Any, *_: Any) -> None:
            parent = info.get_parent_type()
            if parent is not None:
                out.add(f"{parent.name}.{node.name.value}")

    visit(parse(doc), TypeInfoVisitor(info, Collect()))
    return out


def test_every_list_field_has_a_count_case() -> None:
    schema = built_schema()._schema
    fields = list_fields(schema)
    missing = sorted(fields - REGISTRY.keys() - EXEMPT.keys())
    assert not missing, f"list fields without a query-count case in tests/resolvers/test_query_counts.py: {missing}"
    stale = sorted((REGISTRY.keys() | EXEMPT.keys()) - fields)
    assert not stale, f"registered list fields the schema no longer has: {stale}"
    assert not REGISTRY.keys() & EXEMPT.keys()


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_selects_what_it_covers(name: str) -> None:
    # The process's one schema (gongzhi.modules.schema, built once and only read here): building it per case
    # cost ≈ 0.5–1 s of CPU each, 57 cases (CI time, issue #21).
    schema = built_schema()._schema
    case = CASES[name]
    selected = selected_fields(schema, case.doc)
    assert set(case.covers) <= selected, sorted(set(case.covers) - selected)


def test_the_walk_finds_a_new_list_field() -> None:
    """The walk is not vacuous: on a schema with one more list field (nested, behind an interface,
    a connection) it reports exactly those; a connection's own page and unreachable types are left
    out; and on the real schema it sees the nested lists the issue names."""
    extra = build_ast_schema(parse("""
      type Query { a: [Int!]! thing: Thing node: Named }
      type Thing { id: ID! parts(first: Int): PartConnection! tags: [String!] child: Part }
      interface Named { name: String }
      type Part implements Named { name: String subparts: [Part!]! }
      type PartConnection { nodes: [Part!]! edges: [Part!]! totalCount: Int! }
      type Lonely { items: [Int] }
    """))
    assert list_fields(extra) == {"Query.a", "Thing.parts", "Thing.tags", "Part.subparts"}
    fields = list_fields(built_schema()._schema)
    for coord in ("Household.persons", "Case.timeline", "Building.households", "Query.cases", "Building.ancestors",
                  "Query.nodes", "Me.roles"):
        assert coord in fields
    assert "CaseConnection.nodes" not in fields
    assert len(fields) > 60


# ------------------------------------------------------------------ the counts


@dataclass
class Worlds:
    small: Scene
    large: Scene


@pytest.fixture(scope="module")
async def worlds(api: Api, db: DbEnv) -> AsyncIterator[Worlds]:
    scenes = []
    for n in (SMALL, LARGE):
        tw = await build_tenant(db.sessionmaker, new_slug(f"qc{n}-"))
        scenes.append(await populate(api, db, tw, n))
    await analyze(db)  # as autovacuum would: never-analyzed tables get nested-loop plans (tests.support.databases)
    yield Worlds(*scenes)


def items_at(data: Any, path: str) -> int:
    level = [data]
    for key in path.split("."):
        nxt: list[Any] = []
        for x in level:
            v = x.get(key) if isinstance(x, dict) else None
            if isinstance(v, list):
                nxt.extend(v)
            elif v is not None:
                nxt.append(v)
        level = nxt
    return len(level)


async def _run(api: Api, sc: Scene, case: CountCase) -> tuple[dict[str, Any], list[str]]:
    """The response and the statements of the second run (the first warms the policy cache)."""
    variables = case.variables(sc)
    if case.who == "partner":
        token, tenant = sc.partner_token, sc.tw.slug
    else:
        token, tenant = api.token(sc.tw, case.who), None
    for _ in range(2):
        with count_statements() as stmts:
            r = await api.post(case.doc, variables, token=token, tenant=tenant)
        body: dict[str, Any] = r.json()
        assert r.status_code == 200 and "errors" not in body, body
    return body, stmts


def _extra(small: list[str], large: list[str]) -> str:
    """The statements the large run executed more often than the small one (what grew)."""
    more = Counter(" ".join(x.split())[:300] for x in large)
    more.subtract(Counter(" ".join(x.split())[:300] for x in small))
    return "\n".join(f"{k:+d} x {stmt}" for stmt, k in more.most_common() if k)


@pytest.mark.parametrize("name", [pytest.param(n, id=f"{n}={'/'.join(map(str, EXPECTED.get(n, ())))}")
                                  for n in sorted(CASES)])
async def test_statement_count_is_fixed(api: Api, worlds: Worlds, name: str, db: DbEnv) -> None:
    case = CASES[name]
    small, s_small = await _run(api, worlds.small, case)
    large, s_large = await _run(api, worlds.large, case)
    n_small, n_large = len(s_small), len(s_large)
    for path in case.grows:
        s, big = items_at(small["data"], path), items_at(large["data"], path)
        assert big > s, f"{name}: {path} has {s} items with {SMALL} more rows, {big} with {LARGE}"
    assert n_large == n_small, (f"{name}: {n_small} statements with {SMALL} more rows, {n_large} with {LARGE}:\n"
                                + _extra(s_small, s_large))
    expected = EXPECTED[name][1 if db.is_pg else 0]
    assert n_small == expected, f"{name}: {n_small} statements, EXPECTED says {expected} on {db.kind}"


async def test_the_worlds_are_analyzed_as_autovacuum_would(worlds: Worlds, db: DbEnv) -> None:
    """The counts run on planner statistics, as in production: without them (never analyzed, every estimate one
    row) the firm's persons loader nested its loops into 16,737 scans of its served paths — 40 ms here, and once in
    CI past the 5 s statement timeout (SERVICE_UNAVAILABLE) on a loaded machine."""
    if not db.is_pg:
        pytest.skip("PostgreSQL's planner statistics")
    if citus.ENABLED:
        pytest.skip(citus.COORDINATOR_STATISTICS)
    async with db.owner_engine.connect() as conn:
        rows = dict((await conn.execute(text(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN ('persons', 'households', 'areas', "
            "'service_contracts') AND relkind = 'r'"))).all())
    assert set(rows) == {"persons", "households", "areas", "service_contracts"}
    assert all(n > 0 for n in rows.values()), rows


def test_every_case_has_its_fixed_count() -> None:
    assert EXPECTED.keys() == CASES.keys()


# ------------------------------------------------------------------ nested pages answer as the lists do

PAGE = "{ totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id } }"
NESTED = f"""query($a: String) {{ areas(first: 100) {{ nodes {{ id __typename
  ... on Street {{ children(first: 3, after: $a) {PAGE} }}
  ... on Community {{ children(first: 3, after: $a, kind: COMPOUND) {PAGE} }}
  ... on Zone {{ children(first: 3, after: $a) {PAGE} }}
  ... on Compound {{ children(first: 3, after: $a) {PAGE} households(first: 3, after: $a) {PAGE} }}
  ... on Grid {{ children(first: 3, after: $a) {PAGE} households(first: 3, after: $a) {PAGE} }}
  ... on Building {{ children(first: 3, after: $a) {PAGE} households(first: 3, after: $a) {PAGE} }}
}} }} }}"""
TOP_CHILDREN = f"""query($p: ID!, $a: String, $k: AreaKind) {{
  areas(parentId: $p, kind: $k, first: 3, after: $a) {PAGE} }}"""
TOP_HOUSEHOLDS = f"""query($p: ID!, $a: String) {{ households(areaId: $p, first: 3, after: $a) {PAGE} }}"""


@pytest.mark.parametrize("who", ["admin", "secretary", "grid2", "firm", "resident"])
async def test_nested_area_pages_answer_as_the_top_level_lists(api: Api, worlds: Worlds, who: str) -> None:
    """Area.children and Compound/Grid/Building.households come from one windowed statement for all
    the areas of a page: each area's page, cursor, hasNextPage and totalCount are what the top-level
    list gives for that area, for every role (the read predicates apply), on the first page and
    after a cursor."""
    tw = worlds.large.tw
    first = (await api.gql(tw, who, NESTED, {"a": None}))["data"]["areas"]["nodes"]
    assert first
    # A cursor from the longest households page, applied to every area's pages.
    pages = [a["households"] for a in first if "households" in a]
    longest = max(pages, key=lambda p: p["totalCount"]) if pages else None
    cursors: list[str | None] = [None]
    if longest and longest["pageInfo"]["endCursor"]:
        cursors.append(longest["pageInfo"]["endCursor"])
    compared = 0
    for after in cursors:
        nodes = first if after is None else (await api.gql(tw, who, NESTED, {"a": after}))["data"]["areas"]["nodes"]
        for area in nodes:
            kind = "COMPOUND" if area["__typename"] == "Community" else None
            top = await api.gql(tw, who, TOP_CHILDREN, {"p": area["id"], "a": after, "k": kind})
            assert area["children"] == top["data"]["areas"], (who, area["__typename"], after)
            if "households" in area:
                top = await api.gql(tw, who, TOP_HOUSEHOLDS, {"p": area["id"], "a": after})
                assert area["households"] == top["data"]["households"], (who, area["__typename"], after)
                compared += area["households"]["totalCount"]
    if who in ("admin", "secretary", "grid2", "firm"):
        assert compared > 0 and len(cursors) == 2, who  # households were really compared, on two pages


async def test_batched_nodes_still_refuse_a_malformed_id(api: Api, worlds: Worlds) -> None:
    """``nodes`` looks its ids up concurrently (to batch them); one malformed id among good ones
    still fails the field with INVALID_ID, as it did when they were looked up one by one."""
    sc = worlds.small
    ids = [*sc.ids["nodes"][:3], "not-a-global-id", *sc.ids["nodes"][3:]]
    body = await api.gql(sc.tw, "admin", "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids},
                         allow_errors=True)
    assert body["data"] == {"nodes": None} or body["data"] is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_ID", error
    good = await api.gql(sc.tw, "admin", "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                         {"ids": sc.ids["nodes"]})
    assert [n["id"] for n in good["data"]["nodes"]] == sc.ids["nodes"]


# ------------------------------------------------------------------ the connections of issue #25 page as the lists do

@dataclass(frozen=True)
class Paged:
    """A plain root list and its ``…Connection`` twin: same arguments, same selection, same order."""

    args: str = ""
    selection: str = "{ id }"
    who: str = "admin"
    variables: Callable[[Scene], dict[str, Any]] = NO_VARS
    params: str = ""  # the operation's variable declarations, without parentheses
    step: int = 3  # the page size to walk with


PERIOD = lambda sc: {"p": sc.ids["period"]}  # noqa: E731
PAGED: dict[str, Paged] = {
    "propertyFirms": Paged(selection="{ id name }"),
    "careTagKinds": Paged(selection="{ code name }"),
    "caseCategories": Paged(selection="{ code name }"),
    "caseCategorySettings": Paged(selection="{ code active }"),
    "slaRules": Paged(selection="{ category priority amount }"),
    "calendarOverrides": Paged(args="year: 2026", selection="{ day workday }"),
    "caseStageLimits": Paged(selection="{ stage tier category amount }"),
    "caseCategoryRules": Paged(selection="{ category requiresPhoto }"),
    "caseReviews": Paged(args="areaId: $s", params="$s: ID!", variables=lambda sc: {"s": sc.ids["street"]}),
    "careServices": Paged(),
    "evaluationItems": Paged(args="target: PROPERTY_FIRM, includeInactive: true", selection="{ code weight active }"),
    "evaluationPeriods": Paged(),
    "evaluationResults": Paged(args="periodId: $p, target: PROPERTY_FIRM", params="$p: ID!", variables=PERIOD,
                               selection="{ compound { id } rank score }"),
    "myEvaluationRatings": Paged(args="periodId: $p", params="$p: ID!", variables=PERIOD,
                                 selection="{ compound { id } target total }"),
    "myAgreements": Paged(who="partner", selection="{ id title }"),
    # Computed in Python from several sources (resolvers/care/cadence.py), paged in memory: see docs/api.md.
    "overdueVisits": Paged(args='asOf: "2026-11-01"', selection="{ household { id } daysOverdue }"),
    "visitCoverage": Paged(args='from: "2026-01-01", to: "2026-12-31", groupBy: GRID',
                           selection="{ groupName households visited }", step=2),
}


def _doc(field: str, p: Paged, connection: bool) -> str:
    params = ", ".join(x for x in (p.params, "$after: String" if connection else "") if x)
    if connection:
        args = ", ".join(x for x in (p.args, f"first: {p.step}", "after: $after") if x)
        body = (f"{field}Connection({args}) {{ totalCount pageInfo {{ hasNextPage hasPreviousPage endCursor }} "
                f"edges {{ cursor }} nodes {p.selection} }}")
    else:
        body = f"{field}({p.args}) {p.selection}" if p.args else f"{field} {p.selection}"
    return f"query{f'({params})' if params else ''} {{ {body} }}"


async def _ask(api: Api, sc: Scene, p: Paged, doc: str, variables: dict[str, Any]) -> dict[str, Any]:
    if p.who == "partner":
        r = await api.post(doc, variables, token=sc.partner_token, tenant=sc.tw.slug)
    else:
        r = await api.post(doc, variables, token=api.token(sc.tw, p.who))
    body: dict[str, Any] = r.json()
    return body


def test_every_legacy_plain_list_has_a_paging_case() -> None:
    from schema.shape import LEGACY_PLAIN_LISTS

    assert PAGED.keys() == LEGACY_PLAIN_LISTS.keys()


@pytest.mark.parametrize("field", sorted(PAGED))
async def test_a_connection_pages_its_plain_list(api: Api, worlds: Worlds, field: str) -> None:
    """Page by page (3 at a time, or ``step``) the connection gives exactly the plain list, in its order, with
    totalCount its length on every page; the last page says so; a page's cursors are the same when asked
    again (stable); and a cursor that is not this list's — garbage, another list's, a cut or lengthened
    one — is a typed INVALID_CURSOR error on ``after``."""
    sc, p = worlds.large, PAGED[field]
    variables = p.variables(sc)
    plain = await _ask(api, sc, p, _doc(field, p, False), variables)
    assert "errors" not in plain, plain
    expected = plain["data"][field]
    assert len(expected) > p.step, f"{field}: {len(expected)} items, too few to page"
    seen: list[Any] = []
    after: str | None = None
    pages = 0
    while True:
        page = (await _ask(api, sc, p, _doc(field, p, True), {**variables, "after": after}))
        assert "errors" not in page, page
        conn = page["data"][f"{field}Connection"]
        assert conn["totalCount"] == len(expected)
        assert conn["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert conn["pageInfo"]["endCursor"] == (conn["edges"][-1]["cursor"] if conn["edges"] else None)
        seen += conn["nodes"]
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            assert len(conn["nodes"]) == len(expected) - p.step * (pages - 1) <= p.step  # the last page
            break
        assert len(conn["nodes"]) == p.step
        again = (await _ask(api, sc, p, _doc(field, p, True), {**variables, "after": after}))
        assert again["data"][f"{field}Connection"]["edges"] == conn["edges"]  # stable cursors
        after = conn["pageInfo"]["endCursor"]
    assert seen == expected
    assert pages == -(-len(expected) // p.step)
    other = "careTagKinds" if field != "careTagKinds" else "caseCategories"
    other_cursor = (await _ask(api, sc, PAGED[other], _doc(other, PAGED[other], True), {"after": None}))[
        "data"][f"{other}Connection"]["pageInfo"]["endCursor"]
    for bad in ("bm90LWEtY3Vyc29y", other_cursor, after[:len(after) // 2], f"{after}AAAA"):
        body = await _ask(api, sc, p, _doc(field, p, True), {**variables, "after": bad})
        assert body["errors"][0]["extensions"] == {"code": "INVALID_CURSOR", "field": "after"}, (field, bad, body)


async def test_a_list_the_actor_may_not_read_is_an_empty_page_and_still_checks_its_cursor(
        api: Api, worlds: Worlds) -> None:
    """A user holding no role: propertyFirms is empty for them (no statement run for the list),
    totalCount 0 — and a cursor they send is still checked: INVALID_CURSOR, as for anyone."""
    sc = worlds.large
    p = Paged(selection="{ id name }", who="nobody")
    doc = _doc("propertyFirms", p, True)
    body = await _ask(api, sc, p, doc, {"after": None})
    assert "errors" not in body, body
    assert body["data"]["propertyFirmsConnection"] == {
        "totalCount": 0, "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None},
        "edges": [], "nodes": []}
    admin = await _ask(api, sc, PAGED["propertyFirms"], doc, {"after": None})
    good = admin["data"]["propertyFirmsConnection"]["pageInfo"]["endCursor"]
    again = await _ask(api, sc, p, doc, {"after": good})  # a cursor this list gives: still nothing to read
    assert again["data"]["propertyFirmsConnection"]["nodes"] == [], again
    bad = await _ask(api, sc, p, doc, {"after": "bm90LWEtY3Vyc29y"})
    assert bad["errors"][0]["extensions"] == {"code": "INVALID_CURSOR", "field": "after"}, bad
