"""State transitions (状态流转), written one way for every module.

A module declares its state machine as data — which action leads from which states to which — and
moves a row with :func:`transition`, which

1. refuses a move the machine does not allow (INVALID_TRANSITION naming the current state),
2. refuses a stale ``expectedVersion`` (CONFLICT on ``expectedVersion``),
3. writes ``UPDATE … WHERE id = :id AND state = :from [AND version = :seen]``, so of two conflicting
   transitions at once exactly one updates the row and the other gets CONFLICT,
4. writes the module's timeline entry, where it keeps one, and
5. tells the audit log the changed fields before → after (a Core UPDATE bypasses the unit of work
   that records ORM changes, ``tenants/session.py``).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from models import AuditEntry
from resolvers import transition_writes
from resolvers.context import Db, RequestContext
from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import t

S = TypeVar("S", bound=enum.Enum)

# action → (states it may start from, the state it leads to). None: the state stays (a versioned
# change such as supervising a case); a set: the caller names which one (a case's feedback closes
# or reopens it).
Move = tuple[frozenset[S], S | frozenset[S] | None]
# A refusal's format string: (Chinese, English), or one text for both.
Msg = str | tuple[str, str]


def say(message: Msg) -> str:
    """The format string in the request's language."""
    return t(*message) if isinstance(message, tuple) else message


@dataclass(frozen=True)
class Moved(Generic[S]):
    """One transition done, as the timeline hook sees it."""

    action: str
    from_state: S
    to_state: S
    changed: dict[str, tuple[Any, Any]]
    entry: Mapping[str, Any]


@dataclass(frozen=True)
class StateMachine(Generic[S]):
    """A module's states and moves, and how its refusals read.

    Messages are format strings over ``action``, ``noun``, ``state`` (current), ``to`` (target),
    ``sources`` (the states the action starts from), ``version`` (current) and, in ``lost`` only,
    ``now`` (the state re-read after losing the race; read only when the message asks for it).
    Each is a (Chinese, English) pair; ``noun`` reads ``noun_zh`` in Chinese."""

    noun: str
    model: type[Any]
    moves: Mapping[str, Move[S]]
    column: str = "state"
    versioned: bool = True
    noun_zh: str = ""
    refused: Msg = ("{noun}当前为 {state}，不能执行 {action}", "cannot {action} a {noun} that is {state}")
    refused_field: str = "id"
    refusals: Mapping[str, tuple[Msg, str]] = field(default_factory=dict)  # action → (refused, its field)
    stale: Msg = ("{noun}已有变动（当前版本 {version}），请重新加载后再试",
                  "the {noun} changed (version {version}); reload and retry")
    lost: Msg = ("{noun}已被他人修改，请重新加载后再试", "the {noun} was changed by someone else; reload and retry")
    lost_code: ErrorCode = ErrorCode.CONFLICT
    timeline: Callable[[RequestContext, Any, Moved[S]], Awaitable[None]] | None = field(default=None, compare=False)

    @property
    def table(self) -> str:
        return str(self.model.__table__.name)

    def allows(self, action: str, state: S) -> bool:
        return state in self.moves[action][0]

    def check(self, row: Any, action: str, *, to_state: S | None = None, refused: Msg | None = None) -> None:
        """INVALID_TRANSITION unless the machine lets ``action`` start from the row's state."""
        current: S = getattr(row, self.column)
        if not self.allows(action, current):
            message, at = self.refusals.get(action, (self.refused, self.refused_field))
            raise ServiceError(ErrorCode.INVALID_TRANSITION,
                               say(refused or message).format(**self._words(row, action, to_state)), at)

    def target(self, action: str, current: S, to_state: S | None) -> S:
        declared = self.moves[action][1]
        if declared is None:
            return current
        if isinstance(declared, frozenset):
            if to_state is None or to_state not in declared:
                raise ValueError(f"{self.noun} {action} leads to one of {sorted(s.value for s in declared)}")
            return to_state
        return declared

    def _words(self, row: Any, action: str, to_state: S | None, **more: Any) -> dict[str, Any]:
        sources, declared = self.moves[action]
        to = to_state if to_state is not None else declared if isinstance(declared, enum.Enum) else None
        return {"action": action, "noun": t(self.noun_zh or self.noun, self.noun),
                "state": getattr(row, self.column).value,
                "to": getattr(to, "value", ""), "sources": "/".join(sorted(s.value for s in sources)),
                "version": getattr(row, "version", None), **more}


def plain(value: Any) -> Any:
    """A value as the audit log keeps it (JSON)."""
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    return str(value)


async def write_if(db: Db, model: type[Any], row_id: Any, *, column: str, from_state: Any,
                   seen_version: int | None, values: Mapping[str, Any]) -> bool:
    """The conditional UPDATE of a transition; False when someone else moved the row first."""
    fast = transition_writes.text_for(db, model, row_id, column=column, from_state=from_state,
                                      seen_version=seen_version, values=values)
    if fast is not None:  # on PostgreSQL's driver, the same UPDATE compiled once (issue #21)
        return await transition_writes.write(db, *fast)
    cond = [model.id == row_id, getattr(model, column) == from_state]
    if seen_version is not None:
        cond.append(model.version == seen_version)
    result = await db.execute(update(model).where(*cond).values(**values).execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def planned(machine: StateMachine[S], row: Any, current: S, new_state: S, values: Mapping[str, Any] | None,
            version: int | None, now: datetime) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]], dict[str, Any]]:
    """What a move writes (the columns' new values), its changed fields before → after, and the audit log's
    change entry; ``row`` as it was read (an ORM row, or the values a step on the driver read:
    resolvers.cases.steps_fast)."""
    changes: dict[str, Any] = dict(values or {})
    if new_state is not current:
        changes[machine.column] = new_state
    if version is not None:
        changes |= {"version": version + 1, "updated_at": now}
    changed = {k: (getattr(row, k), v) for k, v in changes.items()}
    entry = {"table": machine.table, "id": str(row.id), "op": "update",
             "fields": {k: [plain(b), plain(a)] for k, (b, a) in changed.items() if k != "updated_at"}}
    return changes, changed, entry


async def _move(db: Db, machine: StateMachine[S], row: Any, current: S, new_state: S,
                values: Mapping[str, Any] | None, version: int | None, now: datetime,
                ) -> tuple[dict[str, tuple[Any, Any]], dict[str, Any]] | None:
    """The conditional UPDATE of a move, the loaded row brought up to date without marking it dirty,
    and the audit log's change entry (fields before → after); None when someone moved the row first."""
    changes, changed, entry = planned(machine, row, current, new_state, values, version, now)
    if not await write_if(db, machine.model, row.id, column=machine.column, from_state=current,
                          seen_version=version, values=changes):
        return None
    for k, val in changes.items():
        set_committed_value(row, k, val)
    return changed, entry


async def transition(
    ctx: RequestContext, machine: StateMachine[S], row: Any, action: str, *,
    expected_version: int | None = None, values: Mapping[str, Any] | None = None, to_state: S | None = None,
    timeline: Mapping[str, Any] | None = None, refused: Msg | None = None, stale: Msg | None = None,
    lost: Msg | None = None, field: str = "id",
) -> dict[str, tuple[Any, Any]]:
    """Move ``row`` by ``action`` (see the module docstring); ``values`` are the other columns the
    move sets, ``field`` the input field a lost race is reported on. Returns the changed fields,
    before → after; the loaded ``row`` holds the new values."""
    machine.check(row, action, to_state=to_state, refused=refused)
    current: S = getattr(row, machine.column)
    version: int | None = row.version if machine.versioned else None
    if machine.versioned and expected_version is not None and expected_version != version:
        raise ServiceError(ErrorCode.CONFLICT,
                           say(stale or machine.stale).format(**machine._words(row, action, to_state)),
                           "expectedVersion")
    new_state = machine.target(action, current, to_state)
    moved = await _move(ctx.db, machine, row, current, new_state, values, version, ctx.now)
    if moved is None:
        message = say(lost or machine.lost)
        now = ""
        if "{now}" in message:
            state = await ctx.db.scalar(select(getattr(machine.model, machine.column))
                                        .where(machine.model.id == row.id))
            now = getattr(state, "value", state)
        raise ServiceError(machine.lost_code, message.format(**machine._words(row, action, to_state, now=now)), field)
    changed, entry = moved
    ctx.db.session.info.setdefault("audit_changes", []).append(entry)
    if machine.timeline is not None:
        await machine.timeline(ctx, row, Moved(action, current, new_state, changed, timeline or {}))
    return changed


async def system_move(db: Db, machine: StateMachine[S], row: Any, action: str, *, now: datetime, audit_action: str,
                      values: Mapping[str, Any] | None = None, area_path: str | None = None,
                      ) -> dict[str, tuple[Any, Any]] | None:
    """A transition the system makes in a periodic job (no actor, no expected version): the same
    machine and conditional UPDATE as :func:`transition`, and an audit entry of its own — no user,
    role ``system``, ``audit_action`` — with the changed fields before → after. None: the machine
    does not allow it from the row's state, or someone moved the row first."""
    current: S = getattr(row, machine.column)
    if not machine.allows(action, current):
        return None
    new_state = machine.target(action, current, None)
    version: int | None = row.version if machine.versioned else None
    moved = await _move(db, machine, row, current, new_state, values, version, now)
    if moved is None:
        return None
    changed, entry = moved
    await db.flush(AuditEntry(user_id=None, roles="system", action=audit_action, object_type=machine.table,
                              object_ids=[str(row.id)], detail={"outcome": "ok", "errors": [], "changes": [entry]},
                              request_id=None, client_addr=None, area_path=area_path, created_at=now))
    return changed
