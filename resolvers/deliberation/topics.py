"""Topics (议题: 提出议题 → 协商议题 → 监督落实 → 事后复盘): proposing, the topic state machine, linking
cases, and the implementation steps (落实事项) of a decided topic."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.exc import IntegrityError

from models import (
    Area,
    Case,
    PropertyOwner,
    Topic,
    TopicCase,
    TopicState,
    TopicStep,
    Vote,
    VoteElector,
    VoteState,
    uuid7,
)
from policies.deliberation.filters import area_rows_predicate
from policies.roles import Condition
from resolvers import inserts
from resolvers import validation as v
from resolvers.cases import read_predicate as case_read_predicate
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors
from resolvers.i18n import t
from resolvers.pagination import Page, keyset_page
from resolvers.transitions import StateMachine, transition

from .checks import area_for_action, fail

T = TopicState
# action → (states it may start from, state it leads to, the permission it needs)
TOPIC_TRANSITIONS: dict[str, tuple[frozenset[TopicState], TopicState, str]] = {
    "accept": (frozenset({T.PROPOSED}), T.ACCEPTED, "accept"),
    "decline": (frozenset({T.PROPOSED, T.ACCEPTED, T.DELIBERATED}), T.DECLINED, "accept"),
    "deliberate": (frozenset({T.ACCEPTED}), T.DELIBERATED, "decide"),
    "decide": (frozenset({T.ACCEPTED, T.DELIBERATED}), T.DECIDED, "decide"),
    "start": (frozenset({T.DECIDED}), T.IMPLEMENTING, "decide"),
    "complete": (frozenset({T.IMPLEMENTING}), T.DONE, "decide"),
    "review": (frozenset({T.DONE}), T.REVIEWED, "review"),
}
TOPIC: StateMachine[TopicState] = StateMachine(
    noun="topic", noun_zh="议题", model=Topic, moves={a: (frm, to) for a, (frm, to, _) in TOPIC_TRANSITIONS.items()})


def topic_read_predicate(ctx: RequestContext) -> ColumnElement[bool]:
    """Topics (and so their votes) in the read grant's reach, those the actor proposed, and those put to a
    vote the actor is an elector of: a registered owner (产权人) who lives elsewhere reads and casts in the
    votes of their dwelling's compound or building (DESIGN.md §8) like the owners living there."""
    grant = ctx.actor.grant("topic", "read")
    parts = [area_rows_predicate(Topic.area_path, Topic.area_id, grant, ctx.actor, ancestors=True),
             Topic.proposer_user_id == ctx.actor.user_id]
    person = ctx.actor.person_id
    if person is not None and ctx.actor.grant("vote", "cast").has(Condition.OWN):
        parts.append(Topic.id.in_(elector_topics(person)))
    return or_(*parts)


def owned_dwellings(person_id: uuid.UUID) -> Select[uuid.UUID]:
    """The dwellings a person is a registered owner of, now."""
    return select(PropertyOwner.household_id).where(PropertyOwner.person_id == person_id,
                                                    PropertyOwner.ended_at.is_(None))


def elector_topics(person_id: uuid.UUID) -> Select[uuid.UUID]:
    """Topics with a vote whose electorate holds a dwelling the person is a registered owner of now."""
    return (select(Vote.topic_id).join(VoteElector, (VoteElector.tenant_id == Vote.tenant_id)
                                       & (VoteElector.vote_id == Vote.id))
            .where(VoteElector.household_id.in_(owned_dwellings(person_id))))


def _topic_action_predicate(ctx: RequestContext, action: str) -> ColumnElement[bool]:
    return area_rows_predicate(Topic.area_path, Topic.area_id, ctx.actor.grant("topic", action), ctx.actor,
                               ancestors=False)


async def get_topic(ctx: RequestContext, topic_id: uuid.UUID) -> Topic | None:
    topic: Topic | None = await ctx.db.scalar(select(Topic).where(Topic.id == topic_id, topic_read_predicate(ctx)))
    return topic


def topic_list_filters(ctx: RequestContext, *, area_path: str | ColumnElement[str] | None,
                       states: Sequence[Any] | None) -> list[ColumnElement[bool]]:
    """The topics list's rows (newest first by id): readable, inside the area's path when one is given,
    in the states asked. The compiled read (compiled/topics.py) filters with this too, with the path
    read by a subquery and the states as literals."""
    filters = [topic_read_predicate(ctx)]
    if area_path is not None:
        filters.append(Topic.area_path.startswith(area_path))
    if states:
        filters.append(Topic.state.in_(states))
    return filters


async def list_topics(ctx: RequestContext, *, area_id: uuid.UUID | None, states: list[TopicState] | None,
                      first: int | None, after: str | None) -> Page[Topic]:
    path = None
    if area_id is not None:
        path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
        if path is None:
            raise fail(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    stmt = select(Topic).where(*topic_list_filters(ctx, area_path=path, states=states))
    return await keyset_page(ctx.db, stmt, Topic.id, first=first, after=after, descending=True)


async def _readable_cases(ctx: RequestContext, ids: Sequence[uuid.UUID], field: str) -> list[uuid.UUID]:
    ids = list(dict.fromkeys(ids))
    if len(ids) > 50:
        raise fail(ErrorCode.INVALID, t("最多 50 个事件", "at most 50 cases"), field)
    if not ids:
        return []
    found = set(await ctx.db.scalars(select(Case.id).where(Case.id.in_(ids), case_read_predicate(ctx))))
    if len(found) != len(ids):
        raise fail(ErrorCode.NOT_FOUND, t("事件不存在", "case not found"), field)
    return ids


async def propose_topic(ctx: RequestContext, *, area_id: uuid.UUID, title: str, description: str,
                        case_ids: Sequence[uuid.UUID]) -> Topic:
    errors = FieldErrors()
    clean: dict[str, str] = {}
    for name, value, limit, required in (("title", title, 100, True), ("description", description, 5000, False)):
        with errors.catch():
            clean[name] = v.text(value, name, max_len=limit, required=required)
    errors.raise_if_any()
    area = await area_for_action(ctx, area_id, "topic", "propose", "propose topics")
    cases = await _readable_cases(ctx, case_ids, "caseIds")
    topic = Topic(id=uuid7(), area_id=area.id, area_path=area.path, title=clean["title"],
                  description=clean["description"], proposer_user_id=ctx.actor.user_id, state=TopicState.PROPOSED,
                  version=1, updated_at=ctx.now, created_at=ctx.now)
    await inserts.insert(ctx, topic)
    if cases:
        await ctx.db.flush(*(TopicCase(topic_id=topic.id, case_id=c, linked_by_user_id=ctx.actor.user_id,
                                       created_at=ctx.now) for c in cases))
    return topic


async def topic_for_action(ctx: RequestContext, topic_id: uuid.UUID, permission: str, verb: str) -> Topic:
    topic = await get_topic(ctx, topic_id)
    if topic is None:
        raise fail(ErrorCode.NOT_FOUND, t("议题不存在", "topic not found"), "id")
    if await ctx.db.scalar(select(Topic.id).where(Topic.id == topic_id,
                                                  _topic_action_predicate(ctx, permission))) is None:
        raise fail(ErrorCode.FORBIDDEN, t(f"您无权对该议题执行 {verb}", f"you may not {verb} this topic"), "id")
    return topic


async def apply_topic_transition(ctx: RequestContext, topic: Topic, action: str, values: dict[str, Any],
                                 expected_version: int | None = None) -> Topic:
    await transition(ctx, TOPIC, topic, action, expected_version=expected_version, values=values)
    return topic


async def transition_topic(ctx: RequestContext, topic_id: uuid.UUID, action: str, *, text: str | None = None,
                           expected_version: int | None = None) -> Topic:
    """accept, decline (reason), decide (decision), start, complete, review (review text)."""
    field = {"decline": "reason", "decide": "decision", "review": "review"}.get(action)
    clean = None
    if field is not None:
        clean = v.text(text or "", field, max_len=5000)
    _, _, permission = TOPIC_TRANSITIONS[action]
    topic = await topic_for_action(ctx, topic_id, permission, action)
    values: dict[str, Any] = {}
    if action == "decline":
        values["decline_reason"] = clean
    elif action == "decide":
        await _check_no_open_vote(ctx, topic)
        values.update(decision=clean, decided_at=ctx.now)
    elif action == "review":
        values.update(review=clean, reviewed_at=ctx.now)
    elif action == "complete":
        unfinished = await ctx.db.scalar(select(func.count()).select_from(TopicStep).where(
            TopicStep.topic_id == topic.id, TopicStep.progress < 100))
        if unfinished:
            raise fail(ErrorCode.INVALID_TRANSITION, t(f"还有 {unfinished} 个实施步骤未到 100%",
                                                       f"{unfinished} implementation step(s) not at 100%"), "id")
    return await apply_topic_transition(ctx, topic, action, values, expected_version)


async def _check_no_open_vote(ctx: RequestContext, topic: Topic) -> None:
    state = await ctx.db.scalar(select(Vote.state).where(Vote.topic_id == topic.id))
    if state is VoteState.OPEN:
        raise fail(ErrorCode.INVALID_TRANSITION, t("该议题的业主表决尚未结束",
                                                   "the owners' vote on this topic is still open"), "id")


async def raise_case_to_topic(ctx: RequestContext, topic_id: uuid.UUID, case_id: uuid.UUID) -> Topic:
    """Link a case to a topic (事件转议题): the actor reads the case and may accept the topic."""
    topic = await topic_for_action(ctx, topic_id, "accept", "link cases to")
    await _readable_cases(ctx, [case_id], "caseId")
    if topic.state in (TopicState.REVIEWED, TopicState.DECLINED):
        raise fail(ErrorCode.INVALID_TRANSITION, t(f"议题当前为 {topic.state.value}，不能关联事件",
                                                   f"cannot link cases to a topic that is {topic.state.value}"), "id")
    if await ctx.db.scalar(select(TopicCase.id).where(TopicCase.topic_id == topic_id,
                                                      TopicCase.case_id == case_id)) is None:
        await ctx.db.flush(TopicCase(topic_id=topic_id, case_id=case_id, linked_by_user_id=ctx.actor.user_id,
                                     created_at=ctx.now))
    return topic


# ---------------------------------------------------------------- implementation steps


async def add_step(ctx: RequestContext, topic_id: uuid.UUID, *, description: str, owner_name: str,
                   due_date: date | None) -> TopicStep:
    errors = FieldErrors()
    clean: dict[str, str] = {}
    for name, value, limit in (("description", description, 500), ("ownerName", owner_name, 100)):
        with errors.catch():
            clean[name] = v.text(value, name, max_len=limit)
    errors.raise_if_any()
    topic = await topic_for_action(ctx, topic_id, "decide", "plan the implementation of")
    if topic.state not in (TopicState.DECIDED, TopicState.IMPLEMENTING):
        raise fail(ErrorCode.INVALID_TRANSITION, t(f"作出决定后才有实施步骤；议题当前为 {topic.state.value}",
                                                   f"steps follow a decision; the topic is {topic.state.value}"), "id")
    seq = int(await ctx.db.scalar(select(func.coalesce(func.max(TopicStep.seq), 0))
                                  .where(TopicStep.topic_id == topic_id)) or 0) + 1
    step = TopicStep(topic_id=topic_id, seq=seq, description=clean["description"], owner_name=clean["ownerName"],
                     due_date=due_date, progress=0, updated_at=ctx.now, created_at=ctx.now)
    try:
        async with ctx.db.savepoint():
            await ctx.db.flush(step)
    except IntegrityError:
        raise fail(ErrorCode.CONFLICT, t("同时有人添加了另一个步骤，请重试",
                                         "another step was added at the same time; retry"), "id") from None
    return step


async def update_step(ctx: RequestContext, step_id: uuid.UUID, *, progress: int, note: str | None) -> TopicStep:
    if not 0 <= progress <= 100:
        raise fail(ErrorCode.INVALID, t("进度应在 0 到 100 之间", "progress must be between 0 and 100"), "progress")
    clean = None if note is None else v.text(note, "note", max_len=1000, required=False) or None
    step: TopicStep | None = await ctx.db.scalar(select(TopicStep).where(TopicStep.id == step_id))
    if step is None or await get_topic(ctx, step.topic_id) is None:
        raise fail(ErrorCode.NOT_FOUND, t("步骤不存在", "step not found"), "id")
    topic = await topic_for_action(ctx, step.topic_id, "decide", "report progress on")
    if topic.state is not TopicState.IMPLEMENTING:
        raise fail(ErrorCode.INVALID_TRANSITION, t(f"实施中才能报告进度；议题当前为 " f"{topic.state.value}",
                                                   f"progress is reported while implementing; the topic is "
                     f"{topic.state.value}"), "id")
    step.progress = progress
    step.note = clean if clean is not None else step.note
    step.updated_at = ctx.now
    await ctx.db.flush(step)
    return step


async def get_step(ctx: RequestContext, step_id: uuid.UUID) -> TopicStep | None:
    readable = select(Topic.id).where(topic_read_predicate(ctx))
    step: TopicStep | None = await ctx.db.scalar(
        select(TopicStep).where(TopicStep.id == step_id, TopicStep.topic_id.in_(readable)))
    return step
