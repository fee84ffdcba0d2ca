"""Personal data as PIPL asks (issue #24): a person's data report (every record naming them, derived
from the tables; every full read with who, when, why), erasure on request with the facts kept, the
erasure list re-applied to a restored database, and the retention job on a fake clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Uuid, func, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.exc import DBAPIError

from gongzhi.ops.pii import reapply_erasures
from models import Attachment, AuditEntry, Base, Case, CaseEvent, Member, Person, PersonCareTag, PersonErasure, User
from resolvers import register as register_service
from resolvers.context import Db
from resolvers.errors import ErrorCode, ServiceError
from resolvers.ids import encode_global_id
from resolvers.register import erasure as erasure_module
from tenants.rls import set_tenant_sql
from tenants.session import bind_tenant
from tests.support.cases import case_uuid, count_cases, report, set_case_times

# The module's own `db`, `world`, `api`: the retention job goes through every tenant
# (tests/support/databases.py; CI time, issue #21).
from tests.support.databases import module_api, module_db, module_world  # noqa: F401
from tests.support.harness import Api, DbEnv, World
from tests.support.photos import case_photos, download, make_api, png, uploaded

REPORT = ("query ($p: ID!) { personalDataReport(personId: $p) { erased person { id name phone } "
          "records { table column link rowId } fullReads { at userId userName roles via purpose requestId } } }")
ERASE = ("mutation ($i: ErasePersonInput!) { erasePerson(input: $i) { erasure { personId erasedAt reason reference } "
         "errors { code field } } }")
RETENTION = ("mutation ($i: SetPersonalDataRetentionInput!) { setPersonalDataRetention(input: $i) { months "
             "errors { code field } } }")
PERSONS = "{ persons(first: 100) { totalCount nodes { id phone } } }"

# Uuid columns without a foreign key that do not name a person, a household or a user.
NOT_A_PERSON = {("visits", "building_id"), ("wishes", "building_id"), ("inservice_records", "wish_id"),
                ("inservice_records", "activity_id"), ("votes", "building_id")}


def test_every_column_naming_a_person_is_walked() -> None:
    """Derived from the models: a new table with a person, household or user column is in the report
    unless NOT_WALKED says why not; a new uuid column that is none of them must be named here."""
    refs = {(r.table, r.column): r.kind for r in register_service.references()}
    unexplained = []
    for table in Base.metadata.sorted_tables:
        if "tenant_id" not in table.c or table.name in register_service.NOT_WALKED:
            continue
        for col in table.c:
            if col.name in ("tenant_id", "id") or not isinstance(col.type, Uuid):
                continue
            targets = {fk.column.table.name for fk in col.foreign_keys}
            if targets & {"persons", "households", "users"} or not targets:
                if (table.name, col.name) not in refs and (table.name, col.name) not in NOT_A_PERSON:
                    unexplained.append((table.name, col.name))
    assert not unexplained, f"columns naming someone the personal-data report does not walk: {unexplained}"
    for key, kind in {("cases", "reporter_user_id"): "user", ("vote_electors", "household_id"): "household",
                      ("vote_electors", "cast_by_user_id"): "user", ("visits", "household_id"): "household",
                      ("wishes", "beneficiary_person_id"): "person", ("members", "person_id"): "person",
                      ("care_service_records", "person_id"): "person", ("meeting_attendees", "person_id"): "person",
                      ("inservice_members", "person_id"): "person", ("role_assignments", "granted_by"): "user",
                      ("personal_data_consents", "person_id"): "person"}.items():
        assert refs.get(key) == kind, key
    assert not NOT_A_PERSON & refs.keys()
    every = {t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.c}
    assert set(register_service.NOT_WALKED) <= every


async def _audit(db: DbEnv, tw: Any, action: str) -> list[AuditEntry]:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            return list(await s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_report_lists_records_and_full_reads(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    h1b = encode_global_id("Person", a.persons["h1b"])
    case = await report(api, a, "resident", "B1")
    await api.gql(a, "admin", PERSONS)  # a full read of everyone, h1b included
    r = await api.post(REPORT, {"p": h1b}, token=api.token(a, "admin"), headers={"x-request-id": "pipl-report-1"})
    body = r.json()
    assert "errors" not in body, body
    rep = body["data"]["personalDataReport"]
    assert rep["erased"] is False and rep["person"]["id"] == h1b and rep["person"]["phone"] == a.phones["h1b"]
    got = {(x["table"], x["column"], x["link"], x["rowId"]) for x in rep["records"]}
    assert ("persons", "id", "PERSON", str(a.persons["h1b"])) in got
    assert ("households", "id", "HOUSEHOLD", str(a.households["H1"])) in got
    assert ("cases", "reporter_user_id", "USER", str(case_uuid(case["id"]))) in got
    assert ("members", "person_id", "PERSON") in {x[:3] for x in got}
    # h4a's case is not h1b's: nothing of tenant b or of other persons
    assert all(x["table"] != "cases" or x["rowId"] == str(case_uuid(case["id"])) for x in rep["records"])
    reads = rep["fullReads"]
    assert reads and all(x["via"] == "query" and x["purpose"] is None for x in reads)
    assert encode_global_id("User", a.users["admin"]) in {x["userId"] for x in reads}
    assert "street_admin" in reads[-1]["roles"]
    # producing the report is audited
    rows = [e for e in await _audit(db, a, "person.report") if e.request_id == "pipl-report-1"]
    assert len(rows) == 1 and rows[0].object_ids == [str(a.persons["h1b"])]
    assert rows[0].detail["records"] == len(rep["records"])


async def test_report_denied_and_foreign(api: Api, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    h1b = encode_global_id("Person", a.persons["h1b"])
    for user in ("grid1", "secretary", "resident"):
        body = await api.gql(a, user, REPORT, {"p": h1b}, expect_errors=True) if False else \
            (await api.post(REPORT, {"p": h1b}, token=api.token(a, user))).json()
        assert body.get("data") is None or body["data"]["personalDataReport"] is None
        assert body["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "NOT_FOUND"), (user, body)
    grid1 = (await api.post(REPORT, {"p": h1b}, token=api.token(a, "grid1"))).json()
    assert grid1["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    foreign = (await api.post(REPORT, {"p": encode_global_id("Person", b.persons["h1b"])},
                              token=api.token(a, "admin"))).json()
    assert foreign["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def _person(db: DbEnv, tw: Any, key: str) -> Person:
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            p = await s.scalar(select(Person).where(Person.id == tw.persons[key]))
            assert p is not None
            s.expunge(p)
            return p


async def test_erase_keeps_the_facts_and_reapplies_after_a_restore(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    h1b = encode_global_id("Person", a.persons["h1b"])
    case = await report(api, a, "resident", "B1")
    cases_before = await count_cases(db, a)
    persons_before = (await api.gql(a, "admin", PERSONS))["data"]["persons"]["totalCount"]

    denied = (await api.gql(a, "grid1", ERASE, {"i": {"personId": h1b, "reason": "SUBJECT_REQUEST"}}))
    assert denied["data"]["erasePerson"]["errors"][0]["code"] == "FORBIDDEN"
    assert (await _person(db, a, "h1b")).phone == a.phones["h1b"]

    ok = (await api.gql(a, "admin", ERASE, {"i": {"personId": h1b, "reason": "SUBJECT_REQUEST",
                                                  "reference": "申请-2026-001"}}))["data"]["erasePerson"]
    assert ok["errors"] == [] and ok["erasure"]["personId"] == h1b and ok["erasure"]["reference"] == "申请-2026-001"
    p = await _person(db, a, "h1b")
    assert register_service.is_erased(p)
    assert (p.id_card_masked, p.phone_masked, p.gender, p.party_org_id) == (None, None, None, None)
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            assert await s.scalar(select(func.count()).select_from(PersonCareTag)
                                  .where(PersonCareTag.person_id == p.id)) == 0
            assert await s.scalar(select(Member.person_id).where(Member.user_id == a.users["resident"])) is None
            reported = await s.scalar(select(Case).where(Case.id == case_uuid(case["id"])))
            assert reported is not None and reported.reporter_user_id == a.users["resident"]
            erasure = await s.scalar(select(PersonErasure).where(PersonErasure.person_id == p.id))
            assert erasure is not None and erasure.erased_by == a.users["admin"]
    # the facts add up as before: the case is there, the register counts the (anonymous) person
    assert await count_cases(db, a) == cases_before
    assert (await api.gql(a, "admin", PERSONS))["data"]["persons"]["totalCount"] == persons_before
    # the audit of the erasure carries no identity of the person
    logged = json.dumps([e.detail for e in await _audit(db, a, "erasePerson")], ensure_ascii=False)
    for secret in (a.phones["h1b"], a.id_cards["h1b"], "张小梅"):
        assert secret not in logged
    assert register_service.ERASED_NAME in logged  # the change itself is on the log
    again = (await api.gql(a, "admin", ERASE, {"i": {"personId": h1b, "reason": "OTHER"}}))["data"]["erasePerson"]
    assert again["errors"][0]["code"] == "CONFLICT"
    rep = (await api.gql(a, "admin", REPORT, {"p": h1b}))["data"]["personalDataReport"]
    assert rep["erased"] is True and rep["person"]["name"] == register_service.ERASED_NAME

    # A backup from before the erasure is restored: the identity is back; reapply erases it again.
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            row = await s.scalar(select(Person).where(Person.id == p.id))
            assert row is not None
            row.name, row.id_card_no, row.phone, row.household_id = "回来了", a.id_cards["h1b"], a.phones["h1b"], \
                a.households["H1"]
    assert not register_service.is_erased(await _person(db, a, "h1b"))
    done = await reapply_erasures(db.sessionmaker, tenant=a.slug)
    assert done == {a.slug: 1}
    assert register_service.is_erased(await _person(db, a, "h1b"))
    assert (await _person(db, a, "h4a")).name != register_service.ERASED_NAME
    assert await reapply_erasures(db.sessionmaker, tenant=a.slug) == {a.slug: 0}
    assert len(await _audit(db, a, "system.reapplyErasure")) == 1


async def _traces(db: DbEnv, tw: Any, case_ids: list[Any]) -> dict[str, Any]:
    """What an erasure must reach beyond the person's row: the resident's account's display name,
    the notes of the cases' timelines, the cases' photos (linked or not) and feedback comments."""
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            return {
                "display_name": await s.scalar(select(User.display_name).where(User.id == tw.users["resident"])),
                "notes": {str(cid): sorted(n for n in await s.scalars(select(CaseEvent.note).where(
                    CaseEvent.case_id == cid, CaseEvent.note.is_not(None)))) for cid in case_ids},
                "photos": sorted(str(c) for c in await s.scalars(select(Attachment.case_id).where(
                    Attachment.uploader_user_id == tw.users["resident"], Attachment.case_id.is_not(None)))),
                "feedback": {str(cid): await s.scalar(select(Case.feedback_comment).where(Case.id == cid))
                             for cid in case_ids},
            }


async def test_erase_reaches_account_timeline_notes_and_open_photos(api: Api, db: DbEnv, fresh: World) -> None:
    """Issue #24: erasure also anonymises the linked account's display name, clears the notes of the
    person's cases' timelines (append-only: through migration 0043's definer function on PostgreSQL)
    and the notes they wrote elsewhere, and unlinks the photos of their cases — an open one
    included — while others' cases keep theirs; reapply-erasures does it again after a restore."""
    a = fresh.a
    h1b = encode_global_id("Person", a.persons["h1b"])
    mine = await report(api, a, "resident", "B1", title="楼道漏水")  # h1b's account reports: stays open
    other = await report(api, a, "grid1", "B1", title="路灯不亮")  # the grid worker's case
    mine_id, other_id = case_uuid(mine["id"]), case_uuid(other["id"])
    r = await api.gql(a, "grid1", "mutation($i: CaseTransitionInput!) { acceptCase(input: $i) { errors { code } } }",
                      {"i": {"id": mine["id"], "note": "已电话联系张小梅，住1栋"}})
    assert r["data"]["acceptCase"]["errors"] == []
    async with db.sessionmaker() as s:  # photos on both cases, a comment by h1b's account on h4a's case
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            for cid, who in ((mine_id, "resident"), (other_id, "grid1")):
                s.add(Attachment(uploader_user_id=a.users[who], case_id=cid, content_type="image/jpeg", size=1,
                                 sha256="0" * 64, storage_key=f"{a.tenant_id.hex}/{cid.hex}"))
            s.add(CaseEvent(case_id=other_id, seq=99, action="comment", actor_user_id=a.users["resident"],
                            actor_role="resident", note="我是张小梅，我家也漏水", attachments=[], detail={}))
            await s.execute(update(Case).where(Case.id == mine_id).values(feedback_comment="张小梅：修得慢"))
    before = await _traces(db, a, [mine_id, other_id])
    assert "已电话联系张小梅，住1栋" in before["notes"][str(mine_id)]

    ok = (await api.gql(a, "admin", ERASE, {"i": {"personId": h1b, "reason": "SUBJECT_REQUEST"}}))["data"]
    assert ok["erasePerson"]["errors"] == []
    after = await _traces(db, a, [mine_id, other_id])
    assert after["display_name"] == register_service.ERASED_NAME
    assert after["notes"][str(mine_id)] and set(after["notes"][str(mine_id)]) == {register_service.ERASED_NAME}
    assert "我是张小梅，我家也漏水" not in after["notes"][str(other_id)]
    assert before["photos"] == [str(mine_id)]
    assert after["photos"] == []  # h1b's account's photo of its open case: unlinked, served to nobody
    assert after["feedback"][str(mine_id)] is None
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            kept = await s.scalar(select(Attachment.case_id).where(Attachment.uploader_user_id == a.users["grid1"]))
            state = await s.scalar(select(Case.state).where(Case.id == mine_id))
    assert kept == other_id  # others' photos stay
    assert state == "accepted"  # the facts of the open case stay
    text = json.dumps(await _traces(db, a, [mine_id, other_id]), ensure_ascii=False)
    assert "张小梅" not in text

    # A backup from before the erasure is restored: account link, display name, note and photo are back.
    async with db.owner_engine.begin() as conn:
        if db.is_pg:
            await conn.execute(sql_text(set_tenant_sql(a.tenant_id)))
        await conn.execute(update(Member).where(Member.tenant_id == a.tenant_id, Member.user_id == a.users["resident"])
                           .values(person_id=a.persons["h1b"]))
        await conn.execute(update(User).where(User.id == a.users["resident"]).values(display_name="张小梅"))
        await conn.execute(update(CaseEvent).where(CaseEvent.tenant_id == a.tenant_id, CaseEvent.case_id == mine_id,
                                                   CaseEvent.note.is_not(None)).values(note="已电话联系张小梅，住1栋"))
        await conn.execute(update(Attachment).where(Attachment.tenant_id == a.tenant_id,
                                                    Attachment.uploader_user_id == a.users["resident"])
                           .values(case_id=mine_id))
    assert await reapply_erasures(db.sessionmaker, tenant=a.slug) == {a.slug: 1}
    again = await _traces(db, a, [mine_id, other_id])
    assert again["display_name"] == register_service.ERASED_NAME and again["photos"] == []
    assert set(again["notes"][str(mine_id)]) == {register_service.ERASED_NAME}
    assert await reapply_erasures(db.sessionmaker, tenant=a.slug) == {a.slug: 0}


async def test_timeline_notes_stay_append_only_for_the_app_role(db: DbEnv, fresh: World) -> None:
    """The definer function of migration 0043 is the only way the app role changes a timeline note:
    a direct UPDATE is still refused, and the function refuses a tenant other than the transaction's."""
    if not db.is_pg:
        return
    a, b = fresh.a, fresh.b
    async with db.engine.connect() as conn:
        async with conn.begin():
            await conn.execute(sql_text(set_tenant_sql(a.tenant_id)))
            with pytest.raises(DBAPIError, match="permission denied"):
                await conn.execute(sql_text("UPDATE case_events SET note = 'x' WHERE tenant_id = :t"),
                                   {"t": a.tenant_id})
        async with conn.begin():
            await conn.execute(sql_text(set_tenant_sql(a.tenant_id)))
            with pytest.raises(DBAPIError, match="own tenant"):
                await conn.execute(sql_text("SELECT gongzhi_erase_timeline_notes(CAST(:t AS uuid), ARRAY[]::uuid[])"),
                                   {"t": str(b.tenant_id)})


async def test_retention_setting_and_job_on_a_fake_clock(api: Api, db: DbEnv, fresh: World) -> None:
    a = fresh.a
    bad = (await api.gql(a, "admin", RETENTION, {"i": {"months": 6}}))["data"]["setPersonalDataRetention"]
    assert bad["months"] is None and bad["errors"][0] == {"code": "INVALID", "field": "months"}
    denied = (await api.gql(a, "grid1", RETENTION, {"i": {"months": 24}}))["data"]["setPersonalDataRetention"]
    assert denied["errors"][0]["code"] == "FORBIDDEN"
    ok = (await api.gql(a, "admin", RETENTION, {"i": {"months": 24}}))["data"]["setPersonalDataRetention"]
    assert ok == {"months": 24, "errors": []}

    closed_at = datetime(2024, 3, 31, 10, tzinfo=UTC)
    case = await report(api, a, "resident", "B1", locationText="1栋 101 门口")
    open_case = await report(api, a, "resident", "B1", locationText="1栋 楼道")
    await set_case_times(db, a, case["id"], state="closed", closed_at=closed_at, feedback_comment="很满意，张三",
                         latitude=28.1, longitude=113.0)
    await set_case_times(db, a, open_case["id"], closed_at=closed_at)  # not closed: kept

    async def run(now: datetime) -> int:
        async with db.sessionmaker() as s:
            bind_tenant(s, a.tenant_id)
            async with s.begin():
                return await register_service.apply_retention(Db(s), now)

    assert await run(closed_at + timedelta(days=365 * 2 - 10)) == 0  # 24 months not yet over
    assert await run(datetime(2026, 4, 1, tzinfo=UTC)) == 1
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            c = await s.scalar(select(Case).where(Case.id == case_uuid(case["id"])))
            o = await s.scalar(select(Case).where(Case.id == case_uuid(open_case["id"])))
    assert c is not None and o is not None
    assert (c.location_text, c.latitude, c.longitude, c.feedback_comment) == (None, None, None, None)
    assert c.number == case["number"] and c.state == "closed" and c.reporter_user_id == a.users["resident"]
    assert o.location_text == "1栋 楼道"
    assert await run(datetime(2026, 5, 1, tzinfo=UTC)) == 0  # idempotent
    logged = await _audit(db, a, "system.applyRetention")
    assert len(logged) == 1 and logged[0].object_ids == [str(c.id)] and logged[0].detail["cases"] == 1


def test_months_before() -> None:
    assert register_service.months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert register_service.months_before(datetime(2026, 1, 15, tzinfo=UTC), 36) == datetime(2023, 1, 15, tzinfo=UTC)


async def test_apply_retention_is_a_registered_job() -> None:
    from gongzhi.modules import jobs

    assert "apply_personal_data_retention" in {j.name for j in jobs()}


async def test_erasure_deletes_the_photo_files_after_it_commits(db: DbEnv, fresh: World, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #24, PIPL deletion: the photos an erasure unlinks lose their stored files and thumbnails
    too — only once the erasure has committed (an erasure undone keeps them, and the photo stays on
    its case) — while others' photos keep theirs; reapply-erasures deletes them again after a restore
    of database and photo store, and finds nothing to do (and no error) when they are gone."""
    a = fresh.a
    client, app = make_api(db, tmp_path)
    async with client:
        api = app.api
        mine_photo, other_photo = await uploaded(api, a, "resident", png()), await uploaded(api, a, "grid1", png())
        mine = await report(api, a, "resident", "B1", title="楼道漏水", photoIds=[mine_photo])
        await report(api, a, "grid1", "B1", title="路灯不亮", photoIds=[other_photo])
        async with db.sessionmaker() as s:
            bind_tenant(s, a.tenant_id)
            async with s.begin():
                rows = {r.uploader_user_id: (r.storage_key, r.thumbnail_key)
                        for r in await s.scalars(select(Attachment))}
        mine_files = [tmp_path / k for k in rows[a.users["resident"]] if k]
        other_files = [tmp_path / k for k in rows[a.users["grid1"]] if k]
        assert len(mine_files) == 2 and all(f.is_file() for f in mine_files + other_files)
        h1b = encode_global_id("Person", a.persons["h1b"])
        erase = {"i": {"personId": h1b, "reason": "SUBJECT_REQUEST"}}

        # An erasure that fails after unlinking (its savepoint undone: refused, or crashed) keeps the files.
        def refuse(ctx: Any, person: Any) -> None:
            raise ServiceError(ErrorCode.CONFLICT, "refused for the test")

        monkeypatch.setattr(erasure_module, "_mark_erased_name_in_audit", refuse)
        r = await api.gql(a, "admin", ERASE, erase)
        assert r["data"]["erasePerson"]["errors"][0]["code"] == "CONFLICT"

        def crash(ctx: Any, person: Any) -> None:
            raise RuntimeError("crash for the test")

        monkeypatch.setattr(erasure_module, "_mark_erased_name_in_audit", crash)
        r = await api.gql(a, "admin", ERASE, erase, allow_errors=True)
        assert r["errors"] and r["data"] is None
        monkeypatch.undo()
        assert all(f.is_file() for f in mine_files + other_files)
        seen = await case_photos(api, a, "resident", mine["id"])
        assert seen is not None and [p["id"] for p in seen["photos"]] == [mine_photo]
        assert (await download(api, a, "resident", mine_photo)).status_code == 200

        ok = (await api.gql(a, "admin", ERASE, erase))["data"]["erasePerson"]
        assert ok["errors"] == []
        assert not any(f.exists() for f in mine_files)  # photo and thumbnail: gone
        assert all(f.is_file() for f in other_files)  # the grid worker's case keeps its photo
        assert (await download(api, a, "resident", mine_photo)).status_code == 404

    # A restore of database and photo store brings link and files back: erased again, files deleted.
    async def restore(with_files: bool) -> None:
        async with db.owner_engine.begin() as conn:
            if db.is_pg:
                await conn.execute(sql_text(set_tenant_sql(a.tenant_id)))
            await conn.execute(update(Member).where(Member.tenant_id == a.tenant_id,
                                                    Member.user_id == a.users["resident"])
                               .values(person_id=a.persons["h1b"]))
            await conn.execute(update(Attachment).where(Attachment.tenant_id == a.tenant_id,
                                                        Attachment.uploader_user_id == a.users["resident"])
                               .values(case_id=case_uuid(mine["id"])))
        for f in mine_files if with_files else []:
            f.write_bytes(b"restored")

    await restore(with_files=True)
    assert await reapply_erasures(db.sessionmaker, tenant=a.slug, upload_root=tmp_path) == {a.slug: 1}
    assert not any(f.exists() for f in mine_files) and all(f.is_file() for f in other_files)
    await restore(with_files=False)  # the files are gone already: erasing again is no error
    assert await reapply_erasures(db.sessionmaker, tenant=a.slug, upload_root=tmp_path) == {a.slug: 1}
    assert await reapply_erasures(db.sessionmaker, tenant=a.slug, upload_root=tmp_path) == {a.slug: 0}
    assert all(f.is_file() for f in other_files)


async def test_retention_deletes_the_photo_files_of_the_cases_it_cleans(db: DbEnv, fresh: World,
                                                                        tmp_path: Path) -> None:
    """The retention job unlinks the photos of long-closed cases, and — run as the server and the CLI run
    it (gongzhi.jobs.run_everywhere with the upload root) — their stored files and thumbnails go once the
    job's transaction commits; an open case's photo keeps its file (issue #24, PIPL art. 47)."""
    from gongzhi.jobs import run_everywhere
    from gongzhi.modules.register import APPLY_RETENTION

    a = fresh.a
    client, app = make_api(db, tmp_path)
    async with client:
        api = app.api
        old_photo, open_photo = await uploaded(api, a, "resident", png()), await uploaded(api, a, "resident", png())
        old = await report(api, a, "resident", "B1", title="楼道漏水", photoIds=[old_photo])
        await report(api, a, "resident", "B1", title="路灯不亮", photoIds=[open_photo])
    await set_case_times(db, a, old["id"], state="closed", closed_at=datetime(2020, 3, 31, 10, tzinfo=UTC))
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            rows = {r.case_id: [tmp_path / k for k in (r.storage_key, r.thumbnail_key) if k]
                    for r in await s.scalars(select(Attachment))}
    old_files = rows.pop(case_uuid(old["id"]))
    (open_files,) = rows.values()
    assert len(old_files) == 2 and all(f.is_file() for f in old_files + open_files)
    changed = await run_everywhere(db.sessionmaker, APPLY_RETENTION, upload_root=tmp_path)
    assert changed.get(a.slug, 0) >= 1
    assert not any(f.exists() for f in old_files) and all(f.is_file() for f in open_files)
    again = await run_everywhere(db.sessionmaker, APPLY_RETENTION, upload_root=tmp_path)
    assert a.slug not in again  # once only
