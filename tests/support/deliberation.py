"""Helpers of the deliberation tests (议事协商): the mutation documents, and proposing, accepting, opening a
vote and casting ballots as world users (tests/support/world.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from models import Household, Person, PropertyOwner, Tenure, uuid7
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv
from tests.support.world import TenantWorld

PROPOSE = "mutation($i: ProposeTopicInput!) { proposeTopic(input: $i) { topic { id state } errors { code } } }"
ACCEPT = "mutation($i: TopicTransitionInput!) { acceptTopic(input: $i) { topic { state } errors { code } } }"
DECIDE = "mutation($i: TopicTextInput!) { decideTopic(input: $i) { topic { state decision } errors { code } } }"
START = ("mutation($i: TopicTransitionInput!) { startTopicImplementation(input: $i) { topic { state } "
         "errors { code } } }")
COMPLETE = "mutation($i: TopicTransitionInput!) { completeTopic(input: $i) { topic { state } errors { code } } }"
REVIEW = "mutation($i: TopicTextInput!) { reviewTopic(input: $i) { topic { state review } errors { code } } }"
ADD_STEP = "mutation($i: AddTopicStepInput!) { addTopicStep(input: $i) { step { id seq } errors { code } } }"
UPD_STEP = "mutation($i: UpdateTopicStepInput!) { updateTopicStep(input: $i) { step { progress } errors { code } } }"
OPEN = "mutation($i: OpenVoteInput!) { openVote(input: $i) { vote { id state } errors { code message } } }"
CAST = ("mutation($i: CastBallotInput!) { castBallot(input: $i) { vote { ballotsCast myBallot { choice } } "
        "errors { code message } } }")
CLOSE = """mutation($i: TopicTransitionInput!) { closeVote(input: $i) { vote { state result {
  rule electorateOwners electorateArea participatingOwners participatingArea yesOwners yesArea
  participationAreaMet participationOwnersMet approvalAreaMet approvalOwnersMet passed } } errors { code } } }"""
TOPICS = "{ topics(first: 100) { totalCount nodes { title } } }"
REPORT = "mutation($i: ReportCaseInput!) { reportCase(input: $i) { case { id } errors { code } } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"


def gid(t: str, i: Any) -> str:
    return encode_global_id(t, i)


def area(tw: TenantWorld, key: str) -> str:
    kind = {"S": "Street", "C": "Community", "Z": "Zone", "P": "Compound", "G": "Grid", "B": "Building"}[key[0]]
    return gid(kind, tw.areas[key])


async def propose(api: Api, tw: TenantWorld, who: str, where: str, title: str = "加装电梯",
                  **extra: Any) -> dict[str, Any]:
    r = await api.gql(tw, who, PROPOSE, {"i": {"areaId": area(tw, where), "title": title, **extra}})
    return dict(r["data"]["proposeTopic"])


async def topic_in(api: Api, tw: TenantWorld, where: str = "P1", state: str = "accepted") -> str:
    t = await propose(api, tw, "chair" if where == "P1" else "admin", where)
    tid = str(t["topic"]["id"])
    if state != "proposed":
        await api.gql(tw, "admin", ACCEPT, {"i": {"id": tid}})
    return tid


async def set_households(db: DbEnv, tw: TenantWorld, **values: tuple[str, Tenure]) -> None:
    """Floor area and tenure of world households; a household made a renter's has no registered owner
    among its people any more (renters are not on the title, DESIGN.md §8)."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            for key, (floor_area, tenure) in values.items():
                await s.execute(update(Household).where(Household.id == tw.households[key])
                                .values(floor_area=Decimal(floor_area), tenure=tenure))
                if tenure is not Tenure.OWNER:
                    await s.execute(update(PropertyOwner).where(PropertyOwner.household_id == tw.households[key])
                                    .values(ended_at=datetime.now(UTC)))


async def add_household(db: DbEnv, tw: TenantWorld, building: str, room: str, floor_area: str,
                        tenure: Tenure = Tenure.OWNER) -> None:
    """A new dwelling; an owner-occupied one gets its owner (a person of the register, 业主) on the title."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            h = Household(id=uuid7(), building_id=tw.areas[building], unit="1", room=room,
                          floor_area=Decimal(floor_area), tenure=tenure)
            s.add(h)
            if tenure is Tenure.OWNER:
                await s.flush()
                p = Person(id=uuid7(), household_id=h.id, name=f"业主{room}")
                s.add(p)
                await s.flush()
                s.add(PropertyOwner(household_id=h.id, person_id=p.id))


def closes() -> str:
    return (datetime.now(UTC) + timedelta(days=7)).isoformat()


async def open_vote(api: Api, tw: TenantWorld, tid: str, matter: str = "CHANGE_COMMON_PARTS") -> str:
    r = await api.gql(tw, "chair", OPEN, {"i": {"topicId": tid, "matter": matter, "question": "是否同意加装电梯？",
                                                "closesAt": closes()}})
    assert r["data"]["openVote"]["errors"] == [], r
    return str(r["data"]["openVote"]["vote"]["id"])


async def cast(api: Api, tw: TenantWorld, who: str, vid: str, choice: str) -> dict[str, Any]:
    r = await api.gql(tw, who, CAST, {"i": {"voteId": vid, "choice": choice}})
    return dict(r["data"]["castBallot"])


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]
