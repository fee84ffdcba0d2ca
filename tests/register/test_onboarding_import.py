"""The onboarding workbook (issue #23): the template's own rows import; a refused row lists every
reason at once and nothing is written; only those who manage areas or firms may send one. It runs as an
import job like the register's: 202 with the job's ID, its outcome in GraphQL (``importJob``), the
per-row report (XLSX) downloadable."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx
from openpyxl import Workbook, load_workbook

from tests.support.harness import Api, World
from tests.support.world import TenantWorld

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COUNT = "{ areas(first: 100) { totalCount } propertyFirms { id } serviceContracts { totalCount } }"


def book(sheets: dict[str, list[list[Any]]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


JOB = """query($id: ID!) { importJob(id: $id) { kind status dryRun total errorRows createdAreas createdFirms
  createdContracts message reportUrl } }"""
FINAL = {"SUCCEEDED", "REJECTED", "FAILED"}
REPORT_COLUMN = "错误原因/error"


async def outcome(client: httpx.AsyncClient, token: str, posted: httpx.Response) -> dict[str, Any]:
    """The job of an accepted upload, followed in GraphQL to its end, and its per-row report read back:
    ``status``, ``checked`` (the rows' counts), ``created`` (written: the same unless refused or a dry
    run), ``errors`` (sheet, row, every reason) — what a client learns from the job."""
    assert posted.status_code == 202, posted.text
    auth = {"authorization": f"Bearer {token}"}
    for _ in range(400):
        r = await client.post("/graphql", json={"query": JOB, "variables": {"id": posted.json()["jobId"]}},
                              headers=auth)
        job = r.json()["data"]["importJob"]
        if job["status"] in FINAL:
            break
        await asyncio.sleep(0.05)
    assert job["kind"] == "ONBOARDING" and job["status"] in FINAL, job
    checked = {"areas": job["createdAreas"], "firms": job["createdFirms"], "contracts": job["createdContracts"]}
    written = job["status"] == "SUCCEEDED" and not job["dryRun"]
    errors: list[dict[str, Any]] = []
    if job["reportUrl"] is not None:
        report = await client.get(job["reportUrl"], headers=auth)
        assert report.status_code == 200 and report.headers["content-type"].startswith(XLSX), report.text
        for ws in load_workbook(io.BytesIO(report.content)).worksheets:
            header = [c.value for c in ws[1]]
            assert header[-1] == REPORT_COLUMN, header
            for row in ws.iter_rows(min_row=2):
                if row[-1].value:
                    errors.append({"sheet": ws.title, "row": row[-1].row, "reasons": str(row[-1].value).split("\n")})
    assert job["errorRows"] == len(errors), (job, errors)
    return {"status": job["status"], "dryRun": job["dryRun"], "checked": checked, "errors": errors,
            "created": checked if written else {k: 0 for k in checked}, "job": job}


async def send(api: Api, tw: TenantWorld, key: str, content: bytes, **form: str) -> Any:
    return await api.client.post("/onboarding/imports", files={"file": ("o.xlsx", content, XLSX)}, data=form,
                                 headers={"authorization": f"Bearer {api.token(tw, key)}"})


async def sent(api: Api, tw: TenantWorld, key: str, content: bytes, **form: str) -> dict[str, Any]:
    """Send the workbook and follow its job to the end."""
    return await outcome(api.client, api.token(tw, key), await send(api, tw, key, content, **form))


async def state(api: Api, tw: TenantWorld) -> tuple[int, int, int]:
    d = (await api.gql(tw, "admin", COUNT))["data"]
    return d["areas"]["totalCount"], len(d["propertyFirms"]), d["serviceContracts"]["totalCount"]


async def test_template_rows_import_and_every_error_of_a_row_is_listed(api: Api, fresh: World) -> None:
    a = fresh.b
    r = await api.client.get("/onboarding/template.xlsx", headers={"authorization": f"Bearer {api.token(a, 'admin')}"})
    assert r.status_code == 200
    sheets = [ws.title for ws in load_workbook(io.BytesIO(r.content)).worksheets]
    assert sheets == ["区域", "物业公司", "服务合同"]
    # The world has 东风社区/幸福小区 already: the template's areas clash by name, so send it to a clean
    # copy of its rows under another community name instead.
    template = load_workbook(io.BytesIO(r.content))
    for ws in template.worksheets:
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.value = cell.value.replace("东风社区", "南湖社区").replace("安居物业", "南湖物业")
    buf = io.BytesIO()
    template.save(buf)
    before = await state(api, a)
    ok = await sent(api, a, "admin", buf.getvalue())
    assert ok["status"] == "SUCCEEDED" and ok["errors"] == [], ok
    assert ok["created"] == {"areas": 4, "firms": 1, "contracts": 1}
    assert await state(api, a) == (before[0] + 4, before[1] + 1, before[2] + 1)

    bad = book({
        "区域": [["上级", "类型", "名称", "物业管理", "层数", "单元数"],
                 ["", "社区", "北湖社区", "", "", ""],                     # fine
                 ["没有社区", "大楼", "", "好物业", "六", ""],              # every reason of the row
                 ["", "社区", "东风社区", "", "", ""]],                     # a duplicate name
        "物业公司": [["名称", "统一社会信用代码"], ["北湖物业", "123"]],
        "服务合同": [["物业公司", "小区", "开始日期", "截止日期"], ["无名物业", "北湖社区/无", "明天", "2020-13-01"]],
    })
    before = await state(api, a)
    refused = await sent(api, a, "admin", bad)
    assert refused["status"] == "REJECTED" and refused["created"] == {"areas": 0, "firms": 0, "contracts": 0}
    by_row = {(e["sheet"], e["row"]): e["reasons"] for e in refused["errors"]}
    assert set(by_row) == {("区域", 3), ("区域", 4), ("物业公司", 2), ("服务合同", 2)}
    assert len(by_row[("区域", 3)]) == 5, by_row[("区域", 3)]  # kind, name, parent, management, floors
    assert "DUPLICATE_NAME" in by_row[("区域", 4)][0]
    assert len(by_row[("服务合同", 2)]) == 4, by_row[("服务合同", 2)]  # firm, compound, both dates
    assert await state(api, a) == before  # nothing written, not even the fine rows
    dry = await sent(api, a, "admin", book({"区域": [["上级", "类型", "名称"], ["", "社区", "西坝社区"]]}),
                     dryRun="true")
    assert dry["status"] == "SUCCEEDED" and dry["checked"]["areas"] == 1 and dry["created"]["areas"] == 0
    assert await state(api, a) == before


async def test_who_may_send_it(api: Api, fresh: World) -> None:
    a = fresh.a
    content = book({"区域": [["上级", "类型", "名称"], ["东风社区", "网格", "新网格"]],
                    "物业公司": [["名称"], ["新物业"]]})
    before = await state(api, a)
    for key in ("grid1", "chair", "firm", "resident"):
        r = await send(api, a, key, content)
        assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN", key
    # the party secretary manages areas in scope, not firms: the firm row is refused, nothing written
    sec = await sent(api, a, "secretary", content)
    assert sec["status"] == "REJECTED"
    assert [(e["sheet"], e["row"]) for e in sec["errors"]] == [("物业公司", 2)]
    assert "FORBIDDEN" in sec["errors"][0]["reasons"][0]
    assert await state(api, a) == before
    assert (await api.client.post("/onboarding/imports", files={"file": ("o.xlsx", content, XLSX)})).status_code == 401


async def test_the_job_refuses_a_file_that_is_no_workbook_and_its_report_stays_in_the_tenant(
        api: Api, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    before = await state(api, a)
    junk = await sent(api, a, "admin", b"not a workbook at all")
    assert junk["status"] == "REJECTED" and junk["job"]["reportUrl"] is None, junk
    assert "XLSX" in junk["job"]["message"]
    # the secretary's refused job: its report is the secretary's and the street admin's, no other tenant's
    posted = await send(api, a, "secretary", book({"物业公司": [["名称"], ["新物业"]]}))
    sec = await outcome(api.client, api.token(a, "secretary"), posted)
    url = sec["job"]["reportUrl"]
    assert url is not None and url.startswith("/onboarding/imports/")
    own = await api.client.get(url, headers={"authorization": f"Bearer {api.token(a, 'admin')}"})
    assert own.status_code == 200
    other = await api.client.get(url, headers={"authorization": f"Bearer {api.token(b, 'admin')}"})
    assert other.status_code == 404
    assert await state(api, a) == before
