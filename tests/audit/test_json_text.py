"""The text of JSON columns (models.jsontext, issue #21): compact UTF-8 from orjson, json.dumps' compact form for
what orjson refuses, TypeError for what neither writes — and one form in the database whichever path wrote the row:
the ORM's JSON type (a general-path mutation's audit entry) and the writes without the ORM (a report on the
driver, its audit entry and its timeline entry's JSON)."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from models.jsontext import json_text
from tenants.session import bind_tenant
from tests.support.cases import area_gid
from tests.support.fast_paths import post_by
from tests.support.harness import Api, DbEnv, World


def test_compact_utf8_and_the_same_value() -> None:
    value = {"title": "楼道灯不亮", "n": 3, "f": 0.5, "ok": True, "none": None, "list": [1, "二"], 7: "seven"}
    out = json_text(value)
    assert out == '{"title":"楼道灯不亮","n":3,"f":0.5,"ok":true,"none":null,"list":[1,"二"],"7":"seven"}'
    assert json.loads(out) == json.loads(json.dumps(value))  # the value json.dumps wrote, keys made text alike


def test_past_orjson_the_compact_form_of_json_dumps_and_what_neither_writes_raises() -> None:
    big = {"n": 2**70, "t": "三"}
    assert json_text(big) == '{"n":1180591620717411303424,"t":"三"}'
    assert json_text([math.nan, math.inf]) == "[null,null]"  # json.dumps wrote NaN, which PostgreSQL refused
    with pytest.raises(TypeError):
        json_text({"x": object()})


def _json_form(stored: Any) -> bool:
    return isinstance(stored, str) and stored == json_text(json.loads(stored))


REPORT = ("mutation R($input: ReportCaseInput!) { reportCase(input: $input) { case { id } "
          "errors { code } } }")


async def test_both_write_paths_store_the_same_form(api: Api, fresh: World, db: DbEnv) -> None:
    tw = fresh.a
    mark = uuid.uuid4().hex[:8]  # the world is shared: another test's report may carry the same title
    titles = {True: f"楼道灯不亮 {mark}", False: f"垃圾未清运 {mark}"}  # on the driver; through the ORM's unit of work
    for fast, title in titles.items():
        body = orjson.loads(await post_by(api, tw, "resident", REPORT, {"input": {
            "areaId": area_gid(tw, "B1"), "category": "garbage", "title": title,
            "idempotencyKey": uuid.uuid4().hex}}, fast=fast))
        assert body["data"]["reportCase"]["errors"] == [], body
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            details = (await s.execute(text(
                "SELECT CAST(detail AS TEXT), CAST(object_ids AS TEXT) FROM audit_log "
                "WHERE action = 'reportCase'"))).all()
            events = (await s.execute(text("SELECT CAST(attachments AS TEXT) FROM case_events"))).scalars().all()
    for title in titles.values():  # each entry's title as UTF-8, in the one compact form
        found = [(d, o) for d, o in details if title in d]
        assert len(found) == 1, (title, details)
        assert _json_form(found[0][0]) and _json_form(found[0][1]), found
        assert "\\u" not in found[0][0] and '", "' not in found[0][0], found
    assert events and all(_json_form(e) for e in events), events
