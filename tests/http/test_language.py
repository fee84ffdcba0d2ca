"""The language of messages (DESIGN.md §8, issue #24): Simplified Chinese by default, English with
``Accept-Language: en``; the codes (and fields) are the same in both."""

from __future__ import annotations

import re
from typing import Any

import pytest

from resolvers.i18n import from_accept_language, t, use_language
from tests.support.cases import area_gid, call, failed
from tests.support.harness import Api, World

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(("header", "expected"), [
    (None, "zh"), ("", "zh"), ("en", "en"), ("en-US", "en"), ("EN-gb", "en"), ("zh-CN", "zh"), ("zh", "zh"),
    ("fr", "zh"), ("en;q=0.5, zh;q=0.9", "zh"), ("zh;q=0.4, en-US;q=0.8", "en"), ("fr, en;q=0.7, zh;q=0.6", "en"),
    ("en, zh", "en"), ("zh-Hans, en", "zh"), ("en;q=0", "zh"), ("en;q=abc", "zh"), ("*", "zh"), (",,;", "zh"),
])
def test_the_header_picks_the_language(header: str | None, expected: str) -> None:
    assert from_accept_language(header) == expected


def test_the_pipeline_keeps_each_headers_language_and_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """issue #21: the pipeline parses an Accept-Language value once per process; each value keeps its
    own answer (the same as parsing it), and past 256 values a new one is parsed, not remembered."""
    from gongzhi.http import pipeline

    monkeypatch.setattr(pipeline, "_languages", {})
    for header, expected in ((b"en-US,en;q=0.9", "en"), (b"zh-CN,zh;q=0.9,en;q=0.8", "zh"), (b"en", "en"),
                             (b"fr", "zh")):
        assert pipeline._language(header) == expected
        assert pipeline._language(header) == expected  # remembered: the same answer
    for i in range(300):
        assert pipeline._language(f"en;q=0.{i % 9 + 1}, x{i}".encode()) == "en"
    assert len(pipeline._languages) == 256
    assert pipeline._language(b"zh;q=0.4, en;q=0.8") == "en"


def test_t_follows_the_language() -> None:
    assert t("中文", "English") == "中文"
    with use_language("en"):
        assert t("中文", "English") == "English"
    assert t("中文", "English") == "中文"


def _error(body: dict[str, Any]) -> tuple[str, str]:
    (error,) = body["errors"]
    return error["extensions"]["code"], error["message"]


def _chinese(message: str) -> bool:
    return bool(CJK.search(message))


async def test_a_refused_request_in_both_languages(api: Api) -> None:
    zh = await api.post("{ __typename }")  # no token
    en = await api.english().post("{ __typename }")
    assert zh.status_code == en.status_code == 401
    (zh_code, zh_message), (en_code, en_message) = _error(zh.json()), _error(en.json())
    assert zh_code == en_code == "UNAUTHENTICATED"
    assert _chinese(zh_message) and not _chinese(en_message), (zh_message, en_message)
    assert en_message == "missing bearer token"
    # Any English variant, and English preferred by quality, ask for English; anything else is Chinese.
    for header, chinese in (("en-US,en;q=0.9", False), ("zh-CN,zh;q=0.9,en;q=0.8", True), ("fr-FR", True)):
        r = await api.post("{ __typename }", headers={"accept-language": header})
        assert _chinese(_error(r.json())[1]) is chinese, header
    # A malformed body: refused before any token, in the language asked for.
    r = await api.client.post("/graphql", content=b"{", headers={"content-type": "application/json",
                                                                 "accept-language": "en"})
    assert _error(r.json()) == ("BAD_REQUEST", "body is not valid JSON")
    r = await api.client.post("/graphql", content=b"{", headers={"content-type": "application/json"})
    assert _error(r.json()) == ("BAD_REQUEST", "请求体不是有效的 JSON")


async def test_a_payload_error_in_both_languages(api: Api, fresh: World) -> None:
    tw = fresh.a
    bad = {"areaId": area_gid(tw, "B1"), "category": "garbage", "title": "长" * 101}
    zh = failed(await call(api, tw, "resident", "reportCase", **bad), "TOO_LONG", "title")
    en = failed(await call(api.english(), tw, "resident", "reportCase", **bad), "TOO_LONG", "title")
    assert zh["message"] == "title 最多 100 个字"
    assert en["message"] == "title must be at most 100 characters"


async def test_a_query_field_error_in_both_languages(api: Api, world: World) -> None:
    query = "query ($x: ID) { persons(householdId: $x) { totalCount } }"
    token = api.token(world.a, "admin")
    bodies = [(await a.post(query, {"x": "garbage"}, token=token)).json() for a in (api, api.english())]
    (zh,), (en,) = bodies[0]["errors"], bodies[1]["errors"]
    assert {k: v for k, v in zh["extensions"].items() if k != "requestId"} == {
        k: v for k, v in en["extensions"].items() if k != "requestId"}
    assert (zh["extensions"]["code"], zh["extensions"]["field"]) == ("INVALID_ID", "householdId")
    assert zh["message"] == "householdId 不是有效的 ID"
    assert en["message"] == "householdId is not a valid ID"


async def test_graphql_core_validation_messages_stay_as_graphql_core_words_them(api: Api, world: World) -> None:
    token = api.token(world.a, "admin")
    for a in (api, api.english()):
        r = await a.post("{ noSuchField }", token=token)
        code, message = _error(r.json())
        assert code == "GRAPHQL_VALIDATION_FAILED"
        assert message.startswith("Cannot query field 'noSuchField'"), message
