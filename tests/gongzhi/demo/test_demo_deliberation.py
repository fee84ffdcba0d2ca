"""The demo deliberation (issue #4), seeded through the services into a database of its own: the 东湾院
elevator vote with its ballots and computed result, 三里亭人家's group meetings, notices in every demo
tenant, and seeding twice adds nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gongzhi.demo.cases import seed_demo_cases
from gongzhi.demo.deliberation import seed_demo_deliberation
from gongzhi.modules.register import seed_demo_register as seed_demo
from models import (
    Area,
    BallotMethod,
    Choice,
    Meeting,
    MeetingAttendee,
    MeetingState,
    MeetingTopic,
    Notice,
    Tenant,
    Topic,
    TopicCase,
    TopicState,
    User,
    Vote,
    VoteElector,
    VoteMatter,
    VoteState,
)
from resolvers.deliberation.tally import Tally, tally
from tenants.session import bind_tenant, make_engine, make_sessionmaker
from tests.support.templates import create_migrated_sqlite


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    # a copy of the migrated template (tests/support/templates.py; CI time, issue #21)
    return create_migrated_sqlite(tmp_path_factory.mktemp("demo-delib") / "demo.db")


async def test_demo_deliberation(demo_db: str) -> None:
    engine = make_engine(demo_db)
    sm = make_sessionmaker(engine)
    try:
        await seed_demo(sm)
        await seed_demo_cases(sm)
        assert sorted(await seed_demo_deliberation(sm)) == ["baitao", "langya", "weierlu", "yanquan"]
        assert await seed_demo_deliberation(sm) == []
        async with sm() as s:
            bind_tenant(s, None)
            tenants = {t.slug: t.id for t in await s.scalars(select(Tenant))}
        for slug, tid in tenants.items():
            async with sm() as s:
                bind_tenant(s, tid)
                async with s.begin():
                    assert await s.scalar(select(func.count()).select_from(Notice)) == 2 + (slug == "yanquan"), slug
                    if slug == "yanquan":
                        await _check_dongwan(s)
                    if slug == "langya":
                        await _check_sanliting(s)
    finally:
        await engine.dispose()


async def _check_dongwan(s: AsyncSession) -> None:
    vote = await s.scalar(select(Vote))
    assert vote is not None and vote.state is VoteState.CLOSED and vote.matter is VoteMatter.CHANGE_COMMON_PARTS
    assert await s.scalar(select(Area.name).where(Area.id == vote.compound_id)) == "市政府东湾院"
    topic = await s.scalar(select(Topic).where(Topic.id == vote.topic_id))
    assert topic is not None and topic.title == "市政府东湾院加装电梯" and topic.state is TopicState.IMPLEMENTING
    chair = await s.scalar(select(User.id).where(User.username == "yanquan.chair"))
    assert topic.proposer_user_id == chair
    rows = list(await s.execute(select(VoteElector.floor_area, VoteElector.choice)))
    choices = [c for _, c in rows]
    assert choices.count(None) == 1 and choices.count(Choice.NO) == 1 and choices.count(Choice.ABSTAIN) == 1
    assert choices.count(Choice.YES) == len(rows) - 3 >= 5
    # The stored result is the Civil Code tally of the stored ballots, recomputed here from the rows.
    assert vote.result is not None
    assert Tally.from_json(vote.result) == tally(vote.matter, [(a, c) for a, c in rows])
    assert vote.passed is True
    # One owner's written proxy, recorded by the chair with its reference; the rest voted online.
    methods = list(await s.execute(select(VoteElector.method, VoteElector.document_ref)
                                   .where(VoteElector.choice.is_not(None))))
    assert [r for r in methods if r[0] is not BallotMethod.ONLINE] == [(BallotMethod.PROXY, "东湾院业主委托书第001号")]
    meeting = await s.scalar(select(Meeting).where(Meeting.area_path == vote.compound_path))
    assert meeting is not None and meeting.state is MeetingState.CLOSED and meeting.minutes


async def _check_sanliting(s: AsyncSession) -> None:
    meetings = list(await s.scalars(select(Meeting).order_by(Meeting.starts_at)))
    assert [m.state for m in meetings] == [MeetingState.CLOSED, MeetingState.CLOSED, MeetingState.CONVENED]
    assert all("小组" in m.title for m in meetings)
    for m in meetings:
        assert await s.scalar(select(func.count()).select_from(MeetingTopic).where(MeetingTopic.meeting_id == m.id))
        assert await s.scalar(select(func.count()).select_from(MeetingAttendee)
                              .where(MeetingAttendee.meeting_id == m.id)) >= 4
    decided = await s.scalar(select(func.count()).select_from(MeetingTopic).where(MeetingTopic.decided.is_(True)))
    assert decided == 2
    states = dict((t.title, t.state) for t in await s.scalars(select(Topic)))
    assert states == {"4栋楼道杂物清理": TopicState.REVIEWED, "广场音响夜间扰民": TopicState.IMPLEMENTING,
                      "加建非机动车充电棚": TopicState.ACCEPTED}
    assert await s.scalar(select(func.count()).select_from(TopicCase)) == 1
