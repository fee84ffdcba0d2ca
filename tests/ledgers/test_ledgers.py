"""Ledgers in and out (issue #11): the register import (check every row, all or nothing, idempotent,
scope, per-row report), the template, and the XLSX exports (masking, read predicates, audit)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import String, func, select, type_coerce

from gongzhi.http.ledgers import operator_context, plain_commit, run_register_import
from gongzhi.modules import provision
from models import (
    AuditEntry,
    Household,
    ImportJob,
    ImportStatus,
    Member,
    Person,
    PersonCareTag,
    RoleAssignment,
    User,
    uuid7,
)
from policies.enforcer import PolicyCache
from resolvers.ids import encode_global_id
from resolvers.ledgers import register_import as imp
from resolvers.validation import mask_id_card, mask_phone
from tenants.session import bind_tenant
from tests.support.harness import Api, DbEnv, World, new_slug
from tests.support.world import TenantWorld, make_id_card

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = [c.zh for c in imp.COLUMNS]
EN_HEADERS = [c.en for c in imp.COLUMNS]
JOB = """query($id: ID!) { importJob(id: $id) { id status total processed errorRows createdAreas
  createdHouseholds createdPersons unchanged message reportUrl dryRun fileName } }"""
ID_RE = re.compile(r"\d{17}[\dX]")
PHONE_RE = re.compile(r"1[3-9]\d{9}")
FINAL = {"SUCCEEDED", "REJECTED", "FAILED"}


def person_row(i: int, *, community: str = "东风社区", compound: str = "幸福小区", building: str = "1栋",
               region: str = "110101") -> list[str]:
    """A valid row: household i // 3 in the building (three persons each), a distinct ID number."""
    born = date(1950, 1, 1) + timedelta(days=(i * 37) % 20000)
    card = make_id_card(region[:4] + f"{(i // 1000) % 100:02d}", born, i % 1000)
    return [community, compound, building, "2", f"{100 + i // 3}", "75.20", "自有", f"居民{i}",
            "男" if int(card[16]) % 2 else "女", card, f"138{i:08d}", "户主" if i % 3 == 0 else "子女",
            "是" if i % 7 == 0 else "否", "living_alone" if i % 11 == 0 else ""]


def xlsx(rows: list[list[Any]], header: list[str] = HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = imp.SHEET_NAME
    ws.append(header)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(rows: list[list[Any]], header: list[str] = EN_HEADERS, encoding: str = "utf-8-sig") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def cells(content: bytes) -> list[list[list[Any]]]:
    wb = load_workbook(io.BytesIO(content), read_only=True)
    return [[list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets]


async def upload(api: Api, tw: TenantWorld, key: str, content: bytes, name: str = "register.xlsx",
                 **form: str) -> Any:
    return await api.client.post("/ledgers/register-imports", files={"file": (name, content, XLSX)}, data=form,
                                 headers={"authorization": f"Bearer {api.token(tw, key)}"})


async def wait_job(api: Api, tw: TenantWorld, key: str, job_id: str) -> dict[str, Any]:
    for _ in range(600):
        job = (await api.gql(tw, key, JOB, {"id": job_id}))["data"]["importJob"]
        if job["status"] in FINAL:
            return job  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError("import job did not finish")


async def import_via_http(api: Api, tw: TenantWorld, key: str, content: bytes, name: str = "register.xlsx",
                          **form: str) -> dict[str, Any]:
    r = await upload(api, tw, key, content, name, **form)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "PENDING"  # the casing GraphQL uses for the same job (issue #25)
    return await wait_job(api, tw, key, r.json()["jobId"])


async def counts(db: DbEnv, tenant_id: uuid.UUID) -> tuple[int, int, int]:
    async with db.sessionmaker() as s:
        bind_tenant(s, tenant_id)
        async with s.begin():
            return (await s.scalar(select(func.count()).select_from(Person)) or 0,
                    await s.scalar(select(func.count()).select_from(Household)) or 0,
                    await s.scalar(select(func.count()).select_from(PersonCareTag)) or 0)


async def get(api: Api, tw: TenantWorld, key: str, path: str, **params: str) -> Any:
    return await api.client.get(path, params=params, headers={"authorization": f"Bearer {api.token(tw, key)}"})


# -- the import


async def test_template_download_has_every_column_and_its_alias(api: Api, world: World) -> None:
    r = await get(api, world.a, "admin", "/ledgers/register-template.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    sheets = cells(r.content)
    assert sheets[0][0] == HEADERS
    assert [row[:3] for row in sheets[1][1:]] == [[c.zh, c.en, "是" if c.required else "否"] for c in imp.COLUMNS]
    assert (await api.client.get("/ledgers/register-template.xlsx")).status_code == 401


async def test_one_bad_row_among_1000_writes_nothing_and_the_report_names_it(api: Api, fresh: World,
                                                                              db: DbEnv) -> None:
    a = fresh.a
    rows = [person_row(i) for i in range(1000)]
    bad = rows[500]
    bad[9] = bad[9][:17] + ("0" if bad[9][17] != "0" else "1")  # wrong check character
    before = await counts(db, a.tenant_id)
    job = await import_via_http(api, a, "admin", xlsx(rows))
    assert job["status"] == "REJECTED", job
    assert (job["total"], job["errorRows"], job["createdPersons"]) == (1000, 1, 0)
    assert await counts(db, a.tenant_id) == before
    report = await get(api, a, "admin", job["reportUrl"])
    assert report.status_code == 200
    sheet = cells(report.content)[0]
    assert sheet[0] == [*HEADERS, imp.ERROR_HEADER]
    flagged = {n: r[-1] for n, r in enumerate(sheet[1:], start=2) if r[-1]}
    assert list(flagged) == [502]  # spreadsheet row 502: header is row 1, rows[500] is row 502
    assert "身份证号格式错误" in flagged[502] and "身份证号校验码不对" in flagged[502]  # the import runs in Chinese
    assert [x or "" for x in sheet[501][:-1]] == bad  # the row as sent, to fix and resend


@pytest.mark.parametrize("whole", [False, True], ids=["lookup-by-index", "whole-register-scan"])
async def test_dry_run_import_and_resend_change_nothing_the_second_time(api: Api, fresh: World, db: DbEnv,
                                                                        whole: bool, monkeypatch: Any) -> None:
    # Large files read the register in one scan instead of IN lookups: both paths find the same.
    monkeypatch.setattr(imp, "WHOLE_REGISTER_ROWS", 1 if whole else 10**9)
    a = fresh.a
    rows = [person_row(i, building="2栋") for i in range(30)]
    content = csv_bytes(rows)  # English aliases as headers, CSV
    before = await counts(db, a.tenant_id)
    dry = await import_via_http(api, a, "admin", content, "register.csv", dryRun="true")
    assert dry["status"] == "SUCCEEDED" and dry["dryRun"]
    assert (dry["createdHouseholds"], dry["createdPersons"], dry["errorRows"]) == (10, 30, 0)
    assert await counts(db, a.tenant_id) == before
    done = await import_via_http(api, a, "admin", content, "register.csv")
    assert (done["status"], done["createdHouseholds"], done["createdPersons"]) == ("SUCCEEDED", 10, 30)
    tagged = sum(1 for r in rows if r[13])
    assert await counts(db, a.tenant_id) == (before[0] + 30, before[1] + 10, before[2] + tagged)
    again = await import_via_http(api, a, "admin", content, "register.csv")
    assert (again["status"], again["createdPersons"], again["createdHouseholds"], again["unchanged"]) == (
        "SUCCEEDED", 0, 0, 30)
    assert "nothing changed" in again["message"]
    assert await counts(db, a.tenant_id) == (before[0] + 30, before[1] + 10, before[2] + tagged)
    # Sealed at rest, found by the blind index, readable in full by the admin.
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            sealed = select(type_coerce(Person.id_card_no, String), type_coerce(Person.phone, String))
            raw = (await s.execute(sealed.where(Person.id_card_index == imp.KEYRING.blind_index(rows[4][9])))).one()
    assert raw[0].startswith("v1:") and rows[4][9] not in raw[0] and rows[4][10] not in raw[1]
    found = await api.gql(a, "admin", '{ persons(search: "居民4", first: 5) { nodes { name idCardNo phone '
                                      'careTags household { room unit } } } }')
    person = next(p for p in found["data"]["persons"]["nodes"] if p["name"] == "居民4")
    assert (person["idCardNo"], person["phone"], person["household"]["room"]) == (rows[4][9], rows[4][10], "101")
    audit = await api.gql(a, "admin", '{ auditLog(action: "register.import", first: 10) { nodes { action } } }')
    assert len(audit["data"]["auditLog"]["nodes"]) == 3


async def test_every_row_is_checked_and_each_reason_is_named(api: Api, fresh: World, db: DbEnv) -> None:
    a = fresh.a
    good = person_row(1)
    rows = [
        good,
        [*good[:7], "", *good[8:]],  # 3: no name
        [*person_row(2)[:10], "1234", *person_row(2)[11:]],  # 4: bad phone
        person_row(3, building="9栋"),  # 5: unknown building
        person_row(1),  # 6: the ID number of row 2 again
        [*person_row(4)[:13], "不存在的标签"],  # 7: unknown care tag
        [*person_row(5)[:7], "别人", "", a.id_cards["h1a"], *person_row(5)[10:]],  # 8: registered elsewhere
        [*person_row(6)[:8], "女" if person_row(6)[8] == "男" else "男", *person_row(6)[9:]],  # 9: gender ≠ ID
        [*person_row(7)[:5], "-3", *person_row(7)[6:]],  # 10: floor area
    ]
    before = await counts(db, a.tenant_id)
    job = await import_via_http(api, a, "admin", xlsx(rows))
    assert job["status"] == "REJECTED" and job["errorRows"] == 9 - 1
    sheet = cells((await get(api, a, "admin", job["reportUrl"])).content)[0]
    reasons = {n: r[-1] or "" for n, r in enumerate(sheet[1:], start=2)}
    assert reasons[2] == ""
    for row, needle in ((3, "姓名不能为空"), (4, "联系电话格式错误"), (5, "楼栋不存在"), (6, "与第2行重复"),
                        (7, "未知关爱标签"), (8, "已登记"), (9, "性别与身份证号不符"), (10, "建筑面积")):
        assert needle in reasons[row], (row, reasons[row])
    assert await counts(db, a.tenant_id) == before
    # A file that cannot be read as a register is refused as a whole, with the reason.
    job = await import_via_http(api, a, "admin", csv_bytes([["x"]], header=["foo", "姓名"]), "x.csv")
    assert job["status"] == "REJECTED" and "缺少必填列" in job["message"]


async def test_secretary_imports_in_scope_only_and_others_not_at_all(api: Api, fresh: World, db: DbEnv) -> None:
    a = fresh.a
    before = await counts(db, a.tenant_id)
    outside = [person_row(1), person_row(2, community="西湖社区", compound="湖畔小区", building="4栋")]
    job = await import_via_http(api, a, "secretary", xlsx(outside))
    assert job["status"] == "REJECTED" and job["errorRows"] == 1
    sheet = cells((await get(api, a, "secretary", job["reportUrl"])).content)[0]
    assert "管辖范围" in sheet[2][-1] and "outside your scope" in sheet[2][-1] and not sheet[1][-1]
    assert await counts(db, a.tenant_id) == before
    # Creating areas outside the scope is refused too (a new community needs the whole street).
    job = await import_via_http(api, a, "secretary", xlsx([person_row(3, community="新社区")]), createAreas="true")
    assert job["status"] == "REJECTED"
    # Inside the scope it imports, creating a building in the secretary's community when asked.
    job = await import_via_http(api, a, "secretary", xlsx([person_row(4, building="新楼")]), createAreas="true")
    assert (job["status"], job["createdAreas"], job["createdPersons"]) == ("SUCCEEDED", 1, 1)
    # Roles without register·import are refused before anything is read; so is no token.
    for key in ("grid1", "chair", "resident"):
        r = await upload(api, a, key, xlsx([person_row(5)]))
        assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api.client.post("/ledgers/register-imports", files={"file": ("r.xlsx", b"x", XLSX)})
            ).status_code == 401
    # The secretary's jobs are theirs; the street admin reads them all.
    mine = await api.gql(a, "secretary", "{ importJobs(first: 10) { totalCount } }")
    assert mine["data"]["importJobs"]["totalCount"] == 3
    other = await api.gql(a, "grid1", "{ importJobs(first: 10) { totalCount } }")
    assert other["data"]["importJobs"]["totalCount"] == 0
    assert (await api.gql(a, "admin", "{ importJobs(first: 10) { totalCount } }"))["data"]["importJobs"][
        "totalCount"] == 3


async def test_imports_stay_in_their_tenant(api: Api, fresh: World, db: DbEnv) -> None:
    a, b = fresh.a, fresh.b
    before_b = await counts(db, b.tenant_id)
    job = await import_via_http(api, a, "admin", xlsx([person_row(i) for i in range(6)]))
    assert job["status"] == "SUCCEEDED"
    assert await counts(db, b.tenant_id) == before_b
    # B's admin sees neither the job nor its report; a token for B cannot be pointed at A.
    assert (await api.gql(b, "admin", JOB, {"id": job["id"]}))["data"]["importJob"] is None
    assert (await api.gql(b, "admin", "query($id: ID!) { node(id: $id) { id } }", {"id": job["id"]}))[
        "data"]["node"] is None
    rejected = await import_via_http(api, a, "admin", xlsx([person_row(1), person_row(1)]))
    assert rejected["status"] == "REJECTED" and rejected["reportUrl"]
    assert (await get(api, a, "admin", rejected["reportUrl"])).status_code == 200
    assert (await get(api, b, "admin", rejected["reportUrl"])).status_code == 404
    r = await api.client.post("/ledgers/register-imports", files={"file": ("r.xlsx", xlsx([]), XLSX)},
                              headers={"authorization": f"Bearer {api.token(b, 'admin')}", "x-gongzhi-tenant": a.slug})
    assert r.status_code == 403
    # B's exports hold none of A's new persons.
    exported = cells((await get(api, b, "admin", "/ledgers/register.xlsx")).content)[0]
    assert not any(str(r[7]).startswith("居民") for r in exported[1:])


async def test_cli_progress_and_operator_import(db: DbEnv, fresh: World, tmp_path: Path) -> None:
    import argparse

    from gongzhi.cli.ledgers import import_register

    path = tmp_path / "reg.xlsx"
    path.write_bytes(xlsx([person_row(i, building="2栋") for i in range(9)]))
    out = io.StringIO()
    args = argparse.Namespace(tenant=fresh.a.slug, file=str(path), dry_run=False, create_areas=False, user=None,
                              report=None)
    assert await import_register(db.sessionmaker, args, tmp_path, out=out) == 0
    assert "succeeded" in out.getvalue() and not (tmp_path / "reg.report.xlsx").exists()  # a clean file needs none
    bad = person_row(20, building="2栋")
    bad[10] = "12345"
    path.write_bytes(xlsx([person_row(21, building="2栋"), bad]))
    assert await import_register(db.sessionmaker, args, tmp_path, out=out) == 1
    report = cells((tmp_path / "reg.report.xlsx").read_bytes())[0]
    assert "rejected" in out.getvalue() and not report[1][-1] and "联系电话格式错误" in report[2][-1]
    args.user = fresh.a.username("grid1")  # Casbin decides for a named user: a grid leader may not import
    assert await import_register(db.sessionmaker, args, tmp_path, out=out) == 2


# -- exports


async def _new_tenant(db: DbEnv) -> Any:
    return await provision(db.sessionmaker, slug=new_slug("rt"), name="回环街道")


async def test_round_trip_export_then_import_into_a_fresh_tenant_gives_the_same_register(
        api: Api, fresh: World, db: DbEnv, tmp_path: Path) -> None:
    a = fresh.a
    await import_via_http(api, a, "admin", xlsx([person_row(i, building="2栋") for i in range(12)]))
    # The round trip needs the ID numbers: the street admin's full export, with its purpose (issue #24).
    exported = await get(api, a, "admin", "/ledgers/register-full.xlsx", purpose="迁移至新街道系统")
    assert exported.status_code == 200
    source = cells(exported.content)[0]
    assert source[0] == HEADERS and len(source) == 1 + 5 + 12
    tenant = await _new_tenant(db)
    policies = PolicyCache()

    async def open_ctx(session: Any) -> Any:
        return await operator_context(session, tenant, policies, "test")

    async def run(content: bytes, **kw: Any) -> Any:
        async with db.sessionmaker() as s:
            ctx = await open_ctx(s)
            job = await imp.new_job(ctx, file_name="x.xlsx", content=content, dry_run=False, create_areas=True)
            await plain_commit(s, ctx)
        return await run_register_import(db.sessionmaker, open_ctx, plain_commit, tenant_id=tenant.id, job_id=job.id,
                                         content=content, file_name="x.xlsx", dry_run=False, create_areas=True,
                                         report_root=tmp_path, **kw)

    seen: list[tuple[str, int, int]] = []
    status, out, _ = await run(exported.content, echo=lambda *p: seen.append(p))
    assert status is ImportStatus.SUCCEEDED and out is not None
    assert (out.created_persons, out.created_households) == (17, 4 + 4)
    assert seen and seen[-1][1] == seen[-1][2]  # progress reached the end
    async with db.sessionmaker() as s:
        ctx = await open_ctx(s)
        from resolvers.ledgers import FullExport, export_register

        again = await export_register(ctx, None, FullExport("回环核对导出"))
        await plain_commit(s, ctx)
    target = cells(again.content)[0]
    assert sorted(map(tuple, target[1:])) == sorted(map(tuple, source[1:]))  # persons, households, tags
    assert await counts(db, tenant.id) == (17, 8, (await counts(db, a.tenant_id))[2])
    status, out, _message = await run(exported.content)
    assert status is ImportStatus.SUCCEEDED and out is not None and out.unchanged == 17 and not out.written
    # Bulk-inserted persons carry the masked display forms the ORM would set (compiled reads use them).
    async with db.sessionmaker() as s:
        await open_ctx(s)
        people = (await s.scalars(select(Person))).all()
    assert len(people) == 17
    for p in people:
        assert p.id_card_masked == mask_id_card(p.id_card_no) and p.id_card_masked is not None
        assert p.phone_masked == mask_phone(p.phone)


async def _chair_without_household(db: DbEnv, tw: TenantWorld) -> str:
    """An owner committee chair of 幸福小区 who lives elsewhere: no person·read_pii anywhere."""
    key = "chair_out"
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            u = User(id=uuid7(), username=tw.username(key), display_name="外住主任")
            s.add(u)
            await s.flush()
            s.add(RoleAssignment(user_id=u.id, role="owner_committee_chair", scope_area_id=tw.areas["P1"],
                                 valid_from=datetime(2024, 1, 1, tzinfo=UTC)))
            s.add(Member(user_id=u.id, person_id=None))
    tw.users[key] = u.id
    return key


async def _seed_ledgers(api: Api, tw: TenantWorld) -> None:
    b1 = encode_global_id("Building", tw.areas["B1"])
    case = await api.gql(tw, "grid1", """mutation($i: ReportCaseInput!) { reportCase(input: $i) {
        case { id } errors { code } } }""", {"i": {"areaId": b1, "category": "drainage", "title": "下水道堵塞"}})
    cid = case["data"]["reportCase"]["case"]["id"]
    await api.gql(tw, "grid1", "mutation($i: CaseTransitionInput!) { acceptCase(input: $i) { errors { code } } }",
                  {"i": {"id": cid}})
    visit = await api.gql(tw, "grid1", """mutation($i: RecordVisitInput!) { recordVisit(input: $i) {
        visit { id } errors { code } } }""", {"i": {"householdId": encode_global_id("Household", tw.households["H1"]),
                                               "kind": "ROUTINE", "visitedAt": datetime.now(UTC).isoformat(),
                                               "findings": "老人独居，身体尚可"}})
    assert visit["data"]["recordVisit"]["errors"] == []


async def test_exports_without_pii_rights_hold_no_unmasked_id_or_phone(api: Api, fresh: World, db: DbEnv) -> None:
    a = fresh.a
    await _seed_ledgers(api, a)
    chair = await _chair_without_household(db, a)
    today = datetime.now(UTC).date()
    span = {"from": (today - timedelta(days=2)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}

    def scan(content: bytes) -> tuple[list[str], list[str]]:
        ids, phones = [], []
        for sheet in cells(content):
            for row in sheet:
                for cell in row:
                    text = "" if cell is None else str(cell)
                    ids += ID_RE.findall(text)
                    phones += PHONE_RE.findall(text)
        return ids, phones

    # Every export is masked, for everyone (issue #24; DESIGN.md §8) — the street admin's included.
    for who in ("admin", chair):
        for path, params in (("/ledgers/register.xlsx", {}), ("/ledgers/export.xlsx", span)):
            r = await get(api, a, who, path, **params)
            assert r.status_code == 200, r.text
            assert scan(r.content) == ([], []), (who, path)
    masked = cells((await get(api, a, chair, "/ledgers/register.xlsx")).content)[0]
    assert len(masked) == 1 + 3  # 幸福小区: H1 (two persons), H2
    assert all(row[4] == "***" and "*" in row[9] and row[13] in ("", None) for row in masked[1:])
    # The chair's ledgers: the case in 幸福小区, not the grid leader's visit (visit·read is grid leader and up).
    sheets = cells((await get(api, a, chair, "/ledgers/export.xlsx", **span)).content)
    assert len(sheets[0]) == 2 and sheets[0][1][1] == "下水道堵塞" and len(sheets[2]) == 1
    admin_sheets = cells((await get(api, a, "admin", "/ledgers/export.xlsx", **span)).content)
    assert [len(s) - 1 for s in admin_sheets[:3]] == [1, 2, 1]  # case, its two timeline entries, the visit
    assert admin_sheets[2][1][3] == "***"  # the room too, in a masked export
    # The full export: a separate action of the street admin, with a stated purpose.
    full_register = await get(api, a, "admin", "/ledgers/register-full.xlsx", purpose="区民政局核对低保名单")
    assert full_register.status_code == 200, full_register.text
    ids, phones = scan(full_register.content)
    assert set(a.id_cards.values()) <= set(ids) and set(a.phones.values()) <= set(phones)  # the scan can fail
    full_sheets = cells((await get(api, a, "admin", "/ledgers/export-full.xlsx", purpose="年度审计抽查",
                               **span)).content)
    assert full_sheets[2][1][3] == "101"  # the admin reads the room in full
    for who, params, status in ((chair, {"purpose": "想看看"}, 403), ("secretary", {"purpose": "想看看看"}, 403),
                                ("admin", {}, 400), ("admin", {"purpose": "看"}, 400)):
        r = await get(api, a, who, "/ledgers/register-full.xlsx", **params)
        assert r.status_code == status, (who, params, r.text)
        assert r.json()["errors"][0]["extensions"]["field"] == "purpose"
    # Every sheet says who exported it and when; a full export says that it is one and why.
    wb = load_workbook(io.BytesIO(full_register.content))
    masked_wb = load_workbook(io.BytesIO((await get(api, a, "admin", "/ledgers/export.xlsx", **span)).content))
    for book, mark in ((wb, "完整导出（含未脱敏个人信息）· 用途：区民政局核对低保名单"), (masked_wb, "已脱敏导出")):
        for ws in book.worksheets:
            header = ws.oddHeader.center.text or ""
            assert "导出人：" in header and a.username("admin") in header and "导出时间：" in header, header
            assert mark in header and mark in (ws.oddFooter.center.text or "")
    # Exports are audited: the export itself (the full one with its purpose), and each full read.
    async with db.sessionmaker() as s:
        bind_tenant(s, a.tenant_id)
        async with s.begin():
            rows = list(await s.execute(select(AuditEntry.action, AuditEntry.detail).where(
                AuditEntry.action.in_(["register.export", "ledger.export", "register.export_full",
                                       "ledger.export_full", "person.read_pii"]))))
    actions = [r[0] for r in rows]
    assert actions.count("register.export") == 3 and actions.count("ledger.export") == 5
    assert actions.count("register.export_full") == 1 and actions.count("ledger.export_full") == 1
    assert [r[1]["purpose"] for r in rows if r[0] == "register.export_full"] == ["区民政局核对低保名单"]
    assert actions.count("person.read_pii") == 1  # the full register; masked exports read nothing in full


async def test_export_refusals(api: Api, world: World) -> None:
    a, b = world.a, world.b
    span = {"from": "2026-01-01", "to": "2026-01-31"}
    for key in ("resident", "firm"):
        r = await get(api, a, key, "/ledgers/export.xlsx", **span)
        assert r.status_code == 403
    assert (await get(api, a, "admin", "/ledgers/export.xlsx", **{"from": "2026-02-01", "to": "2026-01-01"})
            ).status_code == 400
    assert (await get(api, a, "admin", "/ledgers/export.xlsx", **{"from": "x", "to": "2026-01-01"})
            ).status_code == 400
    other = encode_global_id("Community", b.areas["C1"])  # another tenant's area: not found
    assert (await get(api, a, "admin", "/ledgers/export.xlsx", areaId=other, **span)).status_code == 404
    assert (await api.client.get("/ledgers/export.xlsx", params=span)).status_code == 401
    r = await get(api, a, "admin", "/ledgers/export.xlsx", **span)
    assert r.status_code == 200 and [ws for ws in load_workbook(io.BytesIO(r.content)).sheetnames] == [
        "事件台账", "事件流转", "走访台账", "议事会议", "议题决定", "志愿时长", "积分台账", "评比结果", "考核指标"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
async def test_csv_as_excel_saves_it_in_china_is_read(api: Api, fresh: World, encoding: str) -> None:
    job = await import_via_http(api, fresh.a, "admin", csv_bytes([person_row(1)], header=HEADERS,
                                                                 encoding=encoding), "r.csv", dryRun="1")
    assert (job["status"], job["createdPersons"]) == ("SUCCEEDED", 1)


async def test_import_jobs_table_is_tenant_scoped(db: DbEnv, world: World) -> None:
    async with db.sessionmaker() as s:
        bind_tenant(s, world.b.tenant_id)
        async with s.begin():
            assert await s.scalar(select(func.count()).select_from(ImportJob).where(
                ImportJob.tenant_id == world.a.tenant_id)) == 0
