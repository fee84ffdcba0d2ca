"""Plans: a compiled operation's SQL text for one actor, cached and reused with each request's
parameters; ``compile_request`` (document → plan → SQL and parameters), ``run_compiled`` and
``finish`` (the statement's JSON text → the response body)."""

from __future__ import annotations

import re
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)
from graphql.execution.values import VariableValues, get_variable_values
from sqlalchemy import ColumnElement, Text, and_, case, cast, null, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm.util import LoaderCriteriaOption
from sqlalchemy.sql import Select

from compiled.cobuilding import PARTNER_ROOTS
from compiled.compiler import ArgRef, ArgSlot, Bindings, Compiler, Unsupported
from compiled.fields import FIELDS
from compiled.policy import VERSIONED
from compiled.rates import finished, needs_calendar
from compiled.sql import JsonObject, Templates, indexing_compiler
from models import TenantScoped
from models.bounded import keep
from models.sealing import KEYRING
from resolvers.cases import handling_hours
from resolvers.context import RequestContext
from resolvers.register import report_audit
from tenants.commit import TEXT_CARRIER, fetch_and_commit
from tenants.session import fetch_first

_MEMO = 8  # variables remembered per plan (Plan.memo)


@dataclass
class Plan:
    """A compiled operation for one actor: SQL text, what it depends on, where its parameters come from."""

    sql: str
    checks: list[tuple[ArgRef, Callable[[dict[str, Any]], Any], Any]]
    slots: list[Callable[[Bindings], Any]]
    # Getters whose placeholder the rendered SQL dropped (``x AND false`` for an actor without a grant):
    # still called on every reuse, for the refusal (Unsupported) of a bad argument they carry — a reused
    # plan must turn away what compiling it anew would have turned away.
    unused: tuple[Callable[[Bindings], Any], ...] = ()
    # By the variables as sent (Bindings.key), the last few: [whether the plan fits them, the values of its
    # ArgSlot parameters (None where a slot is read per request; the tuple None until read)]. Both are
    # functions of the arguments alone — of the plan's document (its key) and those variables: a check's and an
    # ArgSlot's ``fn`` reads only its arguments (Compiler.shape, Compiler.param) — so kept, they are what
    # reading them anew would give (issue #21: the cases page's 21 checks, ≈ 0.1 ms a reuse unprofiled).
    memo: OrderedDict[bytes, list[Any]] = field(default_factory=OrderedDict, compare=False, repr=False)

    def fits(self, b: Bindings) -> bool:
        if not self.checks:  # fits whatever the variables: nothing to read or keep
            return True
        if b.key is None:
            return self._fits(b)
        known = self.memo.get(b.key)
        if known is None:
            known = [self._fits(b), None]
            self.memo[b.key] = known
            if len(self.memo) > _MEMO:
                self.memo.popitem(last=False)
        return bool(known[0])

    def _fits(self, b: Bindings) -> bool:
        try:
            return all(fn(b.args(ref)) == value for ref, fn, value in self.checks)
        except Unsupported:
            return False

    def params(self, b: Bindings) -> tuple[Any, ...]:
        known = self.memo.get(b.key) if b.key is not None else None
        if known is None or known[1] is None:
            for getter in self.unused:
                getter(b)
            values = tuple(getter(b) for getter in self.slots)  # Unsupported: nothing kept
            if known is not None:
                known[1] = tuple(v if isinstance(g, ArgSlot) else None for g, v in zip(self.slots, values, strict=True))
            return values
        for getter in self.unused:
            if not isinstance(getter, ArgSlot):  # an ArgSlot's refusal was read with the values kept
                getter(b)
        return tuple(v if isinstance(g, ArgSlot) else g(b) for g, v in zip(self.slots, known[1], strict=True))


class PlanCache:
    """Compiled plans per (document, operation, actor): building the SQL costs milliseconds, reusing
    it microseconds. The actor's grants are part of the key (they are inlined in the SQL), and so is
    the tenant's policy version, so a policy change or a new role assignment makes a new plan."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._plans: OrderedDict[tuple[Any, ...], list[Plan]] = OrderedDict()
        # (document, operation) that compiled for some actor, least recently used first: worth trying
        # before any ORM session. Keys of _plans begin with the two (compile_request builds them).
        self._compiled: OrderedDict[tuple[str, str | None], None] = OrderedDict()
        # (document, operation) the compiler declines whoever asks and whatever the variables: not a
        # query, or its root selects a field without an entry in the compiler's table (issue #21: the
        # general path tried again on every request — variables coerced, a compiler built).
        self._declined: dict[tuple[str, str | None], None] = {}
        # The answers of plans whose root reads only what the tenant's policy version determines
        # (compiled.policy.VERSIONED), by SQL text: the text names the tenant and the version (its guard), and such
        # a plan has no parameter. None: a versioned plan not answered yet.
        self._answers: dict[str, bytes | None] = {}
        # Coerced variables by (document, operation, variables as sent), for documents that compiled: the
        # schema's coercion of the same text gives the same values (the scalars parse the text alone: no clock,
        # no tenant), so it is done once (issue #21: overdueVisits' Date, ≈ a fifth of the profiled request).
        # Variables that do not coerce are not kept: their request goes to strawberry, as before.
        self._variables: dict[tuple[str, str | None, bytes], VariableValues] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...], b: Bindings) -> Plan | None:
        plans = self._plans.get(key)
        if plans is None:
            return None
        self._plans.move_to_end(key)
        plan = next((p for p in plans if p.fits(b)), None)
        if plan is not None:
            self._remember(key)
        return plan

    def put(self, key: tuple[Any, ...], plan: Plan) -> None:
        self._plans.setdefault(key, []).append(plan)
        self._plans.move_to_end(key)
        while len(self._plans) > self.size:
            self._plans.popitem(last=False)
        self._remember(key)

    def _remember(self, key: tuple[Any, ...]) -> None:
        # On every use, not only when compiled: a document answered from the cache for hours must
        # not fall out behind documents compiled since.
        self._compiled[key[0], key[1]] = None
        self._compiled.move_to_end((key[0], key[1]))
        while len(self._compiled) > self.size:
            self._compiled.popitem(last=False)

    def declined(self, query: str, operation_name: str | None) -> bool:
        return (query, operation_name) in self._declined

    def decline(self, query: str, operation_name: str | None) -> None:
        keep(self._declined, (query, operation_name), None, self.size)

    def coerced(self, query: str, operation_name: str | None, key: bytes) -> VariableValues | None:
        return self._variables.get((query, operation_name, key))

    def coerce(self, query: str, operation_name: str | None, key: bytes, values: VariableValues) -> None:
        keep(self._variables, (query, operation_name, key), values, self.size)

    def compiles(self, query: str, operation_name: str | None) -> bool:
        """Whether this document and operation compiled before, for any actor."""
        return (query, operation_name) in self._compiled

    def versioned(self, sql: str) -> None:
        """A plan's text whose answer the tenant's policy version determines: kept once answered (``keep``)."""
        if sql not in self._answers:
            keep(self._answers, sql, None, 256)  # ≈ 25 kB an answer of the policy

    def kept(self, sql: str) -> bytes | None:
        """The answer of a versioned plan's statement, as its first run at that version gave it."""
        return self._answers.get(sql)

    def keep(self, sql: str, body: bytes) -> None:
        """Remember a versioned plan's answer (a plan of any other text: nothing). Only an answer with no full
        read, audit entry or event to write may be kept: the caller's to know (a versioned plan has none)."""
        if sql in self._answers:
            self._answers[sql] = body


_SLOT = re.compile(r"\$__slot(\d+)__")


def _number_slots(sql: str, slots: list[Callable[[Bindings], Any]]) -> tuple[str, list[Callable[[Bindings], Any]]]:
    """$1, $2 … for the placeholders the rendered SQL kept, in order; the getters of those only."""
    used: dict[int, int] = {}

    def number(m: re.Match[str]) -> str:
        k = int(m.group(1))
        if k not in used:
            used[k] = len(used) + 1
        return f"${used[k]}"

    sql = _SLOT.sub(number, sql)
    return sql, [slots[k] for k in sorted(used, key=used.__getitem__)]


def _actor_key(ctx: RequestContext) -> tuple[Any, ...]:
    a = ctx.actor
    # The texts the actor was read from determine its assignments, person, household and compound.
    rows: tuple[Any, ...] = ((a.source,) if a.source is not None
                             else (tuple(a.assignments), a.person_id, a.household_id, a.own_compound_path))
    # A partner's grants are its unit's agreements in force this request (the paths are inlined in the
    # SQL): an agreement that ends, is suspended or changes its communities makes a new key.
    partner = (a.partner_unit_id, a.partner_client_id, tuple(sorted(a.agreement_paths.items())),
               a.agreement_communities)
    return (ctx.tenant.id, ctx.tenant.policy_version, a.user_id, *rows, *partner, a.today)


def _never_compiles(schema: GraphQLSchema, op: OperationDefinitionNode) -> bool:
    """Whether the compiler declines this operation for every actor and variable value: not a query, a
    directive on it, or a field at its root the compiler's table has no entry for (``Compiler.obj``
    raises Unsupported for that field, whatever comes before it)."""
    if op.operation is not OperationType.QUERY or op.directives:
        return True
    query = schema.query_type
    table = FIELDS.get(query.name) if query is not None else None
    if table is None:
        return True
    return any(isinstance(s, FieldNode) and s.name.value != "__typename" and s.name.value not in table
               for s in op.selection_set.selections)


def _partner_compiles(op: OperationDefinitionNode) -> bool:
    """A partner system's operation compiles only when its root selects the shared views compiled for
    partners (``compiled.cobuilding.PARTNER_ROOTS``), each a plain field: no other root field of the
    compiler's tables was written or tested for a partner actor."""
    return all(isinstance(s, FieldNode) and (s.name.value == "__typename" or s.name.value in PARTNER_ROOTS)
               for s in op.selection_set.selections)


def _versioned(op: OperationDefinitionNode) -> bool:
    """Whether the operation's root selects only fields whose answer the tenant's policy version determines
    (``compiled.policy.VERSIONED``), each a plain field (no fragment, directive or argument at the root)."""
    fields = [s for s in op.selection_set.selections if isinstance(s, FieldNode)]
    return (len(fields) == len(op.selection_set.selections)
            and all(not f.directives and not f.arguments for f in fields)
            and all(f.name.value == "__typename" or f.name.value in VERSIONED for f in fields)
            and any(f.name.value in VERSIONED for f in fields))


def _root(cx: Compiler, op: OperationDefinitionNode) -> Select[Any]:
    """The operation as one SELECT of its JSON text (NULL when a guard fails)."""
    query = cx.schema.query_type
    assert query is not None
    root = cx.obj(query.name, [op.selection_set], None)
    data = root.text() if isinstance(root, JsonObject) else cast(root, Text)
    return select(case((and_(*cx.guards), data), else_=null()) if cx.guards else data)


class _TenantCriteria(LoaderCriteriaOption):
    """``with_loader_criteria``'s option, its condition made once per entity of the statement: the ORM
    resolves the lambda again for every SELECT an entity occurs in (issue #21: 0.7 ms each — run through
    SQLAlchemy's lambda tracking, its binds rewritten, annotated —, ≈ 30 a plan of the area list)."""

    __slots__ = ("_resolved",)
    inherit_cache = True
    # Its cache key is the option's (compiled.sql.Templates): the entity, the lambda's code and closure values —
    # the memo is no part of it. HasCacheKey's NO_CACHE would be inherited otherwise.
    _cache_key_traversal = LoaderCriteriaOption._traverse_internals

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._resolved: dict[int, tuple[Any, ColumnElement[bool]]] = {}

    def _resolve_where_criteria(self, ext_info: Any) -> ColumnElement[bool]:
        known = self._resolved.get(id(ext_info))
        if known is None:  # the entity kept with it: its id is not reused while the option lives
            known = self._resolved[id(ext_info)] = (ext_info, super()._resolve_where_criteria(ext_info))
        return known[1]


def tenant_scoped(stmt: Select[Any], tenant_id: uuid.UUID) -> Select[Any]:
    """The ORM's tenant filter, as tenants/session.py adds it to every ORM statement (``with_loader_criteria``):
    it reaches the predicates' subqueries too; row-level security repeats it in the database."""
    return stmt.options(_TenantCriteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, False, True))


def render(stmt: Select[Any], dialect: Dialect, tenant_id: uuid.UUID) -> str:
    """The plan's SQL text: the statement under the tenant filter, its values inlined, the area path
    prefixes as starts_with (compiled.sql.area_paths_by_index) — rewritten as the text is written, not by
    a ``replacement_traverse`` of the statement first: that cloned the whole tree of every plan, a quarter
    of compiling one (issue #21: 41 of 166 s in tests/compiled/test_compiled_areas.py's 332 plans). The
    ORM places the tenant filter on the statement as built, not on a clone of it: where an entity of a
    subquery is correlated to the enclosing SELECT it now sees that (#13701) and leaves the filter to the
    enclosing one, and a SELECT over a page's subquery may repeat it (``WHERE p.tenant_id = …``) —
    the same rows, under row-level security as before (bench/RESULTS.md, h-plan). Made from the shape's template when
    there is one (``TEMPLATES``, compiled.sql.Templates: the statement's bound values put in), else rendered whole:
    the same text (tests/compiled/test_plan_templates.py)."""
    scoped = tenant_scoped(stmt, tenant_id)
    made = TEMPLATES.render(scoped, dialect, _LITERAL_BINDS)
    return made if made is not None else render_whole(scoped, dialect)


def render_whole(scoped: Select[Any], dialect: Dialect) -> str:
    """``render``'s text written whole: the statement (under its tenant filter) compiled, every literal in place."""
    return str(indexing_compiler(dialect)(dialect, scoped, compile_kwargs=_LITERAL_BINDS))


_LITERAL_BINDS = {"literal_binds": True}
# The plans' texts by shape, each statement's values put in (compiled.sql.Templates): one per process.
TEMPLATES = Templates()


def variables_key(variables: dict[str, Any] | None) -> bytes | None:
    """The request's variables as one text, for what is kept per variables (``PlanCache.coerced``, ``Plan.memo``):
    JSON with sorted keys — 1 and 1.0, true and 1 are different texts. None (nothing kept): a text over 4 kB, or
    values orjson does not write (an integer past 64 bits: coerced and refused as before)."""
    if not variables:
        return b""
    try:
        text = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return None
    return text if len(text) <= 4096 else None


def compile_request(schema: GraphQLSchema, query: str, document: DocumentNode, operation_name: str | None,
                    variables: dict[str, Any] | None, ctx: RequestContext, cache: PlanCache
                    ) -> tuple[str, tuple[Any, ...]] | None:
    """The one statement (SQL, parameters) answering this request's data, or None when strawberry must."""
    if cache.declined(query, operation_name):
        return None
    dialect = ctx.db.session.get_bind().dialect
    if dialect.name != "postgresql":
        return None
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(ops) != 1:
            return None
        op = ops[0]
    else:
        matching = [o for o in ops if o.name is not None and o.name.value == operation_name]
        if len(matching) != 1:
            return None
        op = matching[0]
    if _never_compiles(schema, op):
        cache.decline(query, operation_name)
        return None
    if ctx.actor.partner_client_id is not None and not _partner_compiles(op):
        return None
    var_key = variables_key(variables)
    values = cache.coerced(query, operation_name, var_key) if var_key is not None else None
    if values is None:
        coerced = get_variable_values(schema, op.variable_definitions or (), variables or {})
        if isinstance(coerced, list) or getattr(coerced, "errors", None):
            return None
        values = getattr(coerced, "variable_values", coerced)
        if var_key is not None and cache.compiles(query, operation_name):
            cache.coerce(query, operation_name, var_key, values)
    bindings = Bindings(values, ctx, var_key)
    key = (query, operation_name, *_actor_key(ctx))
    plan = cache.get(key, bindings)
    if plan is None:
        cache.misses += 1
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        compiler = Compiler(schema, fragments, bindings, ctx, FIELDS)
        try:
            stmt = _root(compiler, op)
        except Unsupported:
            return None
        sql, slots = _number_slots(render(stmt, dialect, ctx.actor.tenant_id), compiler.slots)
        plan = Plan(sql, compiler.checks, slots, tuple(g for g in compiler.slots if g not in slots))
        if var_key is not None:  # its checks' values were read from these variables: it fits them
            plan.memo[var_key] = [True, None]
        cache.put(key, plan)
        if not compiler.slots and _versioned(op):
            cache.versioned(sql)
    else:
        cache.hits += 1
    try:
        return plan.sql, plan.params(bindings)
    except Unsupported:
        return None


# A marker as PostgreSQL's json_build_object writes it (compiled.fields.PERSON): the person's id, the value
# (a JSON string, or a list of strings: care tags), and "s" when the value is sealed. Outside a string an
# unescaped quote is JSON's own, so this text can only be a marker object, never a value's content. A JSON
# string's pattern is written as runs between escapes ("unrolled"): the same strings as one alternation per
# character, a third of the matching time (issue #21: 150 → 50 µs on a 20-person page).
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_MARKER = re.compile(r'\{"\$pii" : "([0-9a-f-]{36})", "v" : (' + _STRING + r'|\[[^\]"]*(?:' + _STRING + r'[^\]"]*)*\])'
                     r'(, "s" : true)?\}')


# A list's full reads whatever was selected (compiled.sql.reads_marker): the first key of an object, the
# persons' ids as json_agg writes them. Taken out with the separator after it ("{}" stays an empty object).
_READS = re.compile(r'"\$reads" : \[((?:"[0-9a-f-]{36}"(?:, )?)*)\](?:, )?')
_UUID = re.compile(r"[0-9a-f-]{36}")
# A person's data report (compiled.personal_data): the person, how many records and full reads it listed.
_REPORT = re.compile(r'"\$report" : \["([0-9a-f-]{36})", (\d+), (\d+)\](?:, )?')


def _report_entry(m: re.Match[str], ctx: RequestContext) -> str:
    report_audit(ctx, uuid.UUID(m.group(1)), int(m.group(2)), int(m.group(3)))
    return ""


# The handling hours of the review figures (compiled.statistics.hours): PostgreSQL's unrounded number,
# rounded here by the resolvers' rule (resolvers.cases.handling_hours) — the same argument as for _MARKER
# says this text is only ever such a marker.
_HOURS = re.compile(r'\{"\$hours" : (-?[0-9][0-9.eE+-]*)\}')


def _hours(m: re.Match[str]) -> str:
    return orjson.dumps(handling_hours(m.group(1))).decode()


# The case rates (compiled.rates): the payload as one JSON string, made into the object in Python (the
# 响应率 on the working calendar, the score rounded and the ranking sorted by the resolvers' rules). The
# string unrolled as _STRING (the payload is ≈ 3 kB of escaped JSON: one alternation per character was
# ≈ 20 % of finishing it, issue #21).
_RATES = re.compile(r'\{"\$rates" : (' + _STRING + r'), "\$calendar" : (?:true|false)\}')


# Any of the markers other than "$pii": one scan of the text instead of one per kind (issue #21: on a
# 20-person page, 11 kB of text with Chinese names, each scan cost ≈ 5 µs).
_OTHER_MARKERS = re.compile(r'"\$(?:rates|hours|report|reads)"')


def finish(data: str, ctx: RequestContext) -> bytes:
    """The response body from the statement's JSON text. Full reads of personal data arrive as
    markers (see compiled.fields.PERSON): unseal them and record the persons for the audit; the
    persons a list reads in full by its rows arrive as a "$reads" key (compiled.sql.reads_marker). Handling
    hours arrive unrounded as markers too (compiled.statistics): round them as the resolvers do; case rates
    arrive as their data (compiled.rates): made into the answer by the resolvers' functions.

    The markers are replaced in the text (issue #21): parsing, walking and writing the whole answer
    again cost a 20-person page ≈ 1 ms. A text the pattern does not account for takes that way still."""
    read: set[str] = set()  # a person's several fields: one id
    if _OTHER_MARKERS.search(data) is not None:
        data, complete = _other_markers(data, ctx, read)
        if not complete:
            return orjson.dumps({"data": _unmark(orjson.loads(data), ctx)})
    if '"$pii"' not in data:
        ctx.pii_read_ids.update(read)
        return b'{"data":' + data.encode() + b"}"
    text = _unmarked(data, read)
    if '"$pii"' in text:
        ctx.pii_read_ids.update(read)  # the "$reads" taken out of data already
        return orjson.dumps({"data": _unmark(orjson.loads(data), ctx)})
    ctx.pii_read_ids.update(read)
    return b'{"data":' + text.encode() + b"}"


def _other_markers(data: str, ctx: RequestContext, read: set[str]) -> tuple[str, bool]:
    """The text with the case rates, handling hours, a data report's entry and the lists' full reads taken
    out, in that order (``finish``), and True; or, at a report's or a list's marker the patterns do not
    account for, the text as it is at that step and False (``finish`` walks the answer from there)."""
    if '"$rates"' in data:
        data = _RATES.sub(lambda m: finished(orjson.loads(m.group(1)), ctx), data)
    if '"$hours"' in data:
        data = _HOURS.sub(_hours, data)
    if '"$report"' in data:  # before "$reads": a report's audit entry comes first, as on the general path
        text = _REPORT.sub(lambda m: _report_entry(m, ctx), data)
        if '"$report"' in text:
            return data, False
        data = text
    if '"$reads"' in data:
        def listed(m: re.Match[str]) -> str:
            read.update(_UUID.findall(m.group(1)))
            return ""

        text = _READS.sub(listed, data)
        if '"$reads"' in text:
            return data, False
        data = text
    return data, True


def _unmarked(data: str, read: set[str]) -> str:
    """The text with each marker replaced by its value, the sealed ones opened in one batch (issue #21:
    one call into the keyring per request, not one per value), the persons added to ``read``.

    ``_MARKER.split`` gives [text, person, value, sealed, text, …]: the markers' groups in place."""
    parts = _MARKER.split(data)
    read.update(parts[1::4])
    values = parts[2::4]
    sealed = [i for i, s in enumerate(parts[3::4]) if s is not None]
    if sealed:  # sealed texts have no escapes (base64 and colons); decode one that has, all the same
        stored = [values[i][1:-1] if "\\" not in values[i] else orjson.loads(values[i]) for i in sealed]
        for i, plain in zip(sealed, KEYRING.open_many(stored), strict=True):
            # letters and digits alone (phones, ID numbers): no escape in JSON, orjson's text without orjson
            values[i] = f'"{plain}"' if plain.isalnum() else orjson.dumps(plain).decode()
    parts[1::4] = parts[3::4] = [""] * len(values)
    parts[2::4] = values
    return "".join(parts)


def _unmark(value: Any, ctx: RequestContext) -> Any:
    if isinstance(value, dict):
        if isinstance(value.get("$report"), list):
            person, records, reads = value["$report"]
            report_audit(ctx, uuid.UUID(person), records, reads)
            value = {k: v for k, v in value.items() if k != "$report"}
        if isinstance(value.get("$reads"), list):
            ctx.pii_reads.update(uuid.UUID(p) for p in value["$reads"])
            value = {k: v for k, v in value.items() if k != "$reads"}
        if "$pii" in value and "v" in value and len(value) <= 3:
            ctx.pii_reads.add(uuid.UUID(value["$pii"]))
            v = value["v"]
            return KEYRING.open(v) if value.get("s") else v
        return {k: _unmark(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_unmark(v, ctx) for v in value]
    return value


# A "$" before anything but a digit (a parameter's $n): the text of a marker (compiled.fields, compiled.sql,
# compiled.audit, compiled.rates, compiled.statistics, compiled.personal_data), written as a literal of the SQL.
_MARKED = re.compile(r"\$[^0-9]")
_QUIET: dict[str, bool] = {}  # by a plan's text: the same str object on every reuse, its hash kept with it


def quiet(sql: str) -> bool:
    """Whether a plan's answer is its statement's text alone: no marker in its SQL, so ``finish`` records no
    full read and no report (no audit entry to write) and nothing sends the request elsewhere ("$decline",
    "$rates") — the read's transaction writes nothing, and its COMMIT can go with it (``run_compiled``). Kept per
    text: the search over a node lookup's 9.6 kB took 22 µs (at load 9), twice a request; a lookup takes 0.4."""
    known = _QUIET.get(sql)
    if known is None:
        known = keep(_QUIET, sql, _MARKED.search(sql) is None, 4096)
    return known


async def run_compiled(ctx: RequestContext, sql: str, params: tuple[Any, ...], tx: Any = None,
                       commit: bool | None = None) -> str | None:
    """Run a plan's SQL on the request's session (so RLS, the transaction and statement counting apply).
    None: a guard failed (e.g. an unknown area), or a value is one the SQL cannot write as the resolvers
    do (a "$decline" object, compiled.audit), or case rates need the working calendar the process does not
    keep (compiled.rates); the resolvers must answer, with their error.

    In the caller's own task, under the session's lock, without ``Db.locked``'s task and shield (issue #21:
    ≈ 10 % of a node lookup's samples were inside that task): the shield is for sibling resolvers that
    GraphQL execution cancels when one fails, and a compiled read runs before any execution, alone — the
    request's first statement done, nothing beside it. Cancelled (the client went away), the statement is
    cut off with the request, whose transaction is then rolled back or its connection dropped
    (``DriverTransaction.__aexit__``); nothing was to be committed after it.

    ``tx``: the request's DriverTransaction, when the read is its last statement; a ``quiet`` read then goes with
    the transaction's COMMIT in one round trip (tenants.commit.fetch_and_commit; issue #21: a node lookup's
    COMMIT was a third round trip) — it wrote nothing, so nothing is committed but its end. ``commit``: whether it
    goes with the COMMIT (None: when ``quiet``); a read that writes its own audit entry goes so too
    (gongzhi.http.read_audit)."""
    async with ctx.db.lock:
        if tx is not None and (quiet(sql) if commit is None else commit):
            value = (await fetch_and_commit(tx, sql, params, TEXT_CARRIER, binary=True))[0]
        else:
            value = (await fetch_first(ctx.db.session, sql, *params))[0]
    # Outside a string an unescaped quote is JSON's own: only the marker object has this text.
    if value is None or '"$decline"' in value or needs_calendar(value, ctx):
        return None
    return str(value)
