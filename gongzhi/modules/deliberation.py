"""Deliberation (议事协商): topics, meetings, owners' votes, notices, the problem and echo walls."""

from datetime import datetime

from gongzhi.demo import seed_demo_deliberation
from gongzhi.jobs import Job, JobResult
from gongzhi.modules.declaration import Demo, Module
from models import Meeting, MeetingAttendee, MeetingTopic, Notice, Topic, TopicCase, TopicStep, Vote, VoteElector
from resolvers import deliberation as deliberation_service
from resolvers.context import Db
from schema import deliberation


async def _close_due(db: Db, now: datetime) -> JobResult:
    return len(await deliberation_service.close_due_votes(db, now=now)), []


# A vote closes at its closesAt by itself, with its result (DESIGN.md §8).
CLOSE_DUE_VOTES = Job("close_due_votes", "votes closed", _close_due)

MODULE = Module(
    name="deliberation",
    tables=(Topic, TopicCase, TopicStep, Meeting, MeetingTopic, MeetingAttendee, Vote, VoteElector, Notice),
    resources=("topic", "vote", "meeting", "notice"),
    schema=deliberation.PARTS,
    jobs=(CLOSE_DUE_VOTES,),
    demo=Demo("demo deliberation", seed_demo_deliberation),
)
