"""SQL building blocks of the compiled reads: the response's values (global IDs, cursors, timestamps,
enum names, JSON lists) written in PostgreSQL, and the rewrites that keep its predicates indexable
under row-level security."""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Text,
    Uuid,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.sql import Select, operators
from sqlalchemy.sql.base import NO_ARG
from sqlalchemy.sql.elements import BinaryExpression, BooleanClauseList, ColumnClause, Grouping, Label, Null
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.sql.selectable import ScalarSelect
from sqlalchemy.sql.visitors import ExternallyTraversible
from sqlalchemy.types import TypeEngine

from models.bounded import keep
from resolvers.ids import (
    B64_PAD,
    B64_STANDARD,
    B64_URLSAFE,
    CURSOR_PREFIX,
    GID_SEPARATOR,
    OFFSET_PREFIX,
    ORDERED_CURSOR_PREFIX,
    ORDERED_CURSOR_SEPARATOR,
    SORTED_CURSOR_PREFIX,
)

MAX_PAIRS = 50  # json_build_object takes at most 100 arguments


def lit(value: str) -> ColumnClause[str]:
    """A constant string inlined in the SQL (GraphQL names and fixed markers only — never input)."""
    assert "'" not in value
    return literal_column(f"'{value}'", Text)


EMPTY_JSON_ARRAY: ColumnClause[Any] = literal_column("'[]'::json")

E = TypeVar("E", bound=ColumnElement[Any])


def plain(expr: E) -> E:
    """``expr``, marked as a text (or NULL) no character of which JSON escapes — base64url, digits and
    punctuation of a time, an enum's name: as a value of an object its JSON string is the text in quotes,
    no ``to_json`` (``value_text``). The mark is on this element only: an expression built on it is not."""
    marked: Any = expr
    marked._plain_text = True
    return expr

# The types of the positional parameters a plan may carry ($n::type).
SLOT_TYPES: dict[str, TypeEngine[Any]] = {
    "int": Integer(), "text": Text(), "uuid": Uuid(), "timestamptz": DateTime(timezone=True), "text[]": ARRAY(Text()),
    "date": Date(), "json": JSON()}


def _b64url(raw: ColumnElement[Any]) -> ColumnElement[str]:
    """resolvers.ids.b64url in SQL, from its constants. PostgreSQL's base64 also breaks lines every 76
    characters: the newline is dropped. One replace() per character, not translate(): translate() cost
    ≈ 4.5 µs a call on PostgreSQL 15, replace() ≈ 0.4 (issue #21: a households page writes ≈ 70 ids)."""
    out: ColumnElement[str] = func.rtrim(func.encode(raw, lit("base64")), lit(B64_PAD))
    for standard, urlsafe in zip(B64_STANDARD, B64_URLSAFE, strict=True):
        out = func.replace(out, lit(standard), lit(urlsafe))
    return plain(func.replace(out, lit("\n"), lit("")))


def gid(type_name: str, id_col: ColumnElement[Any]) -> ColumnElement[str]:
    """resolvers.ids.encode_global_id in SQL (the uuid's text form is the same in both)."""
    return _b64url(func.convert_to(lit(type_name + GID_SEPARATOR) + cast(id_col, Text), lit("UTF8")))


_CURSOR_PREFIX_SQL: ColumnClause[Any] = literal_column(f"'\\x{CURSOR_PREFIX.hex()}'::bytea")


def cursor(id_col: ColumnElement[Any]) -> ColumnElement[str]:
    """resolvers.ids.encode_cursor in SQL: the prefix's bytes, then the uuid's 16 (uuid_send)."""
    return _b64url(_CURSOR_PREFIX_SQL.op("||")(func.uuid_send(id_col)))


def ordered_cursor(order: str, bucket: ColumnElement[Any], time: ColumnElement[Any],
                   id_col: ColumnElement[Any]) -> ColumnElement[str]:
    """resolvers.ids.encode_ordered_cursor in SQL: the text "o:<order>|<bucket>|<microseconds>|<uuid>"
    (PostgreSQL's epoch is numeric, so the microseconds are exact), base64url."""
    sep = lit(ORDERED_CURSOR_SEPARATOR)
    micros = cast(func.extract("epoch", time) * 1000000, BigInteger)
    text = (lit(ORDERED_CURSOR_PREFIX + order) + sep + cast(bucket, Text) + sep + cast(micros, Text) + sep
            + cast(id_col, Text))
    return _b64url(func.convert_to(text, lit("UTF8")))


def offset_cursor(position: ColumnElement[Any]) -> ColumnElement[str]:
    """resolvers.ids.encode_offset_cursor in SQL: the prefix, then the position's decimal digits."""
    return _b64url(func.convert_to(lit(OFFSET_PREFIX.decode()) + cast(position, Text), lit("UTF8")))


def iso_date(d: ColumnElement[Any]) -> ColumnElement[Any]:
    """A Date as strawberry's Date scalar sends it (date.isoformat(): years 1000–9999 here)."""
    return plain(func.to_char(d, lit("YYYY-MM-DD")))


def sorted_cursor(order: str, keys: list[tuple[str, ColumnElement[Any]]]) -> ColumnElement[str]:
    """resolvers.ids.encode_sorted_cursor in SQL: base64url of "s:" and the JSON text
    ``["<order>",[["<tag>","<value>"],…]]`` without spaces, each key a (tag, its value as text) — the text
    of a key as ``_tag`` writes it. to_json escapes a string as json.dumps(…, ensure_ascii=False) does
    (the quote, the backslash, control characters; nothing else)."""
    assert order.isidentifier()
    text: ColumnElement[Any] = lit(SORTED_CURSOR_PREFIX + f'["{order}",[')
    for i, (tag, value) in enumerate(keys):
        assert tag.isalpha() and len(tag) == 1
        text = text + lit((',' if i else '') + f'["{tag}",') + cast(func.to_json(value), Text) + lit("]")
    return _b64url(func.convert_to(text + lit("]]"), lit("UTF8")))


# The DateTime wire format, stated once: strawberry's DateTime scalar sends datetime.isoformat(), which
# for the UTC values both paths read is the seconds, the microseconds only when there are any, and
# the offset. iso_text says it in Python, iso builds the SQL from the same patterns (strftime
# directives translated to to_char's); tests/test_compiled_fields.py compares both with strawberry.
ISO_SECONDS = "%Y-%m-%dT%H:%M:%S"
ISO_FRACTION = ".%f"  # only when the microseconds are not 0
ISO_UTC_OFFSET = "+00:00"
_TO_CHAR = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "HH24", "%M": "MI", "%S": "SS", "%f": "US"}


def iso_text(value: datetime) -> str:
    """A timestamp as the DateTime scalar sends it, from the patterns above."""
    utc = value.astimezone(UTC)
    return utc.strftime(ISO_SECONDS) + (utc.strftime(ISO_FRACTION) if utc.microsecond else "") + ISO_UTC_OFFSET


def to_char_pattern(strftime: str) -> str:
    """A strftime pattern of the directives above as a to_char pattern (letters in between quoted)."""
    parts = re.split(r"(%.)", strftime)
    return "".join(_TO_CHAR[p] if p in _TO_CHAR else f'"{p}"' if any(c.isalpha() for c in p) else p
                   for p in parts)


def iso(ts: ColumnElement[Any]) -> ColumnElement[Any]:
    """iso_text in SQL, for an aware timestamp column."""
    utc = ts.op("AT TIME ZONE")(lit("UTC"))
    frac = case((cast(func.extract("microseconds", ts), Integer) % 1000000 == 0, lit("")),
                else_=func.to_char(utc, lit(to_char_pattern(ISO_FRACTION))))
    return plain(func.to_char(utc, lit(to_char_pattern(ISO_SECONDS))) + frac + lit(ISO_UTC_OFFSET))


def constant(value: str | None) -> ColumnElement[Any]:
    """A fixed value of the response (a mask placeholder): NULL, or a literal string."""
    return null() if value is None else lit(value)


def enum_name(col: ColumnElement[Any], enum_cls: type[enum.Enum]) -> ColumnElement[Any]:
    """A stored enum value as GraphQL shows it: the member's name."""
    return plain(case(*[(col == lit(str(m.value)), lit(m.name)) for m in enum_cls], else_=null()))


def json_list(expr: ColumnElement[Any], order: ColumnElement[Any] | None,
              where: ColumnElement[bool] | None = None) -> ColumnElement[Any]:
    """The JSON list of ``expr`` over the rows (``[]`` for none), as json_agg writes it. A list of objects
    is also writable as text (``json_text``): the objects' texts joined by string_agg, the separator
    json_agg writes between json values."""
    agg: Any = func.json_agg(expr if order is None else aggregate_order_by(expr, order))
    if where is not None:
        agg = agg.filter(where)
    out: ColumnElement[Any] = func.coalesce(agg, EMPTY_JSON_ARRAY)
    if isinstance(expr, JsonObject):
        item = expr.text()
        joined: Any = func.string_agg(item, lit(", ") if order is None else aggregate_order_by(lit(", "), order))
        if where is not None:
            joined = joined.filter(where)
        marked: Any = out  # the list's text kept on its element (json_text reads it)
        marked._json_text = func.coalesce(lit("[").op("||")(joined).op("||")(lit("]")), lit("[]"))
    return out


# ---------------------------------------------------------------- JSON objects as text


class JsonObject(GenericFunction[Any]):
    """``json_build_object`` of (key, value) pairs, each key a ``lit`` (a GraphQL name or a marker). Written so
    where its JSON value is needed; where only its text is (the value of another object, a list's item, the
    answer itself) ``text()`` writes the same text by concatenation (issue #21: json_build_object looks up
    each argument's type and output function on every call, keys included — a person of 4 keys ≈ 2.2 µs
    against ≈ 1.0 so, PostgreSQL 15 at load 9; bench/RESULTS.md h-json)."""

    name = "json_build_object"
    _register = False
    inherit_cache = True

    def text(self) -> ColumnElement[Any]:
        """This object's JSON text as json_build_object writes it: ``{"k" : v, "k2" : v2}``, never NULL."""
        args = list(self.clauses)
        parts: list[Any] = ["{"]
        for i in range(0, len(args), 2):
            key = _constant(args[i])
            if key is None or not _PLAIN_KEY.fullmatch(key):  # not a name that needs no escaping
                return cast(self, Text)
            parts.append((", " if i else "") + f'"{key}" : ')
            parts.append(value_text(args[i + 1]))
        parts.append("}")
        return _concatenated(parts)


_PLAIN_KEY = re.compile(r"[$_A-Za-z0-9]+")


def _constant(expr: Any) -> str | None:
    """The string of a ``lit``, else None."""
    if isinstance(expr, ColumnClause) and expr.is_literal:
        t: str = expr.name
        if len(t) >= 2 and t[0] == t[-1] == "'" and "'" not in t[1:-1]:
            return t[1:-1]
    return None


def _concatenated(parts: list[Any]) -> ColumnElement[Any]:
    """``a || b || …`` of SQL texts and constant strings (adjacent constants joined into one literal)."""
    merged: list[Any] = []
    for p in parts:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    out: ColumnElement[Any] = lit(merged[0]) if isinstance(merged[0], str) else merged[0]
    for p in merged[1:]:
        out = out.op("||")(lit(p) if isinstance(p, str) else p)
    return out


def json_text(expr: Any) -> tuple[ColumnElement[Any], bool] | None:
    """``expr``'s JSON text written without json_build_object (an object, a list of objects, a scalar subquery
    of one), and whether it may be NULL; None when ``expr`` is no such thing."""
    while isinstance(expr, Label):
        expr = expr.element
    if isinstance(expr, JsonObject):
        return expr.text(), False
    listed = getattr(expr, "_json_text", None)
    if listed is not None:
        return listed, False
    if isinstance(expr, ScalarSelect) and isinstance(expr.element, Select):
        inner: Select[Any] = expr.element
        cols = list(inner.selected_columns)
        if len(cols) == 1:
            found = json_text(cols[0])
            if found is not None:
                return inner.with_only_columns(found[0]).scalar_subquery(), True
    return None


def value_text(expr: Any) -> Any:
    """A value's JSON text as json_build_object writes it (to_json's; ``null`` for NULL): a constant when it is
    one, the text of an object or list (``json_text``), else ``to_json``'s."""
    if isinstance(expr, Null):
        return "null"
    c = _constant(expr)
    if c is not None:  # a literal is unknown-typed: json_build_object writes its text as a string
        return json.dumps(c, ensure_ascii=False)  # escape_json's escapes (compiled.sql.sorted_cursor)
    found = json_text(expr)
    if found is not None:
        text, nullable = found
        return func.coalesce(text, lit("null")) if nullable else text
    if getattr(expr, "_plain_text", False):
        return func.coalesce(lit('"').op("||")(expr).op("||")(lit('"')), lit("null"))
    if isinstance(getattr(expr, "type", None), Boolean):  # PostgreSQL refuses the CASE for a value not boolean
        return case({True: lit("true"), False: lit("false")}, value=expr, else_=lit("null"))  # expr once
    return func.coalesce(cast(func.to_json(expr), Text), lit("null"))


# ---------------------------------------------------------------- indexable predicates


def once(stmt: Select[Any], name: str) -> ScalarSelect[Any]:
    """``stmt``'s one value as a scalar subquery that the statement may name more than once — a guard (the
    resolvers' NOT_FOUND) and a filter — and PostgreSQL runs once: a CTE named ``name`` (unique in the statement),
    which it materializes when it is referenced twice. As two copies of a subquery it planned and ran both (issue
    #21: a grid leader's problemWall ran its compound's area·read check twice, 4,462 of its 5,888 buffers)."""
    found = stmt.cte(name)
    return select(found.c[0]).scalar_subquery()


def page_total(stmt: Select[Any], n: int, after: bool) -> ColumnElement[Any]:
    """A connection's totalCount, in the aggregate over its page's ``n + 1`` rows (compiled.fields.connection):
    the length of the whole list ``stmt``. A first page (no ``after``) of at most ``n`` rows is the whole list,
    so its own count is the total, and PostgreSQL runs the count's scan — an InitPlan, evaluated only when the
    CASE reaches it — only when the page is full (issue #21: the open-case page's count tested the scope on
    every case of the tenant, ≈ 0.17 ms of its PostgreSQL time for 2 rows)."""
    counted = select(func.count()).select_from(stmt.subquery()).scalar_subquery()
    return counted if after else case((func.count() <= n, func.count()), else_=counted)


def or_branches(pred: Any) -> list[ColumnElement[bool]]:
    """The alternatives of an OR, nested ORs flattened; a predicate that is no OR is its own one."""
    while isinstance(pred, Grouping):
        pred = pred.element
    if isinstance(pred, BooleanClauseList) and pred.operator is operators.or_:
        return [b for c in pred.clauses for b in or_branches(c)]
    return [pred]


def indexable(branch: ColumnElement[bool]) -> ColumnElement[bool]:
    """A branch as its own index scan may read it. A path prefix becomes starts_with, which is
    leakproof (LIKE is not), so row-level security lets the planner use the path index for it: for a
    narrow scope a few index entries instead of a scan of the tenant's cases. As a plain filter over
    many rows starts_with costs more than LIKE, so only the candidate scans use it."""
    if isinstance(branch, BinaryExpression) and branch.operator is operators.startswith_op \
            and not branch.modifiers.get("escape") and not branch.modifiers.get("autoescape"):
        return func.starts_with(branch.left, branch.right)
    return branch


def area_paths_by_index(element: ExternallyTraversible, **_kw: Any) -> ColumnElement[bool] | None:
    """Areas under a given path (a scope's grids, its buildings) as starts_with: the areas' path index
    then finds them under row-level security, where LIKE made every such subquery scan the tenant's
    areas (0.3 ms each, five in a grid leader's case list). Areas are few per tenant, so even where
    no index is used the per-row cost of starts_with does not matter there."""
    if isinstance(element, BinaryExpression) and element.operator is operators.startswith_op:
        table = getattr(element.left, "table", None)
        base = getattr(table, "element", table)
        if getattr(element.left, "key", None) == "path" and getattr(base, "name", None) == "areas":
            return indexable(element)
    return None


def first_key(key: str, value: ColumnElement[Any], obj: ColumnElement[Any]) -> ColumnElement[Any]:
    """``obj`` (the compiler's json_build_object) with ``key`` first, its value the JSON ``value``: a
    marker that compiled.plans.finish takes out of the text (it is no part of the answer)."""
    from compiled.compiler import Unsupported  # the compiler builds on this module

    assert isinstance(obj, JsonObject), obj
    pairs = list(obj.clauses)
    if len(pairs) + 2 > 2 * MAX_PAIRS:
        raise Unsupported("too many fields")
    return JsonObject(lit(key), value, *pairs)


def reads_marker(person_ids: ColumnElement[Any], obj: ColumnElement[Any]) -> ColumnElement[Any]:
    """``obj`` with a first key "$reads": the JSON list ``person_ids``, the persons the object's rows
    read in full whatever fields were selected (e.g. a service record, issue #21). finish records
    them for the audit, as it does the "$pii" markers of the Person fields."""
    return first_key("$reads", func.coalesce(person_ids, EMPTY_JSON_ARRAY), obj)



_INDEXING: dict[type[Any], type[Any]] = {}


def _rewritten(element: Any) -> Any:
    rewritten = area_paths_by_index(element)
    return element if rewritten is None else rewritten


def indexing_compiler(dialect: Any) -> type[Any]:
    """The dialect's statement compiler writing ``area_paths_by_index``'s rewrite as it meets each path
    prefix: the same text as rewriting the statement first (a ``replacement_traverse``, which cloned the
    whole statement of every plan: issue #21, a quarter of compiling one). A WHERE or HAVING list groups
    its conditions as it is written, a prefix in parentheses, a function call not: there the prefix is
    rewritten before the grouping, as the rewritten statement had it."""
    base = dialect.statement_compiler
    made = _INDEXING.get(base)
    if made is None:
        def visit_startswith_op_binary(self: Any, binary: BinaryExpression[Any], operator: Any, **kw: Any) -> str:
            rewritten = area_paths_by_index(binary)
            if rewritten is not None and rewritten is not binary:
                return str(self.process(rewritten, **kw))
            return str(base.visit_startswith_op_binary(self, binary, operator, **kw))

        def _generate_delimited_and_list(self: Any, clauses: Any, **kw: Any) -> str:
            return str(base._generate_delimited_and_list(self, [_rewritten(c) for c in clauses], **kw))

        made = _INDEXING[base] = type(f"Indexing{base.__name__}", (base,), {
            "visit_startswith_op_binary": visit_startswith_op_binary,
            "_generate_delimited_and_list": _generate_delimited_and_list})
    return made


# ---------------------------------------------------------------- a plan's text made once per shape

# A 32-digit hex run or a uuid's first groups: a tenant's or an actor's id, an area path's ids. A template never
# holds one (``Templates.render``): every such literal of a plan is a bound value put in per statement.
_ID_TEXT = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-")
_TEMPLATING: dict[type[Any], type[Any]] = {}


def templating_compiler(dialect: Any) -> type[Any]:
    """``indexing_compiler``, each bound value it writes as a literal written as a sentinel ``\\0n\\0``: the literal
    kept in ``_literals``, and in ``_places`` the position of its value among the statement's cache key's bound
    parameters (``_key_index``: key → position) when the literal is that value's own (``Templates.render``);
    else None."""
    base = indexing_compiler(dialect)
    made = _TEMPLATING.get(base)
    if made is None:
        def render_literal_bindparam(self: Any, bindparam: Any, render_literal_value: Any = NO_ARG,
                                     bind_expression_template: Any = None, **kw: Any) -> str:
            text = str(base.render_literal_bindparam(self, bindparam, render_literal_value, bind_expression_template,
                                                     **kw))
            place = None
            if (render_literal_value is NO_ARG and bind_expression_template is None
                    and bindparam.key not in self._collected_params):
                found = {self._key_index[bp.key] for bp in bindparam._cloned_set if bp.key in self._key_index}
                if len(found) == 1:
                    place = found.pop()
            self._places.append(place)
            self._literals.append(text)
            return f"\0{len(self._literals) - 1}\0"

        def __init__(self: Any, dialect: Any, statement: Any, key_index: dict[str, int], **kw: Any) -> None:
            self._key_index, self._places, self._literals = key_index, [], []
            base.__init__(self, dialect, statement, **kw)

        made = _TEMPLATING[base] = type(f"Templating{base.__name__}", (base,), {
            "__init__": __init__, "render_literal_bindparam": render_literal_bindparam})
    return made


@dataclass(frozen=True)
class Template:
    """A plan's text with its bound values out: ``parts`` around them, ``places`` the position of each value among
    the cache key's bound parameters of a statement of this shape."""

    parts: tuple[str, ...]
    places: tuple[int, ...]


class Templates:
    """Plans' texts by the statement's shape (SQLAlchemy's cache key: the statement's structure, its bound values
    extracted, in order), each tenant's and actor's values put in per statement (issue #21: rendering was a sixth of
    the test suite's CPU, and a new tenant or actor rendered every plan again). A shape's text is made from its first
    statement's render, with a sentinel at each literal; it is kept only when every sentinel is found in the text once,
    its literal is the one its bound value of the cache key writes, and no id is left in the text (``_ID_TEXT``) — a
    shape that does not meet that is rendered whole, every time (``render`` gives None), its first statement too.
    The positions are SQLAlchemy's own (``construct_params(extracted_parameters=…)`` of its statement cache): the
    same shape has its values at the same positions of its cache key's ``bindparams``."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._made: dict[Any, Template | None] = {}  # by (compiler class, cache key); None: not a template
        self._writers: dict[Any, Any] = {}  # by dialect: its compiler of no statement, to write one literal

    def render(self, stmt: Any, dialect: Any, compile_kwargs: dict[str, Any]) -> str | None:
        """``stmt``'s text as ``indexing_compiler`` writes it with ``compile_kwargs`` (literal binds), or None."""
        ck = stmt._generate_cache_key()
        if ck is None or ck.params:
            return None
        cls = templating_compiler(dialect)
        key = (cls, ck.key)
        made = self._made.get(key, self)
        if made is None:
            return None
        binds = ck.bindparams
        if isinstance(made, Template):
            writer = self._writer(dialect)
            written: dict[int, str] = {}
            out = [made.parts[0]]
            for place, part in zip(made.places, made.parts[1:], strict=True):
                text = written.get(place)
                if text is None:
                    text = written[place] = writer.render_literal_bindparam(binds[place])
                out.append(text)
                out.append(part)
            return "".join(out)
        compiler = cls(dialect, stmt, {bp.key: i for i, bp in enumerate(binds)}, compile_kwargs=compile_kwargs)
        text = str(compiler)
        pieces = text.split("\0")
        found = pieces[1::2]  # the sentinels in the text's order (a CTE, say, is written before what precedes it)
        n = len(compiler._literals)
        if len(pieces) != 2 * n + 1 or sorted(found) != sorted(str(i) for i in range(n)):  # each once
            self._keep(key, None)
            return None
        parts = pieces[0::2]
        order = [int(k) for k in found]
        literals = [compiler._literals[k] for k in order]
        places: list[int | None] = [compiler._places[k] for k in order]
        writer = self._writer(dialect)
        if (len(compiler._key_index) != len(binds)  # two positions of one key: which one is ambiguous
                or any(p is None or writer.render_literal_bindparam(binds[p]) != t
                       for p, t in zip(places, literals, strict=True))
                or any(_ID_TEXT.search(p) for p in parts)):
            self._keep(key, None)  # this statement too is rendered whole by the caller
            return None
        self._keep(key, Template(tuple(parts), tuple(p for p in places if p is not None)))
        out = [parts[0]]
        for literal, part in zip(literals, parts[1:], strict=True):
            out.append(literal)
            out.append(part)
        return "".join(out)

    def _keep(self, key: Any, made: Template | None) -> None:
        keep(self._made, key, made, self.size)

    def _writer(self, dialect: Any) -> Any:
        writer = self._writers.get(dialect)
        if writer is None:  # the dialect's own compiler: the literals are written by its render_literal_bindparam
            writer = self._writers[dialect] = dialect.statement_compiler(dialect, None)
        return writer
