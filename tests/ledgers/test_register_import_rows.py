"""The register import reports every error of a row at once, the building included (issue #23: a
phone error hid an unknown building until the next try), and the template's own example row is
valid (its ID number had a wrong check digit, so leaving it in rejected the whole file)."""

from __future__ import annotations

from tests.ledgers.test_ledgers import cells, counts, get, import_via_http, person_row, xlsx
from tests.support.harness import Api, DbEnv, World


async def test_a_row_lists_every_error_building_included(api: Api, fresh: World, db: DbEnv) -> None:
    a = fresh.a
    bad = [*person_row(2, building="9栋")[:10], "1234", *person_row(2)[11:]]  # bad phone AND unknown building
    worse = [*person_row(3, compound="不存在小区")[:7], "", *person_row(3)[8:]]  # no name AND unknown compound
    before = await counts(db, a.tenant_id)
    job = await import_via_http(api, a, "admin", xlsx([person_row(1), bad, worse]))
    assert job["status"] == "REJECTED" and job["errorRows"] == 2
    sheet = cells((await get(api, a, "admin", job["reportUrl"])).content)[0]
    assert "联系电话格式错误" in sheet[2][-1] and "楼栋不存在" in sheet[2][-1], sheet[2][-1]
    assert "姓名不能为空" in sheet[3][-1] and "楼栋不存在" in sheet[3][-1], sheet[3][-1]
    assert not sheet[1][-1]
    assert await counts(db, a.tenant_id) == before


async def test_the_template_example_row_imports(api: Api, fresh: World, db: DbEnv) -> None:
    a = fresh.a
    template = (await get(api, a, "admin", "/ledgers/register-template.xlsx")).content
    job = await import_via_http(api, a, "admin", template, dryRun="true")
    # (the world's 张建国 is the template's: the row is found unchanged, not refused)
    assert (job["status"], job["errorRows"], job["createdPersons"] + job["unchanged"]) == ("SUCCEEDED", 0, 1), job
