"""12345 work-order import (issue #22) with real .xlsx files built here: the template's example row
imports as it is; a file with bad rows writes nothing and names every error of every bad row (in-file
and database duplicates of the ticket number included); the importer's reach and role are checked."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from models import Case, CaseSource
from tests.support.cases import count_cases, report, scalar_count
from tests.support.harness import Api, DbEnv, World
from tests.support.world import TenantWorld

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = ["工单号", "社区", "小区", "楼栋", "类别", "标题", "诉求内容", "紧急程度", "位置"]


def workbook(rows: list[list[Any]], headers: list[str] = HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "12345工单"
    ws.append(headers)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def upload(api: Api, tw: TenantWorld, user: str, content: bytes, **form: str) -> Any:
    return await api.client.post("/cases/hotline-imports", files={"file": ("orders.xlsx", content, XLSX)}, data=form,
                                 headers={"authorization": f"Bearer {api.token(tw, user)}"})


async def test_the_templates_example_row_imports_as_it_is(api: Api, fresh: World, db: DbEnv) -> None:
    a = fresh.a
    r = await api.client.get("/cases/hotline-template.xlsx",
                             headers={"authorization": f"Bearer {api.token(a, 'grid1')}"})
    assert r.status_code == 200
    sheet = [list(x) for x in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)]
    assert sheet[0] == HEADERS and len(sheet) == 2 and sheet[1][1] == "东风社区"
    dry = await upload(api, a, "grid1", r.content, dryRun="1")
    assert dry.status_code == 200 and dry.json()["created"] == 0 and await count_cases(db, a) == 0
    done = await upload(api, a, "grid1", r.content)
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["total"], body["created"]) == ("SUCCEEDED", 1, 1)
    assert body["cases"][0]["externalTicketNo"] == sheet[1][0]
    assert await scalar_count(db, a, select(func.count()).select_from(Case).where(
        Case.source == CaseSource.HOTLINE_12345, Case.external_ticket_no == sheet[1][0])) == 1


async def test_a_bad_file_writes_nothing_and_names_every_error_of_each_row(api: Api, fresh: World,
                                                                          db: DbEnv) -> None:
    a = fresh.a
    await report(api, a, "admin", "B1", source="HOTLINE_12345", externalTicketNo="GD-OLD-1")
    before = await count_cases(db, a)
    good = ["GD-1", "东风社区", "幸福小区", "1栋", "垃圾清运", "垃圾未清运", "", "高", "1栋门口"]
    content = workbook([
        good,  # row 2: fine on its own
        ["GD-2", "东风社区", "", "", "nosuch", "", "", "很急", ""],  # row 3: category, title, priority
        ["GD-1", "西湖社区", "湖畔小区", "4栋", "garbage", "重复", "", "", ""],  # row 4: repeats row 2
        ["GD-OLD-1", "无名社区", "", "", "garbage", "已有", "", "", ""],  # row 5: in the database; community
        ["工单 6", "东风社区", "老街小区", "9栋", "garbage", "x" * 101, "", "", ""],  # row 6: ticket, building, title
    ])
    r = await upload(api, a, "admin", content)
    assert r.status_code == 422, r.text
    body = r.json()
    assert (body["status"], body["total"], body["created"]) == ("REJECTED", 5, 0)
    rows = {x["row"]: x["errors"] for x in body["rows"]}
    assert sorted(rows) == [3, 4, 5, 6]
    assert len(rows[3]) == 3 and any("标题" in e for e in rows[3]) and any("nosuch" in e for e in rows[3])
    assert any("很急" in e for e in rows[3])
    assert rows[4] == ["工单号与第2行重复"]
    assert len(rows[5]) == 2 and any("GD-OLD-1" in e for e in rows[5]) and any("无名社区" in e for e in rows[5])
    assert len(rows[6]) == 3 and any("9栋" in e for e in rows[6]) and any("100" in e for e in rows[6])
    assert await count_cases(db, a) == before  # all or nothing
    # the same as a report workbook (the file's rows plus 错误原因/error), as the register import gives it
    r = await api.client.post("/cases/hotline-imports", files={"file": ("o.xlsx", content, XLSX)},
                              headers={"authorization": f"Bearer {api.token(a, 'admin')}", "accept": XLSX})
    assert r.status_code == 422 and r.headers["content-type"].startswith(XLSX)
    sheet = [list(x) for x in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)]
    assert sheet[0] == [*HEADERS, "错误原因/error"] and [x or "" for x in sheet[1][:9]] == good and not sheet[1][9]
    assert [x[9].split("；") for x in sheet[2:]] == [rows[3], rows[4], rows[5], rows[6]]
    # the good row alone imports (also when the client asks for English), and a second time it is a duplicate
    r = await api.client.post("/cases/hotline-imports", files={"file": ("o.xlsx", workbook([good]), XLSX)},
                              headers={"authorization": f"Bearer {api.token(a, 'admin')}", "accept-language": "en"})
    assert r.status_code == 200 and r.json()["created"] == 1
    again = await upload(api, a, "admin", workbook([good]))
    assert again.status_code == 422 and "GD-1" in again.json()["rows"][0]["errors"][0]


async def test_reach_role_and_file_checks(api: Api, fresh: World, db: DbEnv) -> None:
    a = fresh.a
    row = ["GD-9", "西湖社区", "湖畔小区", "4栋", "garbage", "外区", "", "", ""]
    r = await upload(api, a, "grid1", workbook([row]))  # grid1's grid is in 东风社区
    assert r.status_code == 422 and r.json()["rows"] == [{"row": 2, "errors": ["该区域不在您的管辖范围"]}]
    assert (await upload(api, a, "resident", workbook([row]))).status_code == 403
    missing = await upload(api, a, "admin", workbook([row[:2]], headers=HEADERS[:2]))
    assert missing.status_code == 400 and "工单号" not in missing.json()["errors"][0]["message"]
    assert (await upload(api, a, "admin", b"not a workbook")).status_code == 400
    assert await count_cases(db, a) == 0
