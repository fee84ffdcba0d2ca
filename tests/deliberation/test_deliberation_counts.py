"""SQL statements per request for the topic, meeting, notice and vote lists do not grow with the page
size: every nested field goes through a per-request loader. (Votes are listed as `topics { vote }`.)"""

from __future__ import annotations

from tests.support.deliberation_rows import N, seed
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


async def _same_cost(api: Api, tw: TenantWorld, who: str, query: str, field: str) -> None:
    await api.gql(tw, who, query, {"n": 1})  # warm the policy cache
    small, n_small = await api.counted(tw, who, query, {"n": 5})
    large, n_large = await api.counted(tw, who, query, {"n": 50})
    assert len(small["data"][field]["nodes"]) == 5, (who, field)
    assert len(large["data"][field]["nodes"]) == 50, (who, field)
    assert n_large == n_small, (who, field, n_small, n_large)


async def test_pages_of_50_cost_what_pages_of_5_cost(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    await seed(db, a)
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
