"""The per-request context every resolver receives."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import SessionTransaction, configure_mappers
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.sql import Executable
from sqlalchemy.util import greenlet_spawn

from models import AuditEntry, Tenant
from policies.actor import Actor
from resolvers.photo_links import PhotoLinks
from tenants.session import release_kept, released_by_commit

T = TypeVar("T")

# The session's info key of the tenant's calendar_version as the request's first statement read it (issue #21).
CALENDAR_VERSION = "gongzhi.calendar_version"
# The session's info key: whether the tenant's actor_version moves with every change of the rows a request's actor is
# read from (migration 0055's triggers: PostgreSQL, not on Citus) — then what a process keeps of those rows (an
# area's path, a person's household and building) is kept per actor_version (resolvers.prepared.still_kept).
ACTOR_VERSION_MOVES = "gongzhi.actor_version_moves"


class Db:
    """The request's one AsyncSession. Sibling resolvers run concurrently and a session must not be
    used by two at once, so every statement takes the lock and fully reads its result inside it.

    Statements are shielded from cancellation: when a field fails, GraphQL execution cancels its
    siblings, and a statement cut off mid-flight would leave the connection unusable for the
    request's commit. A cancelled resolver's statement runs to its end; ``drain()`` waits for all.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.lock = asyncio.Lock()
        self._inflight: set[asyncio.Task[Any]] = set()

    async def locked(self, fn: Callable[[], Awaitable[T]]) -> T:
        async def run() -> T:
            async with self.lock:
                return await fn()

        task = asyncio.ensure_future(run())
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return await asyncio.shield(task)

    async def drain(self) -> None:
        """Wait for statements whose resolvers were cancelled (before the request commits)."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    async def all(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        return await self.locked(lambda: self._all(stmt, params))

    async def _all(self, stmt: Executable, params: Mapping[str, Any] | None) -> Sequence[Any]:
        return (await self.session.execute(stmt, params)).all()

    async def scalars(self, stmt: Executable) -> Sequence[Any]:
        return await self.locked(lambda: self._scalars(stmt))

    async def _scalars(self, stmt: Executable) -> Sequence[Any]:
        return (await self.session.scalars(stmt)).all()

    async def scalar(self, stmt: Executable) -> Any:
        return await self.locked(lambda: self.session.scalar(stmt))

    async def execute(self, stmt: Executable) -> Result[Any]:
        return await self.locked(lambda: self.session.execute(stmt))

    def _quiet(self) -> bool:
        """Nothing else is using the session and nothing is waiting to be flushed: beginning a SAVEPOINT
        or committing one that sends nothing is plain Python, run in place — no task, shield or greenlet
        (issue #21: a mutation's floor). ``_is_clean`` is what SQLAlchemy asks before it flushes."""
        return not self.lock.locked() and self.session.sync_session._is_clean()

    async def begin_nested(self) -> SessionTransaction:
        """A SAVEPOINT, which SQLAlchemy sends with the first statement inside it (none, if none runs)."""
        sync = self.session.sync_session
        if self._quiet():
            return sync.begin_nested()  # flushes first only when not clean: sends nothing here
        return await self.locked(lambda: greenlet_spawn(sync.begin_nested))

    async def commit_nested(self, sp: SessionTransaction) -> None:
        """Commit a SAVEPOINT: in place when that sends nothing (nothing to flush, and no statement ran inside
        it or its RELEASE is left to the COMMIT, ``released_by_commit``)."""
        # (the kept RELEASE is PostgreSQL's: tenants.session; raw_driver marks a PostgreSQL request's session)
        if self._quiet() and (not sp._connections or (release_kept() and self.session.info.get("raw_driver"))):
            sp.commit()
            return
        await self.locked(lambda: greenlet_spawn(sp.commit))

    async def rollback_nested(self, sp: SessionTransaction) -> None:
        """Undo a SAVEPOINT: what it wrote, and what the session loaded meanwhile is expired."""
        async def run() -> None:
            await greenlet_spawn(sp.rollback)
            self.session.expire_all()

        await self.locked(run)

    @contextlib.asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction: what happens inside is undone if it raises."""
        sp = await self.begin_nested()
        try:
            yield
        except BaseException:
            await self.locked(lambda: greenlet_spawn(sp.rollback))
            raise
        with released_by_commit(self.session):  # its RELEASE left to the request's COMMIT (issue #21)
            await self.commit_nested(sp)

    async def add(self, *objs: object) -> None:
        """Add rows for the next ``flush`` to write (the caller makes sure one follows in the mutation);
        under the lock, so never into a flush another resolver's statement has under way."""
        async with self.lock:
            self.session.add_all(objs)

    async def flush(self, *objs: object) -> None:
        async def run() -> None:
            self.session.add_all(objs)
            await self.session.flush()

        await self.locked(run)


_ENTRIES = manager_of_class(AuditEntry)
_configured: list[bool] = []


def audit_entry(**values: Any) -> AuditEntry:
    """A new ``AuditEntry`` holding ``values``, as ``AuditEntry(**values)`` makes it but without the ORM's
    instrumented constructor (issue #21: its per-attribute set events cost ≈ 90 Python calls, every
    mutation pays one): the values go in the instance's state dict, which is what a pending row's INSERT
    (the flush) and ``gongzhi.http.state.audit_rows`` read; unset columns get their defaults as before."""
    if not _configured:  # what the constructor's first call does: the mappers configured
        configure_mappers()
        _configured.append(True)
    entry: AuditEntry = _ENTRIES.new_instance()
    entry.__dict__.update(values)
    return entry


@dataclass
class RequestContext:
    db: Db
    tenant: Tenant
    actor: Actor
    now: datetime
    request_id: str
    client_addr: str | None = None
    loaders: dict[str, Any] = field(default_factory=dict)
    pii_reads: set[uuid.UUID] = field(default_factory=set)
    # The same, from the compiled path: the ids as PostgreSQL writes a uuid, which is str(UUID)'s text
    # (compiled.plans.finish; issue #21: a page of 40 persons made 40 UUIDs only to write them back as text).
    pii_read_ids: set[str] = field(default_factory=set)
    # Domain events to publish once the request's transaction commits (subscriptions).
    events: list[dict[str, Any]] = field(default_factory=list)
    # Audit entries of this request's mutations, appended in its commit.
    audit: list[AuditEntry] = field(default_factory=list)
    # Signs the photo links of Case.photos (issue #25); the app sets it, other contexts need none.
    photo_links: PhotoLinks | None = None

    @property
    def reads_pii(self) -> bool:
        """The request read personal data in full: its audit entry is due."""
        return bool(self.pii_reads or self.pii_read_ids)

    def audit_entries(self) -> list[AuditEntry]:
        """Entries this request must append before it commits: its mutations, full reads of PII."""
        if not self.reads_pii:
            return list(self.audit)
        ids = self.pii_read_ids.union(map(str, self.pii_reads)) if self.pii_reads else self.pii_read_ids
        return [*self.audit, self.full_read_entry(sorted(ids))]

    def full_read_entry(self, ids: list[str]) -> AuditEntry:
        """The entry of this request's full reads of personal data, of the persons ``ids`` (sorted; a compiled
        read's own statement may fill them in: gongzhi.http.read_audit)."""
        return audit_entry(
            user_id=self.actor.user_id,
            roles=",".join(r.value for r in self.actor.roles),
            action="person.read_pii",
            object_type="person",
            object_ids=ids,
            detail={},
            request_id=self.request_id,
            client_addr=self.client_addr,
            created_at=self.now,
        )
