"""SQL statements per request for the topic, meeting, notice and vote lists do not grow with the page
size: every nested field goes through a per-request loader. (Votes are listed as `topics { vote }`.)"""

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
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

TOPICS = """query($n: Int!) { topics(first: $n) { totalCount nodes {
  title state area { name } proposer { username } cases { title } steps { seq progress }
  vote { state question ballotsCast myBallot { choice } compound { name } result { passed yesArea } }
} } }"""
MEETINGS = """query($n: Int!) { meetings(first: $n) { totalCount nodes {
  title state area { name } convener { username }
  agenda { position decided topic { title vote { ballotsCast myBallot { choice } } } }
  decidedTopics { title } attendees { name isOrganisation attended }
} } }"""
NOTICES = """query($n: Int!) { notices(first: $n) { totalCount nodes {
  title area { name } publisher { username } } } }"""
N = 55


async def _seed(db: DbEnv, tw: TenantWorld, n: int = N) -> None:
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


async def _same_cost(api: Api, tw: TenantWorld, who: str, query: str, field: str) -> None:
    await api.gql(tw, who, query, {"n": 1})  # warm the policy cache
    small, n_small = await api.counted(tw, who, query, {"n": 5})
    large, n_large = await api.counted(tw, who, query, {"n": 50})
    assert len(small["data"][field]["nodes"]) == 5, (who, field)
    assert len(large["data"][field]["nodes"]) == 50, (who, field)
    assert n_large == n_small, (who, field, n_small, n_large)


async def test_pages_of_50_cost_what_pages_of_5_cost(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    await _seed(db, a)
    for who in ("admin", "resident"):  # the resident's household is in every electorate (myBallot)
        await _same_cost(api, a, who, TOPICS, "topics")
        await _same_cost(api, a, who, MEETINGS, "meetings")
        await _same_cost(api, a, who, NOTICES, "notices")
    # The loaders answer what the rows say, per topic and per vote.
    got = (await api.gql(a, "resident", TOPICS, {"n": 50}))["data"]["topics"]["nodes"]
    by_title = {t["title"]: t for t in got}
    for i in range(N - 50, N):
        t = by_title[f"议题{i}"]
        assert [c["title"] for c in t["cases"]] == [f"事件{i}"]
        assert t["steps"] == [{"seq": 1, "progress": i % 100}]
        assert t["vote"]["ballotsCast"] == (1 if i % 3 else 0)
        assert t["vote"]["myBallot"] == {"choice": "YES" if i % 3 else None}  # H1 is the resident's household
        assert (t["vote"]["result"] is None) == (i % 2 == 0)
    other = (await api.gql(a, "resident4", TOPICS, {"n": 50}))["data"]["topics"]
    assert other["totalCount"] == 0
