"""Rows for the deliberation count tests and the query-count world: `seed(n)` adds n topics (with cases,
steps and votes), meetings (agenda, attendees) and notices to a world tenant, by direct inserts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from models import (
    Area,
    Case,
    CasePriority,
    CaseState,
    Choice,
    Meeting,
    MeetingAttendee,
    MeetingState,
    MeetingTopic,
    Notice,
    Topic,
    TopicCase,
    TopicState,
    TopicStep,
    Vote,
    VoteElector,
    VoteMatter,
    VoteState,
    uuid7,
)
from tenants.session import bind_tenant
from tests.support.harness import DbEnv
from tests.support.world import TenantWorld

N = 55


async def seed(db: DbEnv, tw: TenantWorld, n: int = N) -> None:
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            p1 = await s.scalar(select(Area).where(Area.id == tw.areas["P1"]))
            b1 = await s.scalar(select(Area).where(Area.id == tw.areas["B1"]))
            assert p1 is not None and b1 is not None
            for i in range(n):
                at = start + timedelta(minutes=i)
                proposer = tw.users[("chair", "resident", "admin")[i % 3]]
                topic = Topic(id=uuid7(), area_id=p1.id, area_path=p1.path, title=f"议题{i}", description="",
                              proposer_user_id=proposer, state=TopicState.DELIBERATED, version=1, updated_at=at,
                              created_at=at)
                case = Case(id=uuid7(), number=f"T-{i:04d}", area_id=b1.id, area_path=b1.path,
                            category_code="garbage", priority=CasePriority.NORMAL, title=f"事件{i}", description="",
                            state=CaseState.REPORTED, reporter_user_id=proposer, reporter_role="resident",
                            on_wall=True, supervised=False, reopen_count=0, version=1, updated_at=at, created_at=at)
                s.add_all([topic, case])
                await s.flush()
                vote = Vote(id=uuid7(), topic_id=topic.id, compound_id=p1.id, compound_path=p1.path,
                            matter=VoteMatter.OTHER, question=f"表决{i}",
                            state=VoteState.CLOSED if i % 2 else VoteState.OPEN, opened_by_user_id=proposer,
                            closes_at=at + timedelta(days=30), created_at=at)
                meeting = Meeting(id=uuid7(), area_id=p1.id, area_path=p1.path, title=f"议事会{i}", starts_at=at,
                                  place="议事角", convener_user_id=proposer,
                                  state=MeetingState.CLOSED if i % 2 else MeetingState.CONVENED, version=1,
                                  updated_at=at, created_at=at)
                s.add_all([vote, meeting, Notice(id=uuid7(), area_id=p1.id, area_path=p1.path, title=f"通知{i}",
                                                 body="内容", publisher_user_id=proposer, created_at=at)])
                await s.flush()
                s.add_all([
                    TopicCase(topic_id=topic.id, case_id=case.id, linked_by_user_id=proposer, created_at=at),
                    TopicStep(topic_id=topic.id, seq=1, description="步骤", owner_name="业委会", progress=i % 100,
                              updated_at=at, created_at=at),
                    VoteElector(vote_id=vote.id, household_id=tw.households["H1"], floor_area=Decimal("80.00"),
                                choice=Choice.YES if i % 3 else None, created_at=at),
                    VoteElector(vote_id=vote.id, household_id=tw.households["H2"], floor_area=Decimal("60.50"),
                                created_at=at),
                    MeetingTopic(meeting_id=meeting.id, topic_id=topic.id, position=1, decided=bool(i % 2),
                                 created_at=at),
                    MeetingAttendee(meeting_id=meeting.id, position=1, person_id=tw.persons["h1a"], created_at=at),
                    MeetingAttendee(meeting_id=meeting.id, position=2, organisation="安居物业", created_at=at),
                ])
                if i % 2:
                    vote.closed_at = at + timedelta(days=1)
                    vote.result = {"matter": "other", "rule": "more_than_half", "electorate_owners": 2,
                                   "electorate_area": "140.50", "participating_owners": 1,
                                   "participating_area": "80.00", "yes_owners": 1, "yes_area": "80.00",
                                   "no_owners": 0, "no_area": "0", "abstain_owners": 0, "abstain_area": "0",
                                   "participation_area_met": False, "participation_owners_met": False,
                                   "approval_area_met": True, "approval_owners_met": True, "passed": False}
                    vote.passed = False
