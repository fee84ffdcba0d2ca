"""The compiled topics list (议题, issue #21): ``topics(areaId:, states:, first:, after:)`` in one statement,
like the notices list (compiled/notices.py).

The rows are the resolvers' own: ``resolvers.deliberation.topic_list_filters`` (readable: the grant's
reach, one's own proposals, the votes one is an elector of; inside the area's path; in the states
asked), here with the area's path read by a subquery and the states literals; newest first by id.
A topic's vote is the loader's (the vote of that topic, no further predicate); of a vote the column
fields, its compound and building (read under the area predicate, as the area loader) and the ballots
cast so far (the electors with a choice, the rule of ``resolvers.deliberation.ballots_cast_by_vote``).
A topic's cases and steps, a vote's result and the actor's own ballot are not compiled: a selection
with one of them takes the general path."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Text, cast, func, select

from compiled.case_filters import area_uuid
from compiled.compiler import Compiler, FieldTable, Sel
from compiled.fields import CONNECTION, EDGE, area_by_id, columns_of, connection, user
from compiled.sql import gid, lit
from models import Area, Topic, TopicState, Vote, VoteElector
from resolvers.deliberation import topic_list_filters
from schema.deliberation import Topic as TopicType
from schema.deliberation import Vote as VoteType


def topics(cx: Compiler, _row: None, sel: Sel) -> ColumnElement[Any]:
    path = None
    if cx.shape(sel, lambda a: a.get("areaId") is not None):
        ar = Area.__table__.alias("ta")
        found = (select(ar.c.path).where(ar.c.tenant_id == cx.tenant_id, ar.c.id == cx.param(sel, area_uuid, "uuid"))
                 .scalar_subquery())
        cx.guards.append(found.is_not(None))  # an unknown area is the resolvers' NOT_FOUND
        path = cast(found, Text)
    states = cx.shape(sel, lambda a: tuple(TopicState(x).value for x in a.get("states") or ()))
    stmt = select(Topic.__table__).where(
        Topic.tenant_id == cx.tenant_id,
        *topic_list_filters(cx.ctx, area_path=path, states=[lit(x) for x in states]))
    return connection(cx, sel, stmt, Topic.id, descending=True, node_type="Topic")


def _vote(cx: Compiler, t: Any, s: Sel) -> ColumnElement[Any]:
    v = Vote.__table__.alias("v")
    return (select(cx.sub("Vote", s, v)).select_from(v).where(v.c.tenant_id == cx.tenant_id, v.c.topic_id == t.c.id)
            .correlate_except(v).scalar_subquery())


def _ballots_cast(cx: Compiler, v: Any, _s: Sel) -> ColumnElement[Any]:
    e = VoteElector.__table__.alias("ve")
    return (select(func.count(e.c.choice)).where(e.c.tenant_id == cx.tenant_id, e.c.vote_id == v.c.id)
            .correlate_except(e).scalar_subquery())


TOPIC: FieldTable = {
    "id": lambda _cx, t, _s: gid("Topic", t.c.id),
    **columns_of(TopicType),  # title, description, state, proposedAt, decision, decidedAt, … version
    "area": lambda cx, t, s: area_by_id(cx, s, t.c.area_id),
    "proposer": lambda cx, t, s: user(cx, s, t.c.proposer_user_id),
    "vote": _vote,
}

VOTE: FieldTable = {
    "id": lambda _cx, v, _s: gid("Vote", v.c.id),
    **columns_of(VoteType),  # matter, question, state, closesAt, closedAt
    "compound": lambda cx, v, s: area_by_id(cx, s, v.c.compound_id),
    "building": lambda cx, v, s: area_by_id(cx, s, v.c.building_id),
    "ballotsCast": _ballots_cast,
}

# What compiled.fields adds to its FIELDS: the Query field and the types it reaches.
TABLES: dict[str, FieldTable] = {"Query": {"topics": topics}, "Topic": TOPIC, "Vote": VOTE,
                                 "TopicConnection": CONNECTION, "TopicEdge": EDGE}
