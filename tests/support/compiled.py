"""Running a query on both read paths: compiled, then through strawberry's resolvers; what the
compiler produced per request; the tenants a module of compiled-read tests shares."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest

import gongzhi.http.graphql as app_module
from tests.support.harness import Api, DbEnv, World, new_slug
from tests.support.partners import PartnerApi
from tests.support.world import TenantWorld, build_tenant

PG_ONLY = "compiled reads are PostgreSQL-only; on SQLite every query runs through the resolvers"
# A compiled read without a WITH: the SELECT of the root object's text (compiled.sql.JsonObject.text, its
# concatenation grouped by SQLAlchemy), or of json_build_object's as written before.
COMPILED_READ = re.compile(r"""SELECT (\(*'\{"|CAST\(json_build_object)""")


async def module_tenant(db: DbEnv) -> TenantWorld:
    """A new tenant for a module's compiled-read tests, for a module-scoped fixture: built once, shared
    by the module's tests that only read it (a test that writes makes its own, from ``fresh``). On
    SQLite the module's tests skip before anything is built."""
    if not db.is_pg:
        pytest.skip(PG_ONLY)
    return await build_tenant(db.sessionmaker, new_slug("cm"))


async def module_world(db: DbEnv) -> World:
    """As ``module_tenant``, two tenants (a test that looks at the other tenant's rows)."""
    return World(a=await module_tenant(db), b=await build_tenant(db.sessionmaker, new_slug("cn")))


@contextmanager
def compiled_statements() -> Iterator[list[tuple[str, tuple[Any, ...]] | None]]:
    """Records, per request, what the compiler produced: (SQL, parameters), or None where it declined."""
    made: list[tuple[str, tuple[Any, ...]] | None] = []
    real = app_module.compile_request

    def spy(*args: Any, **kw: Any) -> Any:
        out = real(*args, **kw)
        made.append(out)
        return out

    app_module.compile_request = spy  # type: ignore[assignment]
    try:
        yield made
    finally:
        app_module.compile_request = real  # type: ignore[assignment]


async def both(api: Api, tw: TenantWorld, user: str, query: str, variables: dict[str, Any]
               ) -> tuple[bytes, bytes, bool]:
    """(compiled response, resolver response, whether the compiled path was taken)."""
    token = api.token(tw, user)
    with compiled_statements() as made:
        r1 = await api.post(query, variables, token=token)
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        r2 = await api.post(query, variables, token=token)
    finally:
        state.compiled_reads = True
    assert r1.status_code == r2.status_code, (r1.text, r2.text)
    return orjson.dumps(r1.json()), orjson.dumps(r2.json()), bool(made and made[0] is not None)


async def agree(api: Api, tw: TenantWorld, user: str, query: str, variables: dict[str, Any]) -> bytes:
    """``query`` as ``user`` took the compiled path and answered the resolvers' bytes: the answer (the equivalence
    files' check, once here)."""
    compiled, resolved, taken = await both(api, tw, user, query, variables)
    assert taken, (user, query[:40], variables)
    assert compiled == resolved, (user, query[:40], variables, around(compiled, resolved))
    return compiled


def around(a: bytes, b: bytes) -> tuple[bytes, bytes]:
    """Where two responses first differ, for a failure message."""
    i = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return a[max(0, i - 200):i + 200], b[max(0, i - 200):i + 200]


async def walk_pages(api: Api, tw: TenantWorld, user: str, query: str, field: str, variables: dict[str, Any],
                     limit: int = 20) -> int:
    """Every page of ``field`` from ``variables`` on, following each page's end cursor (at most ``limit``):
    each page taken by the compiled path and equal, byte for byte, to the resolvers' answer. The number
    of pages walked."""
    pages = 0
    for _ in range(limit):
        compiled, resolved, taken = await both(api, tw, user, query, variables)
        assert taken and compiled == resolved, (user, variables, around(compiled, resolved))
        pages += 1
        info = orjson.loads(compiled)["data"][field]["pageInfo"]
        if not info["hasNextPage"]:
            break
        variables = {**variables, "after": info["endCursor"]}
    return pages


async def partner_both(p: PartnerApi, token: str, query: str, variables: dict[str, Any], *,
                       status: int | None = 200) -> tuple[bytes, bytes, bool]:
    """``both`` for a partner token: compiled, then the resolvers — the two bodies and whether the compiled
    path was taken. Both answers have ``status`` (None: the same status, e.g. 403 for a unit without the grant)."""
    with compiled_statements() as made:
        r1 = await p.gql(token, query, variables)
    p.state.compiled_reads = False
    try:
        r2 = await p.gql(token, query, variables)
    finally:
        p.state.compiled_reads = True
    if status is None:
        assert r1.status_code == r2.status_code, (r1.text, r2.text)
    else:
        assert r1.status_code == r2.status_code == status, (r1.text, r2.text)
    return orjson.dumps(r1.json()), orjson.dumps(r2.json()), bool(made and made[0] is not None)


async def compiled_plan(api: Api, db: DbEnv, tw: TenantWorld, monkeypatch: pytest.MonkeyPatch, user: str,
                        document: str, variables: dict[str, Any], *, root: str, analyze: str
                        ) -> tuple[bytes, list[str]]:
    """A compiled read's answer and its plan, as the plan tests take them: ``ANALYZE analyze`` committed (the
    statistics the planner reads), the request on both paths (the same bytes, asserted), and ``EXPLAIN (ANALYZE)`` of
    the compiled statement (the one whose text holds the root object ``root``, a CTE before it or not) as the app
    role under row-level security, with the request's own parameters."""
    from sqlalchemy import text

    from tests.support.round_trips import plan_as_app, statements_sent

    async with db.owner_engine.begin() as conn:
        await conn.execute(text(f"ANALYZE {analyze}"))
    sent = statements_sent(monkeypatch)
    compiled, resolved, taken = await both(api, tw, user, document, variables)
    assert taken and compiled == resolved
    marker = "'{\"" + root + "\" : '"
    sql, args = next((s, tuple(a)) for s, a in sent if marker in s)
    return compiled, await plan_as_app(db, tw.tenant_id, sql, args)
