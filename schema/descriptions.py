"""Descriptions applied centrally when the schema is built (issue #12).

Every type, field, argument and enum value of the schema carries a description in English with
the Chinese term. Most are written where the element is defined; this module fills in what is
left: enum values, recurring argument names (``first``, ``after``, ``areaId`` …) and arguments
whose meaning is specific to one field (keyed ``"Type.field(arg)"``). It only fills gaps: a
description written at the definition always wins, so a module can refine its own at any time.

``tests/test_descriptions.py`` fails on any element that still has none.
"""

from __future__ import annotations

from graphql import GraphQLEnumType, GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema

from resolvers.error_catalogue import CATALOGUE
from schema.shape import LEGACY_INPUT_NAMES, rename_notice

TYPES: dict[str, str] = {
    "Query": "Reads (查询). Every list is filtered in the database to what the caller may see.",
    "Mutation": "Changes (变更). Expected failures come back as typed errors in the payload; nothing is written then.",
    "Subscription": "Live updates over WebSocket (graphql-transport-ws) (实时推送), scoped like the reads.",
}

ENUM_VALUES: dict[str, str] = {
    **{f"ApiErrorCode.{code.value}": entry.meaning for code, entry in CATALOGUE.items()},
    # area tree
    "AreaKind.STREET": "Street office (街道): the tenant's root.",
    "AreaKind.COMMUNITY": "Community (社区).",
    "AreaKind.ZONE": "Zone (片区): optional grouping of compounds in a community.",
    "AreaKind.COMPOUND": "Residential compound (小区).",
    "AreaKind.GRID": "Grid (网格): covers buildings, possibly across compounds.",
    "AreaKind.BUILDING": "Building (楼栋).",
    "PartyOrgKind.COMMITTEE": "A party committee or general branch (党委/党总支), on a community.",
    "PartyOrgKind.BRANCH": "A party branch (党支部), on a compound, grid or community.",
    "PartyOrgKind.GROUP": "A party group (党小组), on a building, grid or compound.",
    "PartyOrgRole.SECRETARY": "The secretary (书记).",
    "PartyOrgRole.DEPUTY_SECRETARY": "A deputy secretary (副书记).",
    "PartyOrgRole.COMMITTEE_MEMBER": "A committee member (委员).",
    "PartyOrgRole.MEMBER": "A member (党员).",
    "ErrorCode.DUPLICATE_NAME": "Another area under the same parent has this name (同级区域重名).",
    "ErrorCode.FIRM_NOT_SERVING": "The firm has no contract for the case's compound that day (物业未服务该小区).",
    "PropertyManagement.FIRM": "Managed by a property firm (物业公司).",
    "PropertyManagement.THIRD_PARTY": "Managed by a third party (第三方托管), e.g. a market operator.",
    "PropertyManagement.SELF_MANAGED": "Managed by the owners themselves (自管).",
    "PropertyManagement.NONE": "No property management (无物业小区).",
    # register
    "Tenure.OWNER": "Owner-occupier (自有).",
    "Tenure.RENTER": "Tenant renting the dwelling (租住).",
    "Tenure.OTHER": "Any other tenure (其他).",
    "Gender.MALE": "Male (男).",
    "Gender.FEMALE": "Female (女).",
    "PersonStatus.ACTIVE": "On the current register (在册).",
    "PersonStatus.MOVED_OUT": "Moved out of the register (已迁出); archived, kept in the ledgers of their time.",
    "PersonStatus.DECEASED": "Deceased (已注销); archived, kept in the ledgers of their time.",
    # personal data (issue #24)
    "PersonalDataLink.PERSON": "The record names the person (居民).",
    "PersonalDataLink.HOUSEHOLD": "The record names the person's household (户), e.g. a visit or a ballot.",
    "PersonalDataLink.USER": "The record names a login account linked to the person (账号), e.g. a case they reported.",
    "ErasureReason.SUBJECT_REQUEST": "The person asked for it (本人申请).",
    "ErasureReason.DECEASED": "The person died (死亡注销).",
    "ErasureReason.MOVED_AWAY": "The person moved away (迁出).",
    "ErasureReason.OTHER": "Another reason, named by the request's reference (其他).",
    "Role.STREET_ADMIN": "Street admin (街道管理员): the whole tenant.",
    "Role.PARTY_SECRETARY": "Party secretary (党组织书记): a community or a compound.",
    "Role.GRID_LEADER": "Grid leader or grid worker (网格长 / 网格员): one or more grids.",
    "Role.OWNER_COMMITTEE_CHAIR": "Owner committee chair (业委会主任): a compound.",
    "Role.PROPERTY_FIRM": "Property firm staff (物业公司人员): the compounds the firm serves.",
    "Role.RESIDENT": "Resident (居民): the own household and public matters of its compound.",
    "Role.NEIGHBOR_LEAD": "Neighbourhood lead (邻长): a resident keeping in touch with assigned households.",
    "Role.PARTNER_UNIT": "Partner unit (共建单位): acts only through active agreements.",
    # cases
    "CasePriority.LOW": "Low (低).",
    "CasePriority.NORMAL": "Normal (一般).",
    "CasePriority.HIGH": "High (较急).",
    "CasePriority.URGENT": "Urgent (紧急).",
    "CaseState.REPORTED": "Reported, waiting to be accepted (已上报).",
    "CaseState.ACCEPTED": "Accepted, waiting to be dispatched (已受理).",
    "CaseState.REJECTED": "Rejected with a reason (已驳回); final.",
    "CaseState.WITHDRAWN": "Withdrawn by its reporter before it was accepted (已撤回); final.",
    "CaseState.DISPATCHED": "Dispatched to a handling unit with a due time (已派遣).",
    "CaseState.IN_PROGRESS": "Being handled (办理中).",
    "CaseState.RESOLVED": "Resolved, waiting for the reporter's feedback (已办结).",
    "CaseState.CLOSED": "Closed (已结案); can still be reopened by staff.",
    "CaseState.REOPENED": "Reopened: the reporter was unsatisfied or the check failed (已重启).",
    "HandlerKind.PROPERTY_FIRM": "A property firm (物业公司).",
    "HandlerKind.COMMUNITY": "The community itself (社区).",
    "HandlerKind.PARTNER_UNIT": "A partner unit (共建单位).",
    "CaseSource.GRID_PATROL": "Found on a grid worker's patrol (网格巡查).",
    "CaseSource.RESIDENT_REPORT": "Reported by a resident in person or through a portal (居民上报).",
    "CaseSource.HOTLINE_12345": "A work order of the city's 12345 hotline (12345 热线).",
    "CaseSource.MINI_PROGRAM": "Reported through the resident mini-program (小程序).",
    "CaseSource.WALK_IN": "Brought to the office by a visitor (来访).",
    "CaseSource.OTHER": "Any other channel, or not recorded (其他).",
    "CaseRateGroupBy.TOTAL": "One row for all the cases (合计).",
    "CaseRateGroupBy.COMMUNITY": "One row per community (社区); cases at street level in one row of their own.",
    "CaseRateGroupBy.HANDLING_UNIT": "One row per handling unit (承办单位); cases not yet dispatched are left out.",
    "CaseRateGroupBy.CATEGORY": "One row per case category (类别).",
    "RatePeriodKind.MONTH": "A calendar month (月): year and number 1–12.",
    "RatePeriodKind.QUARTER": "A calendar quarter (季度): year and number 1–4.",
    "RatePeriodKind.RANGE": "A range of local dates (自定义区间): from and to, at most 366 days.",
    "SlaUnit.WORKING_DAYS": "Working days of the tenant's calendar (工作日).",
    "SlaUnit.WORKING_HOURS": "Working hours of the tenant's calendar (工作小时).",
    "SlaUnit.CALENDAR_HOURS": "Hours on the clock, nights and holidays included (自然小时).",
    "SlaUnit.CALENDAR_DAYS": "Days of 24 hours on the clock, weekends and holidays included (自然日).",
    "WorkingDaySource.TENANT_OVERRIDE": "The tenant's own override (街道调整), setCalendarOverride.",
    "WorkingDaySource.PLATFORM_ARRANGEMENT": "The State Council's yearly arrangement loaded by the platform "
                                             "operator (国务院节假日安排), with its 调休 make-up working days.",
    "WorkingDaySource.PACKAGE": "The holiday data shipped with gongzhi (chinesecalendar: the published "
                                "arrangements, 2004–2026).",
    "WorkingDaySource.STATUTORY": "A statutory holiday of 《全国年节及纪念日放假办法》 computed for a year without "
                                  "package data or arrangement (法定节假日): off.",
    "WorkingDaySource.WEEKEND": "Saturday or Sunday in a year without package data or arrangement (周末): off.",
    "WorkingDaySource.WEEKDAY": "Monday to Friday in a year without package data or arrangement (工作日): working; "
                                "no 调休 make-up day is guessed.",
    "ErrorCode.INVALID": "Input is invalid (输入无效); see the field.",
    "ErrorCode.INVALID_ID": "A global ID is malformed or of the wrong type (ID无效).",
    "ErrorCode.NOT_FOUND": "No such object, or not one you may see (不存在).",
    "ErrorCode.FORBIDDEN": "You may not do this here (无权限).",
    "ErrorCode.CONFLICT": "The object changed meanwhile or already exists (冲突); reload and retry.",
    "ErrorCode.TOO_LONG": "Text exceeds its maximum length (过长).",
    "ErrorCode.INVALID_ID_CARD": "Not a valid resident ID card number (身份证号无效).",
    "ErrorCode.INVALID_PHONE": "Not a valid mobile phone number (手机号无效).",
    "ErrorCode.INVALID_PARENT": "That parent cannot hold this kind of area (上级区域无效).",
    "ErrorCode.INVALID_CURSOR": "A pagination cursor is malformed (游标无效).",
    "ErrorCode.INVALID_TRANSITION": "The workflow does not allow this step from the current state (状态不允许).",
    "ErrorCode.IDEMPOTENCY_KEY_REUSED": "This idempotencyKey was used for a different request (幂等键已用于其他请求); "
                                        "use a new key for a new request.",
    "ErrorCode.EVENTS_INTERRUPTED": "A subscription stream may have missed events and ended (实时事件中断); "
                                    "re-subscribe and re-read.",
    "ErrorCode.PHOTO_REQUIRED": "The case's category is resolved only with a photo of the result (办结须上传现场照片).",
    "ErrorCode.DUPLICATE_TICKET_NO": "This 12345 work-order number is already on another case of the street office "
                                     "(工单号重复); see the field.",
    "ErrorCode.CONSENT_REQUIRED": "Personal data would go to a partner unit without any person's recorded consent "
                                  "(需本人同意, PIPL art. 23); record consents first.",
    # volunteering and points
    "OrganiserKind.PARTY_ORG": "A party organisation (党组织).",
    "OrganiserKind.COMMUNITY": "The community (社区).",
    "OrganiserKind.OWNER_COMMITTEE": "An owner committee (业委会).",
    "OrganiserKind.PROPERTY_FIRM": "A property firm (物业公司).",
    "OrganiserKind.PARTNER_UNIT": "A partner unit (共建单位).",
    "ActivityState.PUBLISHED": "Published, open for sign-up (已发布).",
    "ActivityState.CANCELLED": "Cancelled (已取消).",
    "SignupState.SIGNED_UP": "Signed up (已报名).",
    "SignupState.CANCELLED": "Sign-up cancelled (已取消).",
    "SignupState.CHECKED_IN": "Checked in at the activity (已签到).",
    "SignupState.CHECKED_OUT": "Checked out; hours recorded, not yet confirmed (已签退).",
    "SignupState.CONFIRMED": "Hours confirmed and points awarded (已确认).",
    "PointsEntryKind.HOURS": "Points for confirmed volunteer hours (服务时长).",
    "PointsEntryKind.MANUAL": "Points awarded by hand by staff (手动奖励).",
    "PointsEntryKind.REDEMPTION": "Points spent on a redemption (兑换扣减).",
    "PointsEntryKind.REVERSAL": "Points given back, e.g. a redemption rejected or cancelled (冲正).",
    "RedemptionState.REQUESTED": "Requested, waiting for approval (待审核).",
    "RedemptionState.APPROVED": "Approved and handed out (已批准).",
    "RedemptionState.REJECTED": "Rejected; points given back (已驳回).",
    "RedemptionState.CANCELLED": "Cancelled by the requester; points given back (已取消).",
    # evaluations
    "EvaluationPeriodState.OPEN": "Open for ratings (进行中).",
    "EvaluationPeriodState.CLOSED": "Closed and read-only (已结束).",
    "EvaluationTarget.PROPERTY_FIRM": "A compound's property firm (物业公司).",
    "EvaluationTarget.OWNER_COMMITTEE": "A compound's owner committee (业委会).",
    # care
    "LeadTitle.NEIGHBOR": "Neighbourhood lead (邻长).",
    "LeadTitle.BUILDING": "Building lead (楼栋长).",
    "LeadTitle.UNIT": "Unit lead (单元长).",
    "VisitKind.ROUTINE": "Routine visit (例行走访).",
    "VisitKind.KEY_HOUSEHOLD": "Visit of a key household (重点户走访).",
    "VisitKind.CARE": "Care visit (关爱走访).",
    "VisitKind.FOLLOW_UP": "Follow-up visit (回访).",
    "WishState.OPEN": "Posted, waiting to be claimed (待认领).",
    "WishState.CLAIMED": "Claimed by a party member or a partner unit (已认领).",
    "WishState.FULFILLED": "Fulfilled by the claimer, waiting for confirmation (已实现).",
    "WishState.CONFIRMED": "Confirmed by staff or the resident (已确认).",
    "WishState.CANCELLED": "Cancelled (已取消).",
    "CoverageGrouping.TOTAL": "One figure for the whole area (合计).",
    "CoverageGrouping.LEAD": "One figure per neighbourhood lead (按邻长).",
    "CoverageGrouping.GRID": "One figure per grid (按网格).",
    "CoverageGrouping.COMMUNITY": "One figure per community (按社区).",
    # deliberation
    "TopicState.PROPOSED": "Proposed (已提出).",
    "TopicState.ACCEPTED": "Accepted for deliberation (已受理).",
    "TopicState.DELIBERATED": "Discussed in a meeting (已协商).",
    "TopicState.DECIDED": "Decided (已决定).",
    "TopicState.IMPLEMENTING": "Being carried out (落实中).",
    "TopicState.DONE": "Carried out (已落实).",
    "TopicState.REVIEWED": "Reviewed afterwards (已复盘).",
    "TopicState.DECLINED": "Declined (不予受理).",
    "TopicState.CANCELLED": "Cancelled by staff, or withdrawn by its proposer, before a decision (已取消).",
    "VoteMatter.RAISE_MAINTENANCE_FUND": "Raise maintenance funds (筹集维修资金), Civil Code art. 278(6): "
                                         "three quarters.",
    "VoteMatter.REBUILD": "Rebuild or reconstruct buildings (改建、重建), art. 278(7): three quarters.",
    "VoteMatter.CHANGE_COMMON_PARTS": "Change the use of common parts or run a business on them (改变共有部分用途), "
                                      "art. 278(8): three quarters.",
    "VoteMatter.USE_MAINTENANCE_FUND": "Use maintenance funds (使用维修资金), art. 278(5): more than half.",
    "VoteMatter.OTHER": "Any other common matter of the owners (其他共同决定事项): more than half.",
    "VoteState.OPEN": "Open for ballots (投票中).",
    "VoteState.CLOSED": "Closed and tallied (已结束).",
    "BallotChoice.YES": "In favour (同意).",
    "BallotChoice.NO": "Against (反对).",
    "BallotChoice.ABSTAIN": "Abstain (弃权).",
    "BallotMethod.ONLINE": "Cast online by a registered owner (线上投票); changeable until the close.",
    "BallotMethod.PROXY": "An owner's written proxy, recorded by staff (委托投票); final.",
    "BallotMethod.PAPER": "A paper ballot, recorded by staff (纸质表决票); final.",
    "MeetingState.CONVENED": "Convened, minutes may still be recorded (已召开).",
    "MeetingState.CLOSED": "Closed with its minutes (已结束).",
    "MeetingState.CANCELLED": "Called off before it was held (已取消).",
    "PartnerKind.ENTERPRISE": "Enterprise (企业).",
    "PartnerKind.SCHOOL": "School (学校).",
    "PartnerKind.HOSPITAL": "Hospital (医院).",
    "PartnerKind.ASSOCIATION": "Association (协会).",
    "PartnerKind.SOCIAL_ORG": "Social organisation (社会组织).",
    "PartnerKind.OTHER": "Other unit (其他单位).",
    "AgreementStatus.DRAFT": "Being drafted; grants nothing (草拟).",
    "AgreementStatus.ACTIVE": "In force between its dates (生效).",
    "AgreementStatus.SUSPENDED": "Paused; grants nothing until resumed (暂停).",
    "AgreementStatus.EXPIRED": "Past its end date (到期).",
    "AgreementStatus.TERMINATED": "Ended early for good (终止).",
    "SharedActivityState.PUBLISHED": "Published, open for sign-up (已发布).",
    "SharedActivityState.CANCELLED": "Cancelled by the organiser (已取消).",
    "SharedWishState.OPEN": "Waiting to be claimed (待认领).",
    "SharedWishState.CLAIMED": "Claimed (已认领).",
    "SharedWishState.FULFILLED": "Fulfilled, waiting for confirmation (已实现).",
    "SharedWishState.CONFIRMED": "Confirmed by the beneficiary or poster (已确认).",
    "SharedWishState.CANCELLED": "Cancelled (已取消).",
    "InServiceKind.HOURS": "Hours of service (服务时长).",
    "InServiceKind.WISH": "A wish claimed and fulfilled (认领微心愿).",
    "InServiceKind.ACTIVITY": "A volunteer activity joined (参加活动).",
    # case stages (issue #22)
    "CaseStageKind.ACCEPT": "Acceptance (受理/签收): from the report to its acceptance.",
    "CaseStageKind.DISPATCH": "Dispatch (派遣): from acceptance, a return or a reopening to the dispatch.",
    "CaseStageKind.HANDLE": "Handling (处置/办结): from the dispatch, a transfer or a rework to the resolution.",
    "CaseStageKind.CALLBACK": "Call-back (回访): from the closure to the call-back.",
    "UrgencyTier.URGENT": "Urgent (紧急): priority URGENT.",
    "UrgencyTier.EXPEDITED": "Expedited (加急): priority HIGH.",
    "UrgencyTier.ORDINARY": "Ordinary (一般): priority NORMAL or LOW.",
    "CaseCallbackResult.SATISFIED": "Solved, and the reporter is satisfied (满意).",
    "CaseCallbackResult.BASICALLY_SATISFIED": "Solved, and the reporter is mostly satisfied (基本满意).",
    "CaseCallbackResult.UNSATISFIED": "Solved, but the reporter is not satisfied (不满意).",
    "CaseCallbackResult.NOT_SOLVED": "Not solved (未解决): the case is reopened.",
    "CaseCallbackResult.UNREACHABLE": "The reporter could not be reached (无法联系).",
}

# Arguments whose name means the same everywhere.
ARGUMENTS: dict[str, str] = {
    "firmId": "Global ID of the property firm (物业公司ID).",
    "on": "Only those in force on this day (生效日期).",
    "includeDeactivated": "Deactivated accounts too (含已停用账号).",
    "first": "Page size (每页条数): at most 100.",
    "after": "Cursor (游标) of the last item of the previous page (its pageInfo.endCursor); omit for the first page.",
    "input": "The mutation's input (输入); see its type for the fields.",
    "areaId": "Only inside this area's subtree (区域ID): a global ID of any level.",
    "kind": "Only areas of this level (区域层级).",
    "states": "Only objects in one of these states (状态); all when omitted.",
    "personId": "Global ID of the person (居民ID).",
    "householdId": "Global ID of the household (户ID).",
    "compoundId": "Global ID of the compound (小区ID).",
    "communityId": "Global ID of the community (社区ID).",
    "periodId": "Global ID of the evaluation period (评比周期ID).",
    "activityId": "Global ID of the activity (活动ID).",
    "leadId": "Global ID of the neighbourhood lead (邻长ID).",
    "ids": "Global IDs (全局ID).",
    "target": "What is rated (评比对象).",
}

# Arguments whose meaning depends on the field: "Type.field(arg)".
FIELD_ARGUMENTS: dict[str, str] = {
    "Query.agreements(partnerUnitId)": "Only agreements of this partner unit (共建单位ID).",
    "Query.agreements(statuses)": "Only agreements in one of these statuses (协议状态).",
    "Query.agreements(activeOn)": "Only agreements in force on this date (生效日期).",
    "Query.inserviceMembers(partnerUnitId)": "Only members of this work unit (工作单位ID).",
    "Query.inserviceSummary(partnerUnitId)": "The work unit whose members' service is summed (工作单位ID).",
    "Mutation.rotatePartnerClientSecret(id)": "Global ID of the partner API client (客户端ID).",
    "Mutation.revokePartnerClient(id)": "Global ID of the partner API client (客户端ID).",
    "Query.node(id)": "Global ID of any object (全局ID); null when not found or not yours to see.",
    "Query.nodes(ids)": "Up to 100 global IDs (全局ID).",
    "Query.areas(parentId)": "Only direct children of this area (上级区域ID).",
    "Query.persons(partyMember)": "Only party members (党员), or only non-members when false.",
    "Query.roleAssignments(role)": "Only assignments of this role (角色).",
    "Query.roleAssignments(includeInactive)": "Also assignments outside their validity window (含已失效).",
    "Query.auditLog(action)": "Only entries of this action, e.g. a mutation name (操作).",
    "Query.auditLog(username)": "Only entries of this user's login name (账号).",
    "Query.auditLog(since)": "Only entries at or after this instant (起始时间).",
    "Query.auditLog(until)": "Only entries before this instant (截止时间).",
    "Query.calendarOverrides(year)": "Calendar year (年份), e.g. 2025.",
    "Query.cases(category)": "Only cases of this category code (事件分类), see caseCategories.",
    "Query.cases(reportedByMe)": "Only cases you reported (我上报的), or only others' when false.",
    "Query.notifications(unreadOnly)": "Only unread notifications (未读).",
    "Query.caseRates(period)": "The period (统计期): the cases reported in it are counted.",
    "Query.caseRates(groupBy)": "How the rows are grouped (分组); TOTAL when omitted.",
    "Query.handlingUnitRanking(period)": "The period (统计期): the cases reported in it are counted.",
    "EvaluationPeriod.caseRates(groupBy)": "How the rows are grouped (分组); per handling unit when omitted.",
    "Query.caseStatistics(areaId)": "Area whose subtree is counted (统计区域); your whole reach when omitted.",
    "Query.caseReviews(areaId)": "Area whose subtree's feedback is listed (区域).",
    "Query.notices(includeExpired)": "Also notices past their expiry (含已过期).",
    "Query.problemWall(compoundId)": "The compound whose problem wall (问题墙) to show.",
    "Query.echoWall(compoundId)": "The compound whose echo wall (回音壁) to show.",
    "Query.neighborLeads(includeEnded)": "Also leads whose assignment has ended (含已卸任).",
    "Query.overdueVisits(areaId)": "Judge the households of this area (grid, community …) (区域).",
    "Query.overdueVisits(leadId)": "Judge the households this lead keeps (邻长).",
    "Query.visitCoverage(groupBy)": "How to group the figures (分组): total, per lead, grid or community.",
    "Query.careServices(tagCode)": "Only services for this care group code, e.g. living_alone (重点人群类别).",
    "Query.careServiceRecords(serviceId)": "Only records of this service (服务项目ID).",
    "Query.wishes(claimedByMe)": "Only wishes you claimed (我认领的).",
    "Query.rewardItems(communityId)": "Only the catalogue of this community (社区).",
    "Query.evaluationItems(target)": "Rating items for this target (评比对象).",
    "Query.calendarOverridesConnection(year)": "Calendar year (年份), e.g. 2025.",
    "Query.caseReviewsConnection(areaId)": "Area whose subtree's feedback is listed (区域).",
    "Query.overdueVisitsConnection(areaId)": "Judge the households of this area (grid, community …) (区域).",
    "Query.overdueVisitsConnection(leadId)": "Judge the households this lead keeps (邻长).",
    "Query.visitCoverageConnection(groupBy)": "How to group the figures (分组): total, per lead, grid or community.",
    "Query.careServicesConnection(tagCode)": "Only services for this care group code, e.g. living_alone "
                                             "(重点人群类别).",
    "Query.evaluationItemsConnection(target)": "Rating items for this target (评比对象).",
    "Mutation.removeCalendarOverride(day)": "The local day whose override to remove (日期).",
    "Mutation.setFeedbackWaitDays(days)": "Days a resolved case waits for feedback before it closes (反馈等待天数).",
    "Mutation.markNotificationsRead(ids)": "Global IDs of your notifications to mark read (通知ID).",
    "Mutation.endNeighborLead(id)": "Global ID of the lead assignment to end (邻长ID).",
    "Mutation.signUpForActivity(activityId)": "Global ID of the activity to sign up for (活动ID).",
    "Mutation.cancelActivitySignup(id)": "Global ID of the sign-up to cancel (报名ID).",
    "Mutation.checkInActivity(id)": "Global ID of the sign-up to check in (报名ID).",
    "Mutation.checkOutActivity(id)": "Global ID of the sign-up to check out (报名ID).",
    "Mutation.confirmActivityHours(id)": "Global ID of the sign-up whose hours to confirm (报名ID).",
    "Mutation.setPointsRule(pointsPerHour)": "Points per confirmed volunteer hour (每小时积分).",
    "Mutation.restockRewardItem(id)": "Global ID of the catalogue item (兑换物品ID).",
    "Mutation.restockRewardItem(add)": "How many to add to the stock (补充数量), positive.",
    "Mutation.requestRedemption(itemId)": "Global ID of the catalogue item to exchange points for (兑换物品ID).",
    "Mutation.cancelRedemption(id)": "Global ID of your redemption request (兑换申请ID).",
    "Mutation.openEvaluationPeriod(month)": "Any day of the month to rate (评比月份); the period is that month.",
    "Mutation.closeEvaluationPeriod(id)": "Global ID of the period to close (评比周期ID).",
}


# Issue #25: the input types renamed at the next release say so, dated, on the argument (schema/shape.py).
FIELD_ARGUMENTS.update({f"Mutation.{name}(input)": rename_notice(name) for name in LEGACY_INPUT_NAMES})


def describe(schema: GraphQLSchema) -> GraphQLSchema:
    """Fill in the descriptions the definitions leave out; never overwrite one."""
    for name, type_ in schema.type_map.items():
        if name.startswith("__"):
            continue
        if not type_.description and name in TYPES:
            type_.description = TYPES[name]
        if isinstance(type_, GraphQLEnumType):
            for value_name, value in type_.values.items():
                if not value.description:
                    value.description = ENUM_VALUES.get(f"{name}.{value_name}")
        elif isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in type_.fields.items():
                for arg_name, arg in field.args.items():
                    if not arg.description:
                        arg.description = FIELD_ARGUMENTS.get(f"{name}.{field_name}({arg_name})",
                                                              ARGUMENTS.get(arg_name))
    return schema
