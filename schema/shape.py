"""One shape for the whole schema (issue #25): the rules, and the frozen list of legacy exceptions.

The rules, for every element a portal or partner builds against:

- a mutation takes exactly one argument, ``input: <MutationName>Input!``, and returns a payload with
  ``errors: [UserError!]!`` (typed: code, message, field);
- a closed set is an enum, never a free String (``CLOSED_SET_NAMES`` names the fields and arguments
  that are closed sets wherever they appear, ``CLOSED_SET_FIELDS`` the coordinates whose names alone do
  not say so);
- a root list that can grow is a connection (``first``/``after``, ``totalCount``); a root list is
  plain only when it cannot grow (``BOUNDED_ROOT_LISTS``, each with why).

``shape_exceptions`` walks a schema and lists every element that breaks a rule and is not a legacy
exception below. Those lists are frozen: an entry may only be removed (when the next release drops or
renames the legacy form), never added — tests/schema/test_schema_rules.py checks that each entry is in
``schema/released.graphql`` with the legacy shape it excuses (three elements added on main after that
release and before the rule are listed there by name), so a new mutation, list or field cannot join
them. ``make schema-compat`` runs the same walk.

How the legacy forms go (docs/api.md, "One shape"):

- bare arguments (``LEGACY_BARE_ARGUMENTS``): nullable and ``@deprecated`` (dated) beside the ``input``
  form; removed at the next release;
- misnamed input types (``LEGACY_INPUT_NAMES``): GraphQL cannot deprecate an input type, and a new name
  breaks every client's variable declaration (``$input: CaseTransitionInput!``) at once. So the rename is
  announced, per mutation, in the description of its ``input`` argument, dated, and made at the next
  release; gongzhi.ops.schema_compat accepts exactly that announced rename then, and no other;
- String fields of closed sets (``LEGACY_STRING_FIELDS``): deprecated (dated) beside an enum-typed twin;
- plain root lists (``LEGACY_PLAIN_LISTS``): deprecated (dated) beside a ``…Connection`` field.
"""

from __future__ import annotations

import re

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    get_named_type,
)

from schema.common import SHAPE_SINCE

# ------------------------------------------------------------------ the frozen legacy exceptions

# Mutations that took bare arguments when the rule came (issue #25); each now has its input form too.
LEGACY_BARE_ARGUMENTS: frozenset[str] = frozenset({
    "removeCalendarOverride", "setFeedbackWaitDays", "markNotificationsRead", "endNeighborLead",
    "signUpForActivity", "cancelActivitySignup", "checkInActivity", "checkOutActivity", "confirmActivityHours",
    "setPointsRule", "restockRewardItem", "requestRedemption", "cancelRedemption", "openEvaluationPeriod",
    "closeEvaluationPeriod", "rotatePartnerClientSecret", "revokePartnerClient",
})

# Mutation → the input type it takes today; renamed <MutationName>Input at the next release.
LEGACY_INPUT_NAMES: dict[str, str] = {
    "acceptCase": "CaseTransitionInput",
    "rejectCase": "CaseReasonInput",
    "startCase": "CaseTransitionInput",
    "closeCase": "CaseTransitionInput",
    "reopenCase": "CaseReasonInput",
    "giveCaseFeedback": "CaseFeedbackInput",
    "superviseCase": "CaseTransitionInput",
    "urgeCase": "CaseReasonInput",
    "acceptTopic": "TopicTransitionInput",
    "declineTopic": "TopicTextInput",
    "decideTopic": "TopicTextInput",
    "startTopicImplementation": "TopicTransitionInput",
    "completeTopic": "TopicTransitionInput",
    "reviewTopic": "TopicTextInput",
    "raiseCaseToTopic": "RaiseCaseInput",
    "closeVote": "TopicTransitionInput",
    "appointNeighborLead": "AppointLeadInput",
    "setNeighborLeadHouseholds": "SetLeadHouseholdsInput",
    "claimWish": "WishTransitionInput",
    "fulfilWish": "WishTransitionInput",
    "confirmWish": "WishTransitionInput",
    "cancelWish": "WishTransitionInput",
    "approveRedemption": "DecideRedemptionInput",
    "rejectRedemption": "DecideRedemptionInput",
    "rateEvaluation": "RateInput",
    "grantPermission": "PolicyRuleInput",
    "revokePermission": "PolicyRuleInput",
    "createPartnerUnit": "PartnerUnitInput",
    "createAgreement": "AgreementInput",
    "registerInserviceMember": "RegisterInServiceInput",
    "recordInserviceService": "RecordInServiceInput",
}

# Root list → the connection beside it.
LEGACY_PLAIN_LISTS: dict[str, str] = {name: f"{name}Connection" for name in (
    "propertyFirms", "careTagKinds", "caseCategorySettings", "slaRules", "calendarOverrides", "caseStageLimits",
    "caseCategoryRules", "caseCategories", "caseReviews", "overdueVisits", "visitCoverage", "careServices",
    "evaluationItems", "evaluationPeriods", "evaluationResults", "myEvaluationRatings", "myAgreements",
)}

# String field or input field of a closed set → its enum-typed twin.
LEGACY_STRING_FIELDS: dict[str, str] = {
    "Agreement.grants": "Agreement.sharedData",
    "PartnerAgreement.grants": "PartnerAgreement.sharedData",
    "AgreementInput.grants": "AgreementInput.sharedData",
    "UpdateAgreementInput.grants": "UpdateAgreementInput.sharedData",
    "Signatory.side": "Signatory.party",
    "SignatoryInput.side": "SignatoryInput.party",
    "CaseTimelineEntry.action": "CaseTimelineEntry.step",
    "CaseEventMessage.action": "CaseEventMessage.step",
    "CaseStage.outcome": "CaseStage.outcomeStep",
    "CaseTimelineEntry.actorRole": "CaseTimelineEntry.actingRole",
    "Visit.visitorRole": "Visit.visitorActingRole",
    "Notification.kind": "Notification.reason",
    "AuditEntry.outcome": "AuditEntry.result",
    "AuditChange.op": "AuditChange.operation",
    "PolicyRule.role": "PolicyRule.grantedRole",
    "PolicyRule.condition": "PolicyRule.conditionKind",
    "PolicyRuleInput.role": "PolicyRuleInput.grantedRole",
    "PolicyRuleInput.condition": "PolicyRuleInput.conditionKind",
}

# ------------------------------------------------------------------ what the rules know

# Field and argument names that are closed sets wherever they appear (a String of one of these names
# is refused). Codes of tenant-defined vocabularies (category, care tag, evaluation item) are open:
# each tenant adds its own, so they stay String.
CLOSED_SET_NAMES: frozenset[str] = frozenset({
    "state", "states", "status", "statuses", "side", "action", "outcome", "op", "kind", "role", "roles",
    "actorRole", "visitorRole", "grants", "priority", "stage", "target", "groupBy", "unit", "source", "channel",
    "level", "verdict", "direction", "condition",
})

# Closed sets whose name alone does not say so: coordinate → its enum. Entries stay after the legacy
# String beside them is gone.
CLOSED_SET_FIELDS: dict[str, str] = {
    "Agreement.sharedData": "AgreementGrant",
    "PartnerAgreement.sharedData": "AgreementGrant",
    "AgreementInput.sharedData": "AgreementGrant",
    "UpdateAgreementInput.sharedData": "AgreementGrant",
    "Signatory.party": "SignatoryParty",
    "SignatoryInput.party": "SignatoryParty",
    "CaseTimelineEntry.step": "CaseStep",
    "CaseEventMessage.step": "CaseStep",
    "CaseStage.outcomeStep": "CaseStep",
    "CaseTimelineEntry.actingRole": "Role",
    "Visit.visitorActingRole": "Role",
    "Notification.reason": "NotificationKind",
    "AuditEntry.result": "MutationOutcome",
    "AuditChange.operation": "AuditOperation",
    "PolicyRule.grantedRole": "Role",
    "PolicyRule.conditionKind": "PolicyCondition",
    "PolicyRuleInput.grantedRole": "Role",
    "PolicyRuleInput.conditionKind": "PolicyCondition",
    "KeyCount.state": "CaseState",
    "SharedCount.caseState": "CaseState",
    "SharedCount.activityState": "SharedActivityState",
}

# Strings that carry a closed-set name but are not one, with why (not legacy: they stay).
NOT_CLOSED: dict[str, str] = {
    "AuditEntry.action": "a mutation's name or a read's kind: grows with every mutation (the audit log's key)",
    "PolicyRule.action": "one half of a (resource, action) pair checked against the platform's pairs, which grow "
                         "with each domain's declaration; an enum would have to name pairs (INVALID otherwise)",
    "PolicyRuleInput.action": "see PolicyRule.action",
    "Query.auditLog(action:)": "filters by AuditEntry.action (see there)",
    "Household.unit": "the unit number of a dwelling (单元号), free text",
    "CreateHouseholdInput.unit": "the unit number of a dwelling (单元号), free text",
    "UpdateHouseholdInput.unit": "the unit number of a dwelling (单元号), free text",
    "AuditEntry.roles": "a comma-separated record of the roles held, kept as written in the log",
    "PersonalDataRead.roles": "a comma-separated record of the roles held, kept as written in the log",
}

# Root lists that cannot grow, with why.
BOUNDED_ROOT_LISTS: dict[str, str] = {
    "errorCodes": "the error catalogue, a constant of the code",
    "lianchuangAreas": "the six 联创 areas, a constant of the code",
    "nodes": "as many as the ids asked for, at most 100",
    "workingCalendar": "one entry per day of the from/to range the caller gives, capped",
}

RENAME_NOTICE = re.compile(r"renamed `?(?P<new>\w+)`? at the next release \(announced since "
                           r"(?P<since>\d{4}-\d{2}-\d{2})\)")


def input_type_name(mutation_name: str) -> str:
    return mutation_name[0].upper() + mutation_name[1:] + "Input"


def rename_notice(mutation_name: str) -> str:
    """The description of a legacy-named ``input`` argument: the announced rename, dated (read back by
    gongzhi.ops.schema_compat from the released schema)."""
    new = input_type_name(mutation_name)
    return (f"The mutation's input (输入); see its type for the fields. Its type will be renamed `{new}` at the "
            f"next release (announced since {SHAPE_SINCE}): declare the variable as `$input: {new}!` "
            f"then (docs/api.md, \"One shape\").")


# ------------------------------------------------------------------ the walk


def _unwrap(type_: GraphQLType) -> GraphQLType:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return type_


def _dated(element: object) -> bool:
    reason = getattr(element, "deprecation_reason", None)
    return bool(reason and re.search(r"since \d{4}-\d{2}-\d{2}", reason))


def _is_connection(type_: GraphQLType) -> bool:
    named = get_named_type(type_)
    return (isinstance(named, GraphQLObjectType) and named.name.endswith("Connection")
            and {"edges", "pageInfo", "nodes", "totalCount"} <= named.fields.keys())


def _mutation_problems(schema: GraphQLSchema) -> list[str]:
    problems: list[str] = []
    mutation = schema.mutation_type
    if mutation is None:
        return problems
    for name, field in mutation.fields.items():
        expected = input_type_name(name)
        input_arg = field.args.get("input")
        bare = {a: arg for a, arg in field.args.items() if a != "input"}
        if bare and name not in LEGACY_BARE_ARGUMENTS:
            problems.append(f"Mutation.{name} takes bare arguments {sorted(bare)}: take one `input: {expected}!`")
        elif bare:
            undated = [a for a, arg in bare.items() if not _dated(arg)]
            if undated:
                problems.append(f"Mutation.{name}: legacy bare arguments {undated} are not deprecated with a date")
        if input_arg is None:
            problems.append(f"Mutation.{name} has no `input` argument: take one `input: {expected}!`")
        else:
            got = get_named_type(input_arg.type).name
            legacy = LEGACY_INPUT_NAMES.get(name)
            if got != expected and got != legacy:
                problems.append(f"Mutation.{name}(input:) is typed {got}: name it {expected}")
            if got == legacy and not RENAME_NOTICE.search(input_arg.description or ""):
                problems.append(f"Mutation.{name}(input:) is a legacy {got} without its dated rename notice")
            if not bare and not isinstance(input_arg.type, GraphQLNonNull):
                problems.append(f"Mutation.{name}(input:) must be required ({got}!)")
        payload = get_named_type(field.type)
        errors = payload.fields.get("errors") if isinstance(payload, GraphQLObjectType) else None
        error_type = get_named_type(errors.type) if errors is not None else None
        if not (isinstance(error_type, GraphQLObjectType)
                and isinstance(get_named_type(error_type.fields["code"].type) if "code" in error_type.fields
                               else None, GraphQLEnumType)):
            problems.append(f"Mutation.{name} returns {payload.name}: return a payload with typed `errors` "
                            "(code enum, message, field)")
    return problems


def _string_problems(schema: GraphQLSchema) -> list[str]:
    problems: list[str] = []
    for type_name, type_ in schema.type_map.items():
        if type_name.startswith("__") or not isinstance(
                type_, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            continue
        members: list[tuple[str, str, object]] = []
        for field_name, field in type_.fields.items():
            members.append((f"{type_name}.{field_name}", field_name, field))
            for arg_name, arg in getattr(field, "args", {}).items():
                members.append((f"{type_name}.{field_name}({arg_name}:)", arg_name, arg))
        for coord, member_name, element in members:
            if get_named_type(element.type).name != "String":  # type: ignore[attr-defined]
                continue
            if member_name not in CLOSED_SET_NAMES and coord not in CLOSED_SET_FIELDS:
                continue
            if coord in NOT_CLOSED:
                continue
            if coord in LEGACY_STRING_FIELDS:
                if not _dated(element):
                    problems.append(f"{coord} is a legacy String of a closed set: deprecate it with a date")
                continue
            problems.append(f"{coord} is a String of a closed set: make it an enum")
    return problems


def _list_problems(schema: GraphQLSchema) -> list[str]:
    problems: list[str] = []
    query = schema.query_type
    if query is None:
        return problems
    for name, field in query.fields.items():
        if not isinstance(_unwrap(field.type), GraphQLList) or name in BOUNDED_ROOT_LISTS:
            continue
        connection = LEGACY_PLAIN_LISTS.get(name)
        if connection is None:
            problems.append(f"Query.{name} is a plain list that can grow: make it a connection (first/after)")
            continue
        if not _dated(field):
            problems.append(f"Query.{name} is a legacy plain list: deprecate it with a date")
        twin: GraphQLField | None = query.fields.get(connection)
        if twin is None or not _is_connection(twin.type):
            problems.append(f"Query.{name} is a legacy plain list without its connection {connection}")
    return problems


def shape_exceptions(schema: GraphQLSchema) -> list[str]:
    """Every element of ``schema`` that breaks a rule of the one shape and is no legacy exception."""
    return _mutation_problems(schema) + _string_problems(schema) + _list_problems(schema)
