"""Executing a document the endpoint has already checked (issue #21).

``POST /graphql`` parses, bounds and validates every document itself (``gongzhi.http.documents``,
remembered per process) and applies the depth, alias and cost limits (``gongzhi.http.limits``)
before any resolver runs. ``strawberry.Schema.execute`` would do it all again per request — parse
the text (its parser cache hashes the query), build five extension instances, run their hooks,
look the validation up — about a third of a trivial query's CPU. Here the checked document goes to
graphql-core's executor as strawberry would hand it over: the same execution-context class, the
same awaitable test, no resolver middleware (no extension of the schema has a ``resolve`` hook).
Strawberry's error logging is off in the server anyway (``observability``); errors are formatted by
the endpoint. Subscriptions and the platform API keep ``Schema.execute``/``subscribe``."""

from __future__ import annotations

from typing import Any

from graphql import DocumentNode, ExecutionResult, execute
from strawberry.execution import optimized_is_awaitable
from strawberry.schema._graphql_core import execution_context_class_kwargs
from strawberry.utils.await_maybe import await_maybe

from schema.schema import Schema


def has_resolve_hooks(schema: Schema) -> bool:
    """Whether an extension of the schema wraps every resolver (then this shortcut does not apply)."""
    return any(e._implements_resolve() for e in schema.get_extensions())


async def execute_checked(schema: Schema, document: DocumentNode, *, variables: dict[str, Any] | None,
                          operation_name: str | None, context: Any) -> ExecutionResult:
    """Run a validated document (queries and mutations; not subscriptions)."""
    result = await await_maybe(execute(
        schema._schema, document, variable_values=variables, operation_name=operation_name,
        context_value=context, is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # as strawberry passes it
        operation_extensions=None,
        **execution_context_class_kwargs(schema.execution_context_class),
    ))
    assert isinstance(result, ExecutionResult)
    return result
