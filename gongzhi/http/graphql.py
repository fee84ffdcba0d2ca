"""The GraphQL endpoint at /graphql: GraphQL over HTTP (POST application/json, answered as
``application/graphql-response+json`` or ``application/json``), request errors as 400 before any
resolver runs, the compiled read path first where a plan exists, strawberry otherwise."""


from __future__ import annotations

import enum
import logging
import uuid
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.http.ides import get_graphql_ide_html

import gongzhi.http.fast_ballot  # imported to register castBallot in fast_moves.MOVES
import gongzhi.http.fast_inserts  # imported to register its mutations in fast_moves.MOVES
import gongzhi.http.fast_notifications  # noqa: F401 (imported to register markNotificationsRead in fast_moves.MOVES)
from compiled import compile_request, finish, quiet, run_compiled
from gongzhi.http import fast_moves, fast_writes, pipeline
from gongzhi.http import observability as obs
from gongzhi.http.auth import AuthError, Claims, select_tenant
from gongzhi.http.documents import DocumentChecker
from gongzhi.http.execution import execute_checked, has_resolve_hooks
from gongzhi.http.explorer import example_operations, explorer_html
from gongzhi.http.limits import check as check_limits
from gongzhi.http.partners import partner_refusals
from gongzhi.http.persisted import PersistedQueryError
from gongzhi.http.pipeline import error_body, read_body
from gongzhi.http.read_audit import audits_in_statement, read_with_audit, written
from gongzhi.http.state import AppState
from gongzhi.modules import build_schema
from resolvers import cases as case_service
from resolvers.errors import ServiceError
from resolvers.fast_moves import PreparedMove
from resolvers.i18n import t
from schema.schema import MAX_TOKENS
from tenants.faults import is_unavailable
from tenants.rls import on_citus
from tenants.session import (
    DriverTransaction,
)

log = logging.getLogger("gongzhi")

GRAPHQL_RESPONSE = "application/graphql-response+json"
REFUSALS = frozenset({"FORBIDDEN", "UNAUTHENTICATED", "PARTNER_NOT_ALLOWED", "TENANT_NOT_ALLOWED"})
JSON = "application/json"


def _json(body: Any, status: int = 200, media_type: str = GRAPHQL_RESPONSE,
          headers: dict[str, str] | None = None) -> Response:
    if isinstance(body, dict) and "errors" in body and "data" not in body:
        # A request error: counted as one even when legacy clients get it with status 200 (issue #25).
        obs.note(outcome="request_error")
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


def _media_type(accept: str) -> str | None:
    """application/graphql-response+json when asked for by name; application/json for legacy
    clients, a missing Accept header and wildcards (as the spec says servers SHOULD)."""
    if GRAPHQL_RESPONSE in accept:
        return GRAPHQL_RESPONSE
    if not accept or JSON in accept or "*/*" in accept or "application/*" in accept:
        return JSON
    return None


class _Again(enum.Enum):
    """A fast write to make once more (``GraphQLEndpoint._write_on_driver``)."""

    AGAIN = 0


# The content-type header of an answer in each media type, as Starlette's Response writes it.
_CONTENT_TYPE = {m: (b"content-type", m.encode("latin-1")) for m in (GRAPHQL_RESPONSE, JSON)}


def _not_acceptable() -> Response:
    return _json(error_body(t(f"Accept 请求头应允许 {GRAPHQL_RESPONSE} 或 {JSON}",
                              f"Accept must allow {GRAPHQL_RESPONSE} or {JSON}"), "NOT_ACCEPTABLE"), 406, JSON)


def _unsupported_type(content_type: str, media: str) -> Response | None:
    if content_type.split(";")[0].strip().lower() == JSON:
        return None
    return _json(error_body(t("Content-Type 应为 application/json", "Content-Type must be application/json"),
                            "UNSUPPORTED_MEDIA_TYPE"), 415, media)


def _get_parameters(request: Request) -> dict[str, Any] | str:
    """A GET request's parameters as a POST body would carry them, or why they are not valid."""
    params = request.query_params
    body: dict[str, Any] = {}
    for name in ("query", "operationName"):
        if name in params:
            body[name] = params[name]
    for name in ("variables", "extensions"):
        if name in params:
            try:
                body[name] = orjson.loads(params[name])
            except orjson.JSONDecodeError:
                return f"{name} must be JSON"
    return body


def _not_over_get(operation: OperationDefinitionNode, media: str) -> Response:
    """GraphQL over HTTP: a mutation (or subscription) sent with GET is 405, and nothing runs."""
    kind = operation.operation.value
    return _json(error_body(t(f"{kind} 只能用 POST 发送", f"a {kind} must be sent with POST"),
                            "METHOD_NOT_ALLOWED"), 405, media, {"Allow": "POST"})


def _adhoc_get_refused(query: str, op_name: object, media: str) -> Response:
    """A GET carrying a document that is not a persisted one, where ad-hoc GET is off (issue #24).

    A mutation stays 405 (the spec's MUST; the document is only parsed, token-capped, to see which
    operation it names); anything else is 403 PERSISTED_QUERY_REQUIRED_FOR_GET — the spec's status
    for a request the client may not issue — without validating or running the document."""
    try:
        operation = get_operation_ast(parse(query, max_tokens=MAX_TOKENS),
                                      op_name if isinstance(op_name, str) else None)
    except GraphQLError:
        operation = None
    if operation is not None and operation.operation is not OperationType.QUERY:
        return _not_over_get(operation, media)
    message = t("GET 只执行持久化查询：请用 POST 发送查询文档，或在 extensions.persistedQuery 中给出其 sha256Hash",
                "a GET runs persisted queries only: send the document with POST, or its sha256Hash in "
                "extensions.persistedQuery")
    return _json(error_body(message, "PERSISTED_QUERY_REQUIRED_FOR_GET"), 403, media)


class GraphQLEndpoint:
    def __init__(self, app_state: AppState) -> None:
        self.state = app_state
        self.schema = build_schema(introspection=app_state.settings.introspection)
        self.documents = DocumentChecker(self.schema._schema, app_state.settings.introspection)
        self.fast_writes = fast_writes.Shapes()
        if has_resolve_hooks(self.schema):  # execute_checked runs no resolver middleware
            raise RuntimeError("a schema extension with a resolve hook needs Schema.execute")

    async def handle(self, request: Request) -> Response:
        """The Starlette route: GET (and POST when the pipeline's lane is not in front, e.g. tests that
        mount the endpoint alone)."""
        settings = self.state.settings
        headers = request.headers
        get = request.method == "GET"
        if get and settings.graphiql and "text/html" in headers.get("accept", ""):
            # The demo's explorer picks a demo user (issue #12); elsewhere strawberry's plain GraphiQL.
            if settings.demo:
                return HTMLResponse(explorer_html(example_operations()))
            return HTMLResponse(get_graphql_ide_html())
        media = _media_type(headers.get("accept", ""))
        if media is None:
            return _not_acceptable()
        body: dict[str, Any] | Response
        if get:
            # GraphQL over HTTP's GET (issue #24): URL parameters, JSON-encoded variables and
            # extensions; persisted queries only unless adhoc_get (below), queries only (a mutation
            # is 405) — what lets a persisted query's answer be cached by URL.
            found = _get_parameters(request)
            if isinstance(found, str):
                return _json(error_body(found, "BAD_REQUEST"), 400, media)
            body = found
        else:
            unsupported = _unsupported_type(headers.get("content-type", ""), media)
            if unsupported is not None:
                return unsupported
            body = self._parse_body(await request.body(), media)
            if isinstance(body, Response):
                return body
        answer = await self._serve(request, get, media, body, headers.get("authorization"),
                                   headers.get("x-gongzhi-tenant"))
        return answer if isinstance(answer, Response) else Response(answer, media_type=media)

    async def post(self, scope: Scope, receive: Receive, send: Send) -> None:
        """POST /graphql as pure ASGI (issue #21): what ``handle`` does for a POST, without Starlette's
        router, exception middleware, ``Request`` headers and body stream, or ``Response`` — about a
        tenth of a node lookup's CPU. ``RequestPipeline`` calls it in front of the app; the errors the
        app's exception handlers would answer (``AuthError``, ``ServiceError``, ``RateLimited``) are
        answered by the same functions here."""
        accept = ctype = authorization = tenant = None
        for key, value in scope["headers"]:  # the first of each, as Starlette's Headers.get
            if key == b"authorization":
                authorization = authorization if authorization is not None else value
            elif key == b"accept":
                accept = accept if accept is not None else value
            elif key == b"content-type":
                ctype = ctype if ctype is not None else value
            elif key == b"x-gongzhi-tenant":
                tenant = tenant if tenant is not None else value
        media = _media_type("" if accept is None else accept.decode("latin-1"))
        answer: bytes | Response | None
        if media is None:
            answer = _not_acceptable()
        else:
            answer = _unsupported_type("" if ctype is None else ctype.decode("latin-1"), media)
        if answer is None and media is not None:
            raw = await read_body(receive)
            body = self._parse_body(raw, media)
            if isinstance(body, Response):
                answer = body
            else:
                request = Request(scope, receive)
                request._body = raw  # read already: for whoever asks the request for it (a resolver)
                try:
                    answer = await self._serve(request, False, media, body,
                                               None if authorization is None else authorization.decode("latin-1"),
                                               None if tenant is None else tenant.decode("latin-1"))
                except AuthError as e:  # as the app's exception handlers (pipeline.EXCEPTION_HANDLERS)
                    answer = pipeline.auth_error(e)
                except ServiceError as e:
                    answer = pipeline.service_error(e)
                except pipeline.RateLimited as e:
                    answer = pipeline.rate_limited(e.decision)
        if isinstance(answer, Response):
            await send({"type": "http.response.start", "status": answer.status_code, "headers": answer.raw_headers})
            await send({"type": "http.response.body", "body": answer.body})
            return
        assert answer is not None and media is not None
        # As Response(answer, media_type=media) would send it: content-length, then content-type.
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(answer)).encode()), _CONTENT_TYPE[media]]})
        await send({"type": "http.response.body", "body": answer})

    def _parse_body(self, raw: bytes, media: str) -> dict[str, Any] | Response:
        if len(raw) > self.state.settings.max_body_bytes:
            return _json(error_body(t("请求体过大", "request body too large"), "PAYLOAD_TOO_LARGE"), 413, media)
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _json(error_body(t("请求体不是有效的 JSON",
                                      "body is not valid JSON"), "BAD_REQUEST"), 400, media)
        if not isinstance(parsed, dict):
            return _json(error_body(t("请求体应为 JSON 对象",
                                      "body must be a JSON object"), "BAD_REQUEST"), 400, media)
        return parsed

    async def _serve(self, request: Request, get: bool, media: str, body: dict[str, Any], authorization: str | None,
                     tenant: str | None) -> Response | bytes:
        """A request whose parameters were read: its answer (bytes: 200 in ``media``)."""
        settings = self.state.settings
        extensions = body.get("extensions")
        if extensions is not None and not isinstance(extensions, dict):
            return _json(error_body(t("extensions 应为对象",
                                      "extensions must be an object"), "BAD_REQUEST"), 400, media)
        if isinstance(body.get("operationName"), str):  # for the metrics of a refused request: no parse
            obs.note(operation=body["operationName"])
        # Nothing before authentication but reading the body and checking the token (issue #24): an
        # anonymous or badly signed request is refused before its document is parsed, and the rate
        # limit applies before any parse too.
        try:
            claims = self.state.verifier.verify(authorization)
            slug = select_tenant(claims, tenant)
            obs.note(tenant=slug, user=claims.user)
            decision = await self.state.limiter.check(slug, claims.user)
            if not decision.allowed:
                return pipeline.rate_limited(decision, media)
        except AuthError as e:
            return pipeline.auth_error(e, media)
        query, variables, op_name = body.get("query"), body.get("variables"), body.get("operationName")
        if (get and not settings.adhoc_get and isinstance(query, str) and query.strip()
                and not self.state.persisted.registered(query)):
            # GET runs persisted queries only (issue #24): by hash, or a document the server knows.
            return _adhoc_get_refused(query, op_name, media)
        try:
            query = self.state.persisted.resolve(query, extensions)
        except PersistedQueryError as e:
            return _json(error_body(e.message, e.code), 400 if media == GRAPHQL_RESPONSE else 200, media)
        if not isinstance(query, str) or not query.strip():
            return _json(error_body(t("query 应为非空字符串",
                                      "query must be a non-empty string"), "BAD_REQUEST"), 400, media)
        if variables is not None and not isinstance(variables, dict):
            return _json(error_body(t("variables 应为对象", "variables must be an object"), "BAD_REQUEST"), 400, media)
        if op_name is not None and not isinstance(op_name, str):
            return _json(error_body(t("operationName 应为字符串",
                                      "operationName must be a string"), "BAD_REQUEST"), 400, media)
        errors, document = await self.documents.check(query)
        obs.note(operation=obs.operation_name(op_name, document))  # issue #10: metrics, access log
        if errors or document is None:
            return _json({"errors": errors}, 400 if media == GRAPHQL_RESPONSE else 200, media)
        operation = get_operation_ast(document, op_name)
        if op_name is not None and operation is None:
            return _json(error_body(t(f"文档中没有名为 {op_name!r} 的操作",
                                      f"operationName {op_name!r} names no operation of the document"),
                                     "BAD_REQUEST"), 400, media)
        if operation is None:  # several operations and no operationName: which one is not ours to guess
            return _json(error_body(t("文档包含多个操作，请用 operationName 指明要执行哪一个",
                                      "the document has several operations: name the one to run with operationName"),
                                    "BAD_REQUEST"), 400, media)
        if get and operation.operation is not OperationType.QUERY:
            return _not_over_get(operation, media)
        if operation is not None:
            obs.note(operation_type=operation.operation.value)
        verdict = check_limits(self.schema._schema, document, op_name, variables)
        if verdict.error is not None:
            code, message = verdict.error
            body_ = error_body(message, code)
            body_["errors"][0]["extensions"].update(depth=verdict.depth, aliases=verdict.aliases, cost=verdict.cost)
            return _json(body_, 400 if media == GRAPHQL_RESPONSE else 200, media)

        request_id = pipeline.request_id()  # the client's X-Request-Id when safe, else a new one
        try:
            return await self._execute(request, media, query, document, operation, op_name, variables, claims, slug,
                                       request_id)
        except Exception as e:  # the database could not serve it (issue #26): 503, not a masked 500
            if not is_unavailable(e):
                raise
            return pipeline.unavailable(e, media)

    async def _execute(self, request: Request, media: str, query: str, document: DocumentNode,
                       operation: OperationDefinitionNode, op_name: str | None, variables: dict[str, Any] | None,
                       claims: Claims, slug: str, request_id: str) -> Response | bytes:
        """The request's database work: the compiled path where a plan exists, strawberry otherwise."""
        client = request.scope.get("client")
        client_addr = client[0] if client else None
        # Not on Citus (tenants.rls.on_citus): the coordinator refuses the driver's one-statement writes — the report,
        # the steps and fast_moves.MOVES alike (scalar subqueries in their INSERTs: "subqueries are not supported
        # within INSERT queries"), so every one would fail; the general path writes them there (docs/scaling.md §2).
        if self.state.compiled_reads and self.state.postgres and not on_citus(self.state.engine):
            shape = self.fast_writes.get(query, op_name, operation)
            if shape is not None:  # a report or a case step as portals send it (issue #21): no strawberry, no ORM
                try:
                    answer = await self._write_on_driver(shape, operation, variables, claims.user_id, slug,
                                                         request_id, client_addr, claims.partner_client)
                except AuthError as e:
                    return pipeline.auth_error(e, media)
                if answer is not None:
                    return answer
        # Only PostgreSQL compiles (compile_request), so plans.compiles() implies it.
        if self.state.compiled_reads and self.state.plans.compiles(query, op_name):
            try:
                answer = await self._compiled_on_driver(query, document, operation, op_name, variables,
                                                        claims.user_id, slug, request_id, client_addr,
                                                        claims.partner_client)
            except AuthError as e:
                return pipeline.auth_error(e, media)
            if answer is not None:
                return answer
        # A mutation on PostgreSQL: on a DriverTransaction, its ORM work (if any) on the same connection (issue #21).
        on_driver = operation.operation is OperationType.MUTATION and self.state.postgres
        async with self.state.request_session(on_driver=on_driver) as session:
            try:
                ctx = await self.state.open_context(session, claims.user_id, slug, request_id, client_addr,
                                                    partner_client=claims.partner_client)
            except AuthError as e:
                return pipeline.auth_error(e, media)
            if ctx.actor.partner_unit_id is not None:
                refusals = partner_refusals(document, operation, ctx.actor)
                if refusals:  # before anything runs: the agreements do not grant it (issues #24, #25)
                    return _json({"errors": refusals}, 403, media)
            compiled = None
            if self.state.compiled_reads:
                with obs.span("graphql.compile"):
                    compiled = compile_request(self.schema._schema, query, document, op_name, variables, ctx,
                                               self.state.plans)
            data = None
            if compiled is not None:
                with obs.span("graphql.compiled_read"):
                    data = await run_compiled(ctx, *compiled)
            if data is not None:  # issue #9: the whole answer from one SQL statement
                answer = finish(data, ctx)
                if compiled is not None and not (ctx.reads_pii or ctx.audit or ctx.events):
                    self.state.plans.keep(compiled[0], answer)  # a versioned plan's (compiled.policy)
                await self.state.commit_read(session, ctx)
                return answer
            # The document was parsed, validated and limited above: executed as it is (issue #21).
            result = await execute_checked(self.schema, document, variables=variables, operation_name=op_name,
                                           context={"request_context": ctx, "request": request})
            down = pipeline.first_unavailable(result.errors)
            if down is not None:
                # A resolver met the database down (a dead connection, a statement timeout): the whole
                # answer is 503 — partial data would hide it — and nothing is committed. The statements of
                # the fields GraphQL cancelled beside it run on to their end (resolvers.context.Db): waited for
                # before the session closes, as the commit waits for them — one still running after the close
                # would begin a transaction on a connection nothing returns to the pool (realtime.Hub, h-fuzz).
                await ctx.db.drain()
                return pipeline.unavailable(down, media)
            # A request error (e.g. variables that do not coerce) runs nothing: no data entry, 400.
            request_error = result.data is None and bool(result.errors) and all(
                e.path is None for e in result.errors or [])
            out: dict[str, Any] = {}
            if result.errors:
                out["errors"] = [self._format_error(e, request_id) for e in result.errors]
                codes = {(e.get("extensions") or {}).get("code") for e in out["errors"]}
                # Metrics (issue #25): a refusal is counted as one, not as "ok" or a plain error.
                obs.note(outcome="refused" if codes & REFUSALS else "error")
            if not request_error:
                out["data"] = result.data
            await self.state.commit(session, ctx)
        status = 400 if request_error and media == GRAPHQL_RESPONSE else 200
        return _json(out, status, media)  # X-Request-Id: the pipeline

    async def _compiled_on_driver(self, query: str, document: DocumentNode, operation: OperationDefinitionNode,
                                  op_name: str | None, variables: dict[str, Any] | None, user_id: uuid.UUID,
                                  slug: str, request_id: str, client_addr: str | None,
                                  partner_client: str | None) -> bytes | None:
        """A document that compiled before, answered on a DriverTransaction (issue #9): the request's
        first statement and the compiled one, no ORM session checked out. None: this request must
        take the ordinary path (its actor's plan does not compile, or a guard failed), which repeats
        the request from the start. The session only carries the tenant binding; if anything uses the
        ORM (a policy not in the cache yet, the audit entries of full reads of personal data) it does
        so on a connection and transaction of its own, bound to the tenant as every session is.
        A partner client's request comes here too (issue #21), its actor read in one statement
        (gongzhi.http.partner_actor); what its agreements do not grant goes to the ordinary path, which
        refuses it (partner_refusals) before anything runs."""
        session = self.state.sessionmaker()
        try:
            async with DriverTransaction(self.state.engine) as tx:
                session.info["driver_transaction"] = tx
                ctx = await self.state.open_context(session, user_id, slug, request_id, client_addr,
                                                    partner_client=partner_client)
                if ctx.actor.partner_unit_id is not None and partner_refusals(document, operation, ctx.actor):
                    return None
                with obs.span("graphql.compile"):
                    compiled = compile_request(self.schema._schema, query, document, op_name, variables, ctx,
                                               self.state.plans)
                if compiled is None:
                    return None
                kept = self.state.plans.kept(compiled[0])
                if kept is not None:  # the policy at the version just read, as its statement gave it (compiled.policy)
                    await tx.commit()
                    return kept
                # a quiet plan's read goes with the COMMIT (compiled.plans.run_compiled): nothing to write after it;
                # so does a read that writes the entry of its full reads itself (gongzhi.http.read_audit)
                committed = quiet(compiled[0])
                audited = not committed and audits_in_statement(compiled[0]) and not on_citus(self.state.engine)
                if audited:
                    compiled = read_with_audit(ctx, *compiled)
                with obs.span("graphql.compiled_read"):
                    data = await run_compiled(ctx, *compiled, tx=tx, commit=committed or audited)
                if data is None:
                    return None
                body = finish(data, ctx)
                if audited and written(ctx):
                    return body  # its entries written and committed with it
                if ctx.reads_pii or ctx.audit or ctx.events:
                    if committed or audited:  # its entries' transaction is over (never so: see read_audit)
                        return None  # the ordinary path answers it from the start, its entries with it
                    # Written and committed before the answer leaves, as on the ordinary path.
                    await self.state.commit_read(session, ctx)
                else:
                    self.state.plans.keep(compiled[0], body)
                await tx.commit()
                return body
        finally:
            if session.in_transaction():
                await session.close()

    async def _write_on_driver(self, shape: fast_writes.ReportShape, operation: OperationDefinitionNode,
                               variables: dict[str, Any] | None, user_id: uuid.UUID, slug: str, request_id: str,
                               client_addr: str | None, partner_client: str | None) -> bytes | None:
        """A recognised ``reportCase`` or case step on a DriverTransaction (``gongzhi.http.fast_writes``): the first
        statement, the checks, the rows with the audit entry with COMMIT. None: nothing was written or committed, and
        the general path answers the request from the start (an error to answer, a retry, a constraint met, a
        step another request made first). A step whose checks went in its write, made of a case this process kept,
        refused there: once more, its checks in their own statement (at most twice in all)."""
        args = (shape, operation, variables, user_id, slug, request_id, client_addr, partner_client)
        answer = await self._write_once(*args)
        if answer is _Again.AGAIN:
            answer = await self._write_once(*args)
        return None if answer is _Again.AGAIN else answer

    async def _write_once(self, shape: fast_writes.ReportShape, operation: OperationDefinitionNode,
                          variables: dict[str, Any] | None, user_id: uuid.UUID, slug: str, request_id: str,
                          client_addr: str | None, partner_client: str | None) -> bytes | _Again | None:
        schema = self.schema._schema
        report = step = move = None
        if shape.name in fast_moves.MOVES:  # claimWish, checkInActivity … (gongzhi.http.fast_moves)
            move = fast_moves.move_input(schema, operation, shape, variables)
        elif shape.name == "reportCase":
            report = fast_writes.report_input(schema, operation, shape, variables)
        else:
            step = fast_writes.step_input(schema, operation, shape, variables)
        if report is None and step is None and move is None:
            return None
        session = self.state.sessionmaker()
        try:
            async with DriverTransaction(self.state.engine) as tx:
                session.info["driver_transaction"] = tx
                # the report's and the case steps' statements on their generic plans from their first run on a
                # connection, as PostgreSQL settles on after five custom plans (issue #21); a move's as its entry
                # says (fast_moves.Move.generic_plans: each chosen from its statements' plans, RESULTS.md h-moves)
                generic = move is None or fast_moves.MOVES[shape.name].generic_plans
                ctx = await self.state.open_context(session, user_id, slug, request_id, client_addr,
                                                    partner_client=partner_client, generic_plans=generic)
                with obs.span("graphql.fast_write"):
                    written: case_service.PreparedReport | case_service.PreparedStep | PreparedMove | None
                    if move is not None:
                        written = await move(ctx)
                    elif report is not None:
                        written = await case_service.prepare_report(ctx, report)
                    else:
                        assert step is not None
                        written = await case_service.prepare_step(ctx, step)
                    if written is None:
                        return None
                    try:  # the rows, COMMIT and the events' NOTIFY after it: one round trip (tenants.commit)
                        await self.state.commit_writes(session, ctx, tuple(written.ctes), tuple(written.args),
                                                       written.guarded)
                    except fast_writes.WRITE_REFUSED:
                        written.refused()  # its checks in the write refused it, or a constraint did
                        # a step made of a case kept by this process (resolvers.cases.kept_cases), which changed since:
                        # once more with its checks in their own statement, what it kept now forgotten
                        again = isinstance(written, case_service.PreparedStep) and written.guarded
                        return _Again.AGAIN if again else None
                if not isinstance(written, PreparedMove):
                    written.committed()  # its case kept for its next step (resolvers.cases.kept_cases)
                self.state.bus.after_commit(ctx.events)
                if isinstance(written, PreparedMove):
                    return fast_moves.answer(shape, written.row, user_id)
                return fast_writes.answer(shape, written.case, None if report is not None else user_id)
        finally:
            if session.in_transaction():
                await session.close()

    @staticmethod
    def _format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
        original = error.original_error
        if original is None or isinstance(original, (GraphQLError, ServiceError)):
            formatted: dict[str, Any] = dict(error.formatted)
            if isinstance(original, ServiceError):
                formatted.setdefault("extensions", {})["code"] = original.code.value
            return formatted
        log.error("unexpected error in request %s", request_id, exc_info=original)
        masked = GraphQLError(t(f"服务器内部错误，请提供请求编号 {request_id}",
                                f"internal error; quote request id {request_id}"), error.nodes, path=error.path,
                              extensions={"code": "INTERNAL", "requestId": request_id})
        return dict(masked.formatted)


