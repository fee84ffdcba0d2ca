"""The driver's fast paths (compiled reads, gongzhi/http/fast_writes.py, fast_moves.py, fast_inserts.py,
fast_ballot.py, fast_notifications.py) switched off for a test whose subject is the general path: the documents it
sends would take a fast path otherwise (each fast path is compared with the general path in its own tests); and
what those comparisons share: a request sent by either path, and the fast paths' ``prepare_*`` functions spied."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from tenants.session import fetch_first
from tests.support import citus
from tests.support.harness import Api, DbEnv
from tests.support.world import TenantWorld


@contextmanager
def general_path(api: Api) -> Iterator[None]:
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        yield
    finally:
        state.compiled_reads = True


async def post_by(api: Api, tw: TenantWorld, user: str, document: str, variables: dict[str, Any], *,
                  fast: bool) -> bytes:
    """``document`` sent as ``user`` of ``tw``, by the fast paths (``fast``) or by the general path alone; the
    answer's bytes (a 200 asserted)."""
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = fast
    try:
        r = await api.post(document, variables, token=api.token(tw, user))
    finally:
        state.compiled_reads = True
    assert r.status_code == 200, r.text
    return r.content


@contextmanager
def prepared_taken(*targets: tuple[Any, str], note: Callable[[Any], Any] = lambda out: out is not None
                   ) -> Iterator[list[Any]]:
    """Per request a fast path saw, whether it prepared the write: each ``(module, name)`` of ``targets`` is a fast
    path's ``prepare_*`` function (None when it leaves the request to the general path), spied while inside;
    ``note``: what is noted of its answer instead."""
    taken: list[Any] = []
    reals = [(module, name, getattr(module, name)) for module, name in targets]

    def spy(real: Any) -> Any:
        async def spied(*args: Any, **kw: Any) -> Any:
            out = await real(*args, **kw)
            taken.append(note(out))
            return out
        return spied

    for module, name, real in reals:
        setattr(module, name, spy(real))
    try:
        yield taken
    finally:
        for module, name, real in reals:
            setattr(module, name, real)


def prepared_since() -> datetime:
    """Now, as a bound on ``pg_prepared_statements.prepare_time``: through pgbouncer in transaction mode a
    server connection outlives the app's connections, and a named statement an earlier request prepared can stay
    on it (asyncpg closes a statement it no longer needs with a later statement of its connection, which may go
    to another server connection), with the custom plans of a request that did not ask for generic ones: CI's
    pgbouncer half once counted 2 on the connection a move got. The tests and PostgreSQL share one clock."""
    return datetime.now(UTC)


def assert_generic_from_first(db: DbEnv, seen: list[tuple[str, int, int]]) -> None:
    """What ``plans_seen`` (or a test's own ``_PLANS``) saw of a fast write's check, once: on PostgreSQL the
    transaction is force_generic_plan and the check has had a generic plan and no custom one. Through pgbouncer the
    app runs as production does there (``GONGZHI_DB_PGBOUNCER``, tests/support/databases.api_client): it leaves the
    server's plan mode alone — each statement is prepared afresh there, so a forced generic plan would be one
    planned blind to the values on every run (``AppState.open_context``). On Citus too: the coordinator cannot plan
    the writes' modifying CTEs without their parameters' values and relies on custom plans (docs/scaling.md §2)."""
    if db.through_pgbouncer or citus.ENABLED:
        assert [mode for mode, _c, _g in seen] == ["auto"], seen  # (pgbouncer's unnamed statements count no plan)
        return
    assert [(mode, custom) for mode, custom, _g in seen] == [("force_generic_plan", 0)], seen
    assert seen[0][2] >= 1, seen


_PLANS = ("SELECT current_setting('plan_cache_mode'), coalesce(sum(custom_plans), 0)::int, "
          "coalesce(sum(generic_plans), 0)::int FROM pg_prepared_statements "
          "WHERE statement LIKE $1 AND statement NOT LIKE '%pg_prepared_statements%' AND prepare_time >= $2")


@contextmanager
def plans_seen(module: Any, name: str, like: str) -> Iterator[list[tuple[str, int, int]]]:
    """Per call of the fast path's ``module.name`` (a ``prepare_*`` function), asked inside the request's
    transaction right after it: the transaction's plan_cache_mode, and the custom and generic plans the prepared
    statements whose text is ``LIKE like`` (the move's check) have had on the request's connection — those prepared
    since the block began (``prepared_since``)."""
    seen: list[tuple[str, int, int]] = []
    real = getattr(module, name)
    since = prepared_since()

    async def spied(ctx: Any, *args: Any, **kw: Any) -> Any:
        out = await real(ctx, *args, **kw)
        seen.append(tuple(await fetch_first(ctx.db.session, _PLANS, like, since)))  # type: ignore[arg-type]
        return out

    setattr(module, name, spied)
    try:
        yield seen
    finally:
        setattr(module, name, real)
