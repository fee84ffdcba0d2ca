"""Parsing and validating a GraphQL document, bounded for everyone (issue #24).

A 6–13 KB document of one field repeated hundreds of times took 1.5–2.5 s to validate — graphql-core's
OverlappingFieldsCanBeMerged compares every pair of fields with the same response name — and, run on
the event loop, kept every other request of the process (``/healthz`` included) waiting as long.
Three bounds, in this order:

1. the token cap of the parser (``MAX_TOKENS``);
2. a budget checked on the parsed document before validation, linear in its size: at most
   ``MAX_ALIASES`` aliases (the same refusal, ``TOO_MANY_ALIASES``, as gongzhi.http.limits), at most
   ``MAX_SAME_NAME`` fields answering to one name in one selection set (fragments followed) and
   at most ``MAX_EXPANDED`` fields visited when fragments are expanded — beyond either the
   document is refused with ``DOCUMENT_TOO_COMPLEX``, unvalidated;
3. a document the process has not seen is parsed and validated on the process's one validation
   thread, so the event loop keeps answering while it runs; the outcome of ordinary-sized documents is remembered
   (``CACHE_SIZE`` documents), so a portal's documents are checked once per process, on the loop.

Anonymous requests never get here: the token is checked first (gongzhi.http.graphql).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    parse,
    specified_rules,
    validate,
    visit,
)
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from resolvers.i18n import Language, language, t
from schema.schema import MAX_ALIASES, MAX_TOKENS

STRAWBERRY_RULES = (MaybeNullValidationRule, OneOfInputValidationRule)
MAX_SAME_NAME = 30
MAX_EXPANDED = 10_000
CACHE_SIZE = 512
CACHED_LENGTH = 20_000

Outcome = tuple[list[dict[str, Any]], DocumentNode | None]


def _with_code(error: GraphQLError, code: str) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    formatted["extensions"] = {**(formatted.get("extensions") or {}), "code": code}
    return formatted


class _TooComplex(Exception):
    pass


def over_budget(doc: DocumentNode) -> str | None:
    """Why the document is too complex to validate, or None. Fields that answer to one name in one
    selection set are merged as validation merges them (their sub-selections counted together), so
    the bound holds however deep the repetition goes. Linear in the fields visited."""
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    visited = [0]

    def visit(selection_sets: list[SelectionSetNode], seen: frozenset[str]) -> None:
        groups: dict[str, list[FieldNode]] = {}

        def gather(sel: SelectionSetNode, seen: frozenset[str]) -> None:
            for node in sel.selections:
                visited[0] += 1
                if visited[0] > MAX_EXPANDED:
                    raise _TooComplex(t(f"展开片段后字段超过 {MAX_EXPANDED} 个",
                                         f"more than {MAX_EXPANDED} fields with fragments expanded"))
                if isinstance(node, FieldNode):
                    key = node.alias.value if node.alias else node.name.value
                    group = groups.setdefault(key, [])
                    group.append(node)
                    if len(group) > MAX_SAME_NAME:
                        raise _TooComplex(t(f"同一选择集中名为 {key} 的字段超过 {MAX_SAME_NAME} 个",
                                             f"more than {MAX_SAME_NAME} fields named {key} in one selection set"))
                elif isinstance(node, InlineFragmentNode):
                    gather(node.selection_set, seen)
                elif isinstance(node, FragmentSpreadNode):
                    name = node.name.value
                    fragment = fragments.get(name)
                    if fragment is not None and name not in seen:  # cycles: validation reports them
                        gather(fragment.selection_set, seen | {name})

        for sel in selection_sets:
            gather(sel, seen)
        for fields in groups.values():
            subs = [f.selection_set for f in fields if f.selection_set is not None]
            if subs:
                visit(subs, seen)

    try:
        for definition in doc.definitions:
            if isinstance(definition, OperationDefinitionNode):
                visit([definition.selection_set], frozenset())
            elif isinstance(definition, FragmentDefinitionNode):
                visit([definition.selection_set], frozenset({definition.name.value}))
    except _TooComplex as e:
        return str(e)
    return None


class _AliasCounter(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.aliases = 0

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.alias is not None:
            self.aliases += 1


def count_aliases(doc: DocumentNode) -> int:
    """The aliases written in the document (gongzhi.http.limits counts them as the operation runs,
    fragments expanded: never fewer), so a document over the limit is refused before validation."""
    counter = _AliasCounter()
    visit(doc, counter)
    return counter.aliases


def check_document(graphql_schema: GraphQLSchema, query: str, introspection: bool) -> Outcome:
    """Parse, budget, validate: the request errors (each with a code) and the document."""
    try:
        doc = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError as e:
        code = "TOO_MANY_TOKENS" if "tokens" in e.message else "GRAPHQL_PARSE_FAILED"
        return [_with_code(e, code)], None
    aliases = count_aliases(doc)
    if aliases > MAX_ALIASES:  # the same refusal limits.check gives, before the costly part
        return [{"message": t(f"查询使用了 {aliases} 个别名，最多 {MAX_ALIASES} 个",
                               f"the query uses {aliases} aliases; at most {MAX_ALIASES}"),
                 "extensions": {"code": "TOO_MANY_ALIASES", "aliases": aliases}}], None
    why = over_budget(doc)
    if why is not None:
        return [{"message": t(f"查询过于复杂，未予校验：{why}", f"the query is too complex to validate: {why}"),
                 "extensions": {"code": "DOCUMENT_TOO_COMPLEX"}}], None
    # Without introspection, no field suggestions either: they would leak the schema piecemeal.
    # Strawberry's own two rules too: the endpoint executes the document without validating it again.
    rules = [*specified_rules, *STRAWBERRY_RULES, *([] if introspection else [NoSchemaIntrospectionCustomRule])]
    errors = validate(graphql_schema, doc, rules, hide_suggestions=not introspection)
    return [_with_code(e, "GRAPHQL_VALIDATION_FAILED") for e in errors], doc


class DocumentChecker:
    """``check_document`` with the outcome of ordinary-sized documents remembered, and the work for
    a document not seen before done on a worker thread (the event loop stays free)."""

    def __init__(self, graphql_schema: GraphQLSchema, introspection: bool, *, offload: bool = True) -> None:
        self.schema = graphql_schema
        self.introspection = introspection
        self.offload = offload
        # Keyed by the language too: the refusals written here (aliases, complexity) are in the
        # request's language; graphql-core's own messages are English in both.
        self._cache: OrderedDict[tuple[Language, str], Outcome] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, query: str) -> Outcome | None:
        key = (language(), query)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
            return found

    def _check_and_remember(self, query: str) -> Outcome:
        outcome = check_document(self.schema, query, self.introspection)
        if len(query) <= CACHED_LENGTH:
            with self._lock:
                self._cache[(language(), query)] = outcome
                if len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return outcome

    async def check(self, query: str) -> Outcome:
        found = self.cached(query)
        if found is not None:
            return found
        if not self.offload:
            return self._check_and_remember(query)
        # The request's context (its language) goes with the work to the thread.
        return await asyncio.get_running_loop().run_in_executor(
            _EXECUTOR, contextvars.copy_context().run, self._check_and_remember, query)


# One thread for the whole process: new documents are checked one after another, and the event loop
# competes for the interpreter with one thread, never with a crowd of them (its share stays ≥ half).
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gongzhi-validate")
