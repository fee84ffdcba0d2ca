"""Who votes (DESIGN.md §8, issue #23): registered property owners (产权人) of the dwellings in a vote's
scope — a compound or one building — one ballot per dwelling; proxy (委托) and paper ballots recorded by
staff with the document's reference, audited, counted once; a vote closes at ``closesAt`` by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from models import AuditEntry, Vote, VoteElector, VoteState
from resolvers.context import Db
from resolvers.deliberation import close_due_votes, tally
from tenants.session import bind_tenant
from tests.support.deliberation import (
    OPEN,
    add_household,
    cast,
    closes,
    codes,
    gid,
    open_vote,
    propose,
    topic_in,
)
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

REGISTER = ("mutation($i: RegisterPropertyOwnerInput!) { registerPropertyOwner(input: $i) { ownership { id "
            "certificateRef endedAt person { name } household { id } } errors { code field } } }")
END = ("mutation($i: EndPropertyOwnershipInput!) { endPropertyOwnership(input: $i) { ownership { endedAt } "
       "errors { code field } } }")
PROXY = ("mutation($i: RecordProxyBallotInput!) { recordProxyBallot(input: $i) { vote { ballotsCast } "
         "errors { code field } } }")
PAPER = ("mutation($i: RecordPaperBallotInput!) { recordPaperBallot(input: $i) { vote { ballotsCast } "
         "errors { code field } } }")
OWNERS = "query($id: ID!) { node(id: $id) { ... on Household { propertyOwners { id person { name } } } } }"
CASTF = ("mutation($i: CastBallotInput!) { castBallot(input: $i) { vote { ballotsCast } errors { code field } } }")
VOTE = ("query($id: ID!) { node(id: $id) { ... on Vote { state ballotsCast building { id } myBallot { choice "
        "method } result { electorateOwners participatingOwners yesOwners passed } } } }")


def hh(tw: TenantWorld, key: str) -> str:
    return gid("Household", tw.households[key])


async def owners_of(api: Api, tw: TenantWorld, key: str) -> list[dict[str, Any]]:
    r = await api.gql(tw, "admin", OWNERS, {"id": hh(tw, key)})
    return list(r["data"]["node"]["propertyOwners"])


async def electors(db: DbEnv, tw: TenantWorld, vote_gid: str) -> list[VoteElector]:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            vote_id = await s.scalar(select(Vote.id).order_by(Vote.created_at.desc()).limit(1))
            return list(await s.scalars(select(VoteElector).where(VoteElector.vote_id == vote_id)))


async def test_owners_not_residents_vote_and_owners_are_registered_by_staff(api: Api, db: DbEnv,
                                                                            fresh: World) -> None:
    a = fresh.a
    # H1's two people are on its title; take the daughter (resident, h1b) off: she lives there, she does not vote.
    owners = await owners_of(api, a, "H1")
    assert sorted(o["person"]["name"] for o in owners) == ["张小梅", "张建国"]
    daughter = next(o["id"] for o in owners if o["person"]["name"] == "张小梅")
    denied = await api.gql(a, "resident", END, {"i": {"id": daughter}})
    assert codes(denied["data"]["endPropertyOwnership"]) in (["FORBIDDEN"], ["NOT_FOUND"])
    ended = await api.gql(a, "admin", END, {"i": {"id": daughter}})
    assert ended["data"]["endPropertyOwnership"]["errors"] == []
    assert ended["data"]["endPropertyOwnership"]["ownership"]["endedAt"] is not None
    again = await api.gql(a, "admin", END, {"i": {"id": daughter}})
    assert codes(again["data"]["endPropertyOwnership"]) == ["INVALID_TRANSITION"]
    assert [o["person"]["name"] for o in await owners_of(api, a, "H1")] == ["张建国"]

    vid = await open_vote(api, a, await topic_in(api, a), matter="OTHER")
    assert codes(await cast(api, a, "resident", vid, "YES")) == ["FORBIDDEN"]  # lives there, not on the title
    assert codes(await cast(api, a, "secretary2", vid, "YES")) == []  # 张建国, the owner
    # The electorate is the dwellings with an owner: H1 and H2 (P1), not renters' flats without one.
    assert sorted(str(e.household_id) for e in await electors(db, a, vid)) == sorted(
        str(a.households[k]) for k in ("H1", "H2"))

    # Registering: staff who may write the household (grid leader of G1 covers B1; the firm may not).
    body = {"householdId": hh(a, "H1"), "personId": gid("Person", a.persons["h1b"]), "certificateRef": "鄂(2020)第01号"}
    assert codes((await api.gql(a, "firm", REGISTER, {"i": body}))["data"]["registerPropertyOwner"]) in (
        ["FORBIDDEN"], ["NOT_FOUND"])
    ok = (await api.gql(a, "admin", REGISTER, {"i": body}))["data"]["registerPropertyOwner"]
    assert ok["errors"] == [] and ok["ownership"]["certificateRef"] == "鄂(2020)第01号"
    # the title document's number is personal data: the chair (masked reader of P1) does not get it
    seen = "query($id: ID!) { node(id: $id) { ... on PropertyOwnership { certificateRef person { name } } } }"
    assert (await api.gql(a, "chair", seen, {"id": ok["ownership"]["id"]}))["data"]["node"] == {
        "certificateRef": None, "person": {"name": "张小梅"}}
    assert (await api.gql(a, "grid1", seen, {"id": ok["ownership"]["id"]}))["data"]["node"][
        "certificateRef"] == "鄂(2020)第01号"
    assert ok["ownership"]["person"]["name"] == "张小梅"
    dup = (await api.gql(a, "admin", REGISTER, {"i": body}))["data"]["registerPropertyOwner"]
    assert [(e["code"], e["field"]) for e in dup["errors"]] == [("CONFLICT", "personId")]
    # Another tenant's ids are unknown here.
    foreign = {"householdId": hh(fresh.b, "H1"), "personId": gid("Person", a.persons["h1b"])}
    assert codes((await api.gql(a, "admin", REGISTER, {"i": foreign}))["data"]["registerPropertyOwner"]) == [
        "NOT_FOUND"]
    # Co-owners share the dwelling's one ballot: the daughter, now on the title, changes it.
    second = await cast(api, a, "resident", vid, "NO")
    assert second["errors"] == [] and second["vote"] == {"ballotsCast": 1, "myBallot": {"choice": "NO"}}


async def test_a_buildings_vote_is_for_that_buildings_owners(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    await add_household(db, a, "B1", "102", "90")  # a second owner-occupied flat in B1
    topic = await propose(api, a, "chair", "B1", title="1栋加装电梯")
    tid = str(topic["topic"]["id"])
    await api.gql(a, "admin", "mutation($i: TopicTransitionInput!) { acceptTopic(input: $i) { errors { code } } }",
                  {"i": {"id": tid}})
    vid = await open_vote(api, a, tid, matter="CHANGE_COMMON_PARTS")
    node = (await api.gql(a, "chair", VOTE, {"id": vid}))["data"]["node"]
    assert node["building"] == {"id": gid("Building", a.areas["B1"])}
    # B1's dwellings only: H1 and 1-102; the chair's H2 is in B2.
    scope = {e.household_id for e in await electors(db, a, vid)}
    assert len(scope) == 2 and a.households["H1"] in scope and a.households["H2"] not in scope
    assert codes(await cast(api, a, "chair", vid, "YES")) == ["FORBIDDEN"]
    assert codes(await cast(api, a, "resident", vid, "YES")) == []
    closed = await api.gql(a, "chair", "mutation($i: TopicTransitionInput!) { closeVote(input: $i) { vote { result "
                                       "{ electorateOwners participatingOwners } } errors { code } } }",
                           {"i": {"id": vid}})
    assert closed["data"]["closeVote"]["vote"]["result"] == {"electorateOwners": 2, "participatingOwners": 1}


async def test_an_owner_of_two_dwellings_names_the_one_they_vote_for(api: Api, fresh: World) -> None:
    a = fresh.a
    body = {"householdId": hh(a, "H2"), "personId": gid("Person", a.persons["h1b"])}
    assert (await api.gql(a, "admin", REGISTER, {"i": body}))["data"]["registerPropertyOwner"]["errors"] == []
    vid = await open_vote(api, a, await topic_in(api, a), matter="OTHER")
    unnamed = (await api.gql(a, "resident", CASTF, {"i": {"voteId": vid, "choice": "YES"}}))["data"]["castBallot"]
    assert [(e["code"], e["field"]) for e in unnamed["errors"]] == [("INVALID", "householdId")]
    r = await api.gql(a, "resident", CASTF, {"i": {"voteId": vid, "choice": "YES", "householdId": hh(a, "H2")}})
    assert r["data"]["castBallot"]["errors"] == [] and r["data"]["castBallot"]["vote"]["ballotsCast"] == 1
    r = await api.gql(a, "resident", CASTF, {"i": {"voteId": vid, "choice": "NO", "householdId": hh(a, "H1")}})
    assert r["data"]["castBallot"]["errors"] == [] and r["data"]["castBallot"]["vote"]["ballotsCast"] == 2
    # Not an owner of H3 (P2): refused, naming the dwelling.
    r = await api.gql(a, "resident", CASTF, {"i": {"voteId": vid, "choice": "NO", "householdId": hh(a, "H3")}})
    assert [(e["code"], e["field"]) for e in r["data"]["castBallot"]["errors"]] == [("FORBIDDEN", "householdId")]


async def test_proxy_and_paper_ballots_recorded_by_staff_counted_once_and_audited(api: Api, db: DbEnv,
                                                                                fresh: World) -> None:
    a = fresh.a
    await add_household(db, a, "B1", "102", "90")
    vid = await open_vote(api, a, await topic_in(api, a), matter="OTHER")
    proxy = {"voteId": vid, "householdId": hh(a, "H2"), "choice": "YES", "documentRef": "委托书第001号",
             "proxyName": "李明（受托人）"}
    # Denied: a resident, the firm, a grid leader (no vote·record line), another tenant's staff.
    for who in ("resident", "firm", "grid1"):
        r = (await api.gql(a, who, PROXY, {"i": proxy}))["data"]["recordProxyBallot"]
        assert codes(r) in (["FORBIDDEN"], ["NOT_FOUND"]), (who, r)
    assert codes((await api.gql(fresh.b, "admin", PROXY, {"i": proxy}))["data"]["recordProxyBallot"]) == [
        "NOT_FOUND"]
    # Bad input changes nothing: both fields named at once.
    bad = (await api.gql(a, "chair", PROXY, {"i": {**proxy, "documentRef": " ", "proxyName": ""}}))
    assert sorted(e["field"] for e in bad["data"]["recordProxyBallot"]["errors"]) == ["documentRef", "proxyName"]
    assert all(e.choice is None for e in await electors(db, a, vid))
    # A dwelling outside the electorate (H3, another compound).
    outside = (await api.gql(a, "chair", PROXY, {"i": {**proxy, "householdId": hh(a, "H3")}}))
    assert [(e["code"], e["field"]) for e in outside["data"]["recordProxyBallot"]["errors"]] == [
        ("NOT_FOUND", "householdId")]
    # Allowed: the chair (scope) records H2's proxy.
    done = (await api.gql(a, "chair", PROXY, {"i": proxy}))["data"]["recordProxyBallot"]
    assert done == {"vote": {"ballotsCast": 1}, "errors": []}
    # Counted once: a paper ballot for the same dwelling, and the owner's own online cast, are refused.
    paper_h2 = {"voteId": vid, "householdId": hh(a, "H2"), "choice": "NO", "documentRef": "表决票第007号"}
    assert codes((await api.gql(a, "admin", PAPER, {"i": paper_h2}))["data"]["recordPaperBallot"]) == ["CONFLICT"]
    assert codes(await cast(api, a, "chair", vid, "NO")) == ["CONFLICT"]
    mine = (await api.gql(a, "chair", VOTE, {"id": vid}))["data"]["node"]["myBallot"]
    assert mine == {"choice": "YES", "method": "PROXY"}
    # H1 voted online: a paper ballot for it is refused; the street admin records 1-102's paper ballot.
    assert codes(await cast(api, a, "resident", vid, "NO")) == []
    paper_h1 = {**paper_h2, "householdId": hh(a, "H1")}
    assert codes((await api.gql(a, "admin", PAPER, {"i": paper_h1}))["data"]["recordPaperBallot"]) == ["CONFLICT"]
    rows = await electors(db, a, vid)
    h102 = next(e.household_id for e in rows if e.household_id not in (a.households["H1"], a.households["H2"]))
    paper = {**paper_h2, "householdId": gid("Household", h102), "choice": "YES"}
    assert (await api.gql(a, "admin", PAPER, {"i": paper}))["data"]["recordPaperBallot"] == {
        "vote": {"ballotsCast": 3}, "errors": []}
    rows = {e.household_id: e for e in await electors(db, a, vid)}
    assert (rows[a.households["H2"]].method.value, rows[a.households["H2"]].document_ref,
            rows[a.households["H2"]].proxy_name) == ("proxy", "委托书第001号", "李明（受托人）")
    assert (rows[h102].method.value, rows[h102].document_ref, rows[h102].proxy_name) == ("paper", "表决票第007号", None)
    assert rows[a.households["H1"]].method.value == "online"
    closed = await api.gql(a, "chair", "mutation($i: TopicTransitionInput!) { closeVote(input: $i) { vote { result "
                                       "{ participatingOwners yesOwners passed } } errors { code } } }",
                           {"i": {"id": vid}})
    assert closed["data"]["closeVote"]["vote"]["result"] == {"participatingOwners": 3, "yesOwners": 2,
                                                             "passed": True}
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            audited = list(await s.scalars(select(AuditEntry).where(
                AuditEntry.action.in_(("recordProxyBallot", "recordPaperBallot")))))
    by_user = sorted((e.action, e.user_id == a.users["chair"], e.detail.get("outcome")) for e in audited)
    assert ("recordProxyBallot", True, "ok") in by_user and ("recordPaperBallot", False, "ok") in by_user
    # A closed vote takes no recorded ballot either.
    late = (await api.gql(a, "admin", PAPER, {"i": paper}))["data"]["recordPaperBallot"]
    assert codes(late) == ["INVALID_TRANSITION"]


async def test_a_vote_closes_at_closes_at_by_itself_with_its_result(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    due = await open_vote(api, a, await topic_in(api, a), matter="OTHER")
    later = await open_vote(api, a, await topic_in(api, a), matter="OTHER")
    assert codes(await cast(api, a, "resident", due, "YES")) == []
    assert codes(await cast(api, a, "chair", due, "YES")) == []
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            ids = list(await s.scalars(select(Vote.id).order_by(Vote.created_at)))
            await s.execute(update(Vote).where(Vote.id == ids[0]).values(closes_at=datetime.now(UTC)
                                                                         - timedelta(minutes=1)))
    now = datetime.now(UTC)
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            closed = await close_due_votes(Db(s), now=now)
    assert [c["vote_id"] for c in closed] == [str(ids[0])]
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            votes = {v.id: v for v in await s.scalars(select(Vote))}
            rows = list(await s.execute(select(VoteElector.floor_area, VoteElector.choice)
                                        .where(VoteElector.vote_id == ids[0])))
            entries = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "system.closeDueVote")))
    v0 = votes[ids[0]]
    assert v0.state is VoteState.CLOSED and v0.closed_at is not None and v0.result is not None
    expected = tally(v0.matter, [(fa, c) for fa, c in rows])
    assert v0.result == expected.to_json() and v0.passed is expected.passed is True
    assert votes[ids[1]].state is VoteState.OPEN and votes[ids[1]].result is None
    assert [e.object_ids for e in entries] == [[str(ids[0])]]
    node = (await api.gql(a, "chair", VOTE, {"id": due}))["data"]["node"]
    assert node["state"] == "CLOSED" and node["result"]["passed"] is True
    assert codes(await cast(api, a, "resident", due, "NO")) == ["INVALID_TRANSITION"]
    # Run again: nothing more to close; the other vote is still open.
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            assert await close_due_votes(Db(s), now=datetime.now(UTC)) == []
    assert (await api.gql(a, "chair", VOTE, {"id": later}))["data"]["node"]["state"] == "OPEN"


async def test_open_vote_refuses_a_scope_without_registered_owners(api: Api, fresh: World) -> None:
    a = fresh.a
    # P3's only household (H4) is owner-occupied, but take its owner off the title first.
    owners = await owners_of(api, a, "H4")
    await api.gql(a, "admin", END, {"i": {"id": owners[0]["id"]}})
    topic = await propose(api, a, "admin", "P3", title="P3 议题")
    tid = str(topic["topic"]["id"])
    await api.gql(a, "admin", "mutation($i: TopicTransitionInput!) { acceptTopic(input: $i) { errors { code } } }",
                  {"i": {"id": tid}})
    r = await api.gql(a, "admin", OPEN, {"i": {"topicId": tid, "matter": "OTHER", "question": "?",
                                               "closesAt": closes()}})
    assert codes(r["data"]["openVote"]) == ["INVALID"]


async def test_an_owner_living_elsewhere_reads_and_casts_in_the_vote_of_their_dwelling(api: Api, db: DbEnv) -> None:
    """王德明 (h3a) lives in H3 of 老街小区 (P2) and is a registered owner of H1 in 幸福小区 (P1): an elector of
    P1's vote, he reads the vote (and its topic) and casts H1's ballot, although P1 is not his compound; a
    resident of a third compound does not see it; once his title ends, neither does he."""
    from tests.support.cases import add_resident
    from tests.support.harness import new_slug
    from tests.support.world import build_tenant

    a = await build_tenant(db.sessionmaker, new_slug("elector"))
    await add_resident(db, a, "owner3", "P2", "h3a")
    body = {"householdId": hh(a, "H1"), "personId": gid("Person", a.persons["h3a"]), "certificateRef": "房0001"}
    title = (await api.gql(a, "admin", REGISTER, {"i": body}))["data"]["registerPropertyOwner"]
    assert title["errors"] == [], title
    tid = await topic_in(api, a)
    vid = await open_vote(api, a, tid, matter="OTHER")
    seen = "query($id: ID!) { node(id: $id) { ... on Vote { id question } } }"
    topics = "{ topics(first: 50) { nodes { id } } }"
    assert (await api.gql(a, "owner3", seen, {"id": vid}))["data"]["node"] == {
        "id": vid, "question": "是否同意加装电梯？"}
    assert [n["id"] for n in (await api.gql(a, "owner3", topics))["data"]["topics"]["nodes"]] == [tid]
    assert (await api.gql(a, "resident4", seen, {"id": vid}))["data"]["node"] is None  # P3, no title in P1
    assert codes(await cast(api, a, "resident4", vid, "YES")) == ["NOT_FOUND"]
    cast_ = await cast(api, a, "owner3", vid, "YES")
    assert cast_["errors"] == [] and cast_["vote"] == {"ballotsCast": 1, "myBallot": {"choice": "YES"}}, cast_
    ended = await api.gql(a, "admin", END, {"i": {"id": title["ownership"]["id"]}})
    assert ended["data"]["endPropertyOwnership"]["errors"] == []
    assert (await api.gql(a, "owner3", seen, {"id": vid}))["data"]["node"] is None
    assert codes(await cast(api, a, "owner3", vid, "NO")) == ["NOT_FOUND"]
