"""Shared GraphQL pieces: the Node interface, connections, typed errors, context access."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from graphql import GraphQLError
from sqlalchemy.orm.exc import StaleDataError
from strawberry.types import Info

from resolvers.audit import record_mutation
from resolvers.context import RequestContext
from resolvers.discarded_files import noted
from resolvers.error_catalogue import CATALOGUE, ApiErrorCode
from resolvers.errors import ErrorCode, ServiceError, ValidationErrors
from resolvers.i18n import t
from resolvers.ids import decode_offset_cursor, encode_cursor, encode_global_id, encode_offset_cursor
from resolvers.pagination import DEFAULT_COUNT_CAP, MAX_COUNT_CAP, Page, page_size
from schema.parts import NodeResolver
from tenants.session import released_by_commit

T = TypeVar("T")
R = TypeVar("R")


# Typed forms of strawberry's resolver decorators, for mypy --strict (disallow_untyped_decorators).
# ``@strawberry.field(description=...)`` is typed ``Any`` (the overload without a resolver,
# strawberry-graphql/strawberry#1929). Strawberry types the ``resolver=`` overload as the resolver's
# return type and builds the same field either way (``strawberry.field(resolver=f, …)`` is
# ``strawberry.field(…)(f)``), so these pass the resolver that way.


def field(*, description: str, deprecation_reason: str | None = None) -> Callable[[Callable[..., T]], T]:
    """``@strawberry.field(description=...)`` on a resolver method."""
    def declare(resolver: Callable[..., T]) -> T:
        return strawberry.field(resolver=resolver, description=description, deprecation_reason=deprecation_reason)

    return declare


def mutation(*, description: str) -> Callable[[Callable[..., T]], T]:
    """``@strawberry.mutation(description=...)`` on a resolver method."""
    def declare(resolver: Callable[..., T]) -> T:
        return strawberry.mutation(resolver=resolver, description=description)

    return declare


# Issue #25, one shape for the whole schema: the date the legacy forms were deprecated. Every
# deprecation reason says since when (gongzhi.ops.schema_compat refuses one that does not); the
# forms go at the first release after it (docs/api.md, "One shape").
SHAPE_SINCE = "2026-12-05"


def legacy_reason(mutation_name: str) -> str:
    """The deprecation reason of a bare argument kept beside a mutation's ``input`` form."""
    type_name = mutation_name[0].upper() + mutation_name[1:] + "Input"
    return f"pass `input: {type_name}` instead (one input per mutation, issue #25); since {SHAPE_SINCE}"


def legacy_argument(mutation_name: str) -> Any:
    """A bare argument of a mutation kept beside its ``input`` form: nullable and deprecated."""
    return strawberry.argument(deprecation_reason=legacy_reason(mutation_name))


def one_form(input: object | None, required: Sequence[object], optional: Sequence[object] = ()) -> None:
    """Exactly one form of a mutation's arguments: its ``input``, or (deprecated) its bare arguments
    with every required one given. Anything else is a typed INVALID error, raised inside the
    mutation's ``run`` so it lands in the payload's ``errors``."""
    bare = [*required, *optional]
    if input is not None and any(v is not None for v in bare):
        raise ServiceError(ErrorCode.INVALID, t("请只用 input 传参，不要同时使用旧的单独参数",
                                                "pass either input or the deprecated bare arguments, not both"),
                           "input")
    if input is None and any(v is None for v in required):
        raise ServiceError(ErrorCode.INVALID, t("缺少 input 参数", "input is required"), "input")


def given(value: T | None) -> T:
    """A bare argument that ``one_form`` has checked is there (typed non-null for the service)."""
    if value is None:
        raise ServiceError(ErrorCode.INVALID, t("缺少 input 参数", "input is required"), "input")
    return value


def subscription(*, description: str) -> Callable[[Callable[..., T]], T]:
    """``@strawberry.subscription(description=...)`` on an async generator method."""
    def declare(resolver: Callable[..., T]) -> T:
        return strawberry.subscription(resolver=resolver, description=description)

    return declare


def graphql_enum(cls: type[enum.Enum], *, name: str, description: str) -> None:
    """Declare a Python enum (a model's, usually) a GraphQL enum, in place: strawberry keeps the
    definition on the class itself, so fields annotate with the class, imported under the schema's
    name if it differs (``from models import PeriodState``). Assigning ``strawberry.enum(...)``'s
    result instead makes a variable, which mypy refuses as an annotation (``valid-type``); this returns
    nothing so that pattern cannot come back. One Python enum serving under two GraphQL names
    (``ActivityState`` / ``SharedActivityState``) depends on import order, as it did before: each
    module's types resolve their fields while that module's declaration is the current one (the
    committed schema.graphql diff guards it)."""
    strawberry.enum(cls, name=name, description=description)


graphql_enum(
    ErrorCode,
    name="ErrorCode",
    description="Machine-readable reason of an expected failure (错误代码).",
)
graphql_enum(
    ApiErrorCode,
    name="ApiErrorCode",
    description="Every code the API can return (错误代码目录): in a mutation payload's errors[].code and in "
                "errors[].extensions.code of a refused or failed request. Stable: never renamed or reused; "
                "docs/errors.md has the same table.",
)


@strawberry.type(description="One code of the error catalogue (错误代码), as docs/errors.md lists it.")
class ErrorCodeEntry:
    code: ApiErrorCode = strawberry.field(description="The code.")
    http_status: int | None = strawberry.field(
        description="The HTTP status it comes with; null: inside a 200 answer (a payload's errors or a field's "
                    "error).")
    meaning: str = strawberry.field(description="What it means, in English with the Chinese term.")


def error_catalogue() -> list[ErrorCodeEntry]:
    return [ErrorCodeEntry(code=code, http_status=entry.status, meaning=entry.meaning)
            for code, entry in CATALOGUE.items()]


def context(info: Info) -> RequestContext:
    ctx: RequestContext = info.context["request_context"]
    return ctx


class PublicError(GraphQLError):
    """An expected failure of a query field, shown to the client with its code."""

    def __init__(self, error: ServiceError) -> None:
        super().__init__(error.message, extensions=error.extensions)


async def query_call(fn: Awaitable[R]) -> R:
    try:
        return await fn
    except ServiceError as e:
        raise PublicError(e) from None


@strawberry.interface(description="An object with a global ID (Relay Node, 节点).")
class Node:
    _m: strawberry.Private[Any]

    @field(description="Global ID of the object (全局ID): opaque, names type and row.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id(type(self).__name__, self._m.id))


@strawberry.type(description="Where a page of a connection sits (分页信息).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="This page was asked for with a cursor.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item; pass as `after`.")


@strawberry.type(description="An item of a page with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque keyset cursor of this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="How many items a list holds, counted up to a cap (计数上限): exact below it; "
                             "beyond it the cap and `hasMore` (show it as \"1000+\").")
class CappedCount:
    count: int = strawberry.field(description="The items in the whole filtered list, or the cap when there "
                                              "are more.")
    has_more: bool = strawberry.field(description="The list holds more items than `count` (then `count` is "
                                                  "the cap).")


@strawberry.type(description="A page of items, keyset-paginated (`first` ≤ 100, `after` a cursor).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page with their cursors.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
    _page: strawberry.Private[Page[Any]]

    @field(description="Items in the whole filtered list (one COUNT query; ask only when shown).")
    async def total_count(self) -> int:
        return await self._page.total_count()

    @field(description="The items in the whole filtered list counted up to `cap`: exact below it, else the "
                       "cap and `hasMore` (show \"1000+\"). Reads at most cap + 1 items, so it costs the same "
                       "on a list of millions (an audit log), where totalCount counts every one.")
    async def capped_count(
        self,
        cap: Annotated[int, strawberry.argument(
            description=f"Count at most this many (0 to {MAX_COUNT_CAP:,}).")] = DEFAULT_COUNT_CAP,
    ) -> CappedCount:
        count, more = await query_call(self._page.capped_count(cap))
        return CappedCount(count=count, has_more=more)

    @field(description="The items of this page without cursors.")
    def nodes(self) -> list[T]:
        return [e.node for e in self.edges]


def connection(page: Page[Any], wrap: Callable[[Any], Any]) -> Any:
    if page.cursors is not None:
        edges = [Edge(cursor=c, node=wrap(m)) for m, c in zip(page.items, page.cursors, strict=True)]
    else:
        of = page.cursor or (lambda m: encode_cursor(m.id))
        edges = [Edge(cursor=of(m), node=wrap(m)) for m in page.items]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        _page=page,
    )


def legacy_string_reason(enum_field: str) -> str:
    """The deprecation reason of a String of a closed set kept beside its enum twin (issue #25)."""
    return f"use `{enum_field}` (an enum of the closed set) instead; since {SHAPE_SINCE}"


def plain_list_reason(connection_field: str) -> str:
    """The deprecation reason of a root list that can grow, kept beside its connection (issue #25)."""
    return f"use `{connection_field}` (a connection: first/after, totalCount) instead; since {SHAPE_SINCE}"


def sequence_connection(items: Sequence[Any], wrap: Callable[[Any], Any], *, first: int | None,
                        after: str | None) -> Any:
    """A connection over a list the service computes whole in Python from several statements, where a
    keyset in SQL is not reasonable (overdueVisits, visitCoverage: sorted by figures computed after
    the queries; docs/api.md): the same statements as the plain list, paged here. A list that comes
    from one table query pages in SQL instead (resolvers.pagination sorted_page / keyset_page). The
    cursor is the item's position in the list's stable order, so ``totalCount`` and the pages agree
    within one state of the data."""
    n = page_size(first)
    start = 0 if after is None else decode_offset_cursor(after) + 1
    chunk = items[start:start + n]
    edges = [Edge(cursor=encode_offset_cursor(start + i), node=wrap(m)) for i, m in enumerate(chunk)]
    total = len(items)

    async def count() -> int:
        return total

    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=start + n < total,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        _page=Page(items=chunk, has_next=start + n < total, has_previous=after is not None, count_stmt=None,
                   db=None, count=count),  # type: ignore[arg-type]
    )


@strawberry.type(description="An expected failure of a mutation: nothing was written (用户错误).")
class UserError:
    code: ErrorCode = strawberry.field(description="What went wrong.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault, when one is.")


def user_errors(e: ServiceError) -> list[UserError]:
    errors = e.errors if isinstance(e, ValidationErrors) else [e]
    return [UserError(code=x.code, message=x.message, field=x.field) for x in errors]


async def mutate(info: Info, fn: Callable[[], Awaitable[R]]) -> tuple[R | None, list[UserError]]:
    """Run one mutation in a SAVEPOINT: an expected failure (or a crash) undoes all it did. Either
    way the attempt is audited: what it changed, or why it was refused."""
    ctx = context(info)
    session = ctx.db.session
    action = info.field_name
    events_before = len(ctx.events)
    changes: list[dict[str, Any]] = session.info.setdefault("audit_changes", [])
    changes_before = len(changes)
    discarded = noted(session)  # files to delete once the request commits (resolvers.discarded_files)
    discarded_before = len(discarded)
    nested = await ctx.db.begin_nested()
    try:
        try:
            result = await fn()
            with released_by_commit(session):  # no RELEASE round trip: the request's COMMIT releases it
                await ctx.db.commit_nested(nested)
        except StaleDataError:
            # The row's version moved between our read and our write: someone else won.
            raise ServiceError(ErrorCode.CONFLICT, t("已被他人修改，请重新加载后再试",
                                                     "changed by someone else meanwhile; reload and retry"),
                               "expectedVersion") from None
    except ServiceError as e:
        await _undo(ctx, nested)
        del ctx.events[events_before:]
        del changes[changes_before:]
        del discarded[discarded_before:]  # undone: its files stay
        errors = user_errors(e)
        await record_mutation(ctx, action, outcome="refused", changes=[], errors=[str(x.code) for x in errors])
        return None, errors
    except BaseException:
        await _undo(ctx, nested)
        del ctx.events[events_before:]
        del changes[changes_before:]
        del discarded[discarded_before:]
        await record_mutation(ctx, action, outcome="error", changes=[])
        raise
    await record_mutation(ctx, action, outcome="ok", changes=changes[changes_before:])
    return result, []


async def _undo(ctx: RequestContext, nested: Any) -> None:
    await ctx.db.rollback_nested(nested)


def node_resolvers(info: Info) -> Mapping[str, NodeResolver]:
    """The node resolvers the schema was built with (``schema.schema.build_schema``)."""
    resolvers: Mapping[str, NodeResolver] = getattr(info.schema, "node_resolvers", {})
    return resolvers
