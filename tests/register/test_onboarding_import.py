"""The onboarding workbook (issue #23): the template's own rows import; a refused row lists every
reason at once and nothing is written; only those who manage areas or firms may send one."""

from __future__ import annotations

import io
from typing import Any

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


async def send(api: Api, tw: TenantWorld, key: str, content: bytes, **form: str) -> Any:
    return await api.client.post("/onboarding/imports", files={"file": ("o.xlsx", content, XLSX)}, data=form,
                                 headers={"authorization": f"Bearer {api.token(tw, key)}"})


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
    ok = await send(api, a, "admin", buf.getvalue())
    assert ok.status_code == 200 and ok.json()["status"] == "SUCCEEDED", ok.json()
    assert ok.json()["created"] == {"areas": 4, "firms": 1, "contracts": 1}
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
    refused = (await send(api, a, "admin", bad)).json()
    assert refused["status"] == "REJECTED" and refused["created"] == {"areas": 0, "firms": 0, "contracts": 0}
    by_row = {(e["sheet"], e["row"]): e["reasons"] for e in refused["errors"]}
    assert set(by_row) == {("区域", 3), ("区域", 4), ("物业公司", 2), ("服务合同", 2)}
    assert len(by_row[("区域", 3)]) == 5, by_row[("区域", 3)]  # kind, name, parent, management, floors
    assert "DUPLICATE_NAME" in by_row[("区域", 4)][0]
    assert len(by_row[("服务合同", 2)]) == 4, by_row[("服务合同", 2)]  # firm, compound, both dates
    assert await state(api, a) == before  # nothing written, not even the fine rows
    dry = (await send(api, a, "admin", book({"区域": [["上级", "类型", "名称"], ["", "社区", "西坝社区"]]}),
                      dryRun="true")).json()
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
    sec = (await send(api, a, "secretary", content)).json()
    assert sec["status"] == "REJECTED"
    assert [(e["sheet"], e["row"]) for e in sec["errors"]] == [("物业公司", 2)]
    assert "FORBIDDEN" in sec["errors"][0]["reasons"][0]
    assert await state(api, a) == before
    assert (await api.client.post("/onboarding/imports", files={"file": ("o.xlsx", content, XLSX)})).status_code == 401
