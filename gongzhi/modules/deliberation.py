"""Deliberation (议事协商): topics, meetings, owners' votes, notices, the problem and echo walls."""

from gongzhi.demo import seed_demo_deliberation
from gongzhi.modules.declaration import Demo, Module
from models import Meeting, MeetingAttendee, MeetingTopic, Notice, Topic, TopicCase, TopicStep, Vote, VoteElector
from schema import deliberation

MODULE = Module(
    name="deliberation",
    tables=(Topic, TopicCase, TopicStep, Meeting, MeetingTopic, MeetingAttendee, Vote, VoteElector, Notice),
    resources=("topic", "vote", "meeting", "notice"),
    schema=deliberation.PARTS,
    demo=Demo("demo deliberation", seed_demo_deliberation),
)
