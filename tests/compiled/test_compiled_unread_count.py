"""The compiled ``unreadNotificationCount`` (compiled/notifications.py, issue #21) answers exactly what the
resolvers answer for every world user — each reader its own read state — alone and beside the list, in
one statement after the request's start-up. The world is test_compiled_notifications.py's: notifications
to users, the firm and areas, every other one of four readers' marked read."""

from __future__ import annotations

from typing import Any

import orjson

from tests.compiled.test_compiled_notifications import notification_tenant  # noqa: F401  # the world
from tests.support.compiled import agree
from tests.support.harness import Api
from tests.support.world import ROLE_USERS

USERS = (*ROLE_USERS, "nobody")

UNREAD = "query Unread { unreadNotificationCount }"
BESIDE = """query { n: unreadNotificationCount __typename unreadNotificationCount
  notifications(unreadOnly: true, first: 100) { totalCount } }"""
EQUIVALENCE_DOCUMENTS = (UNREAD, BESIDE)


async def test_unread_count_compiles_to_the_resolvers_answer_for_every_user(
        api: Api, notification_tenant: Any) -> None:  # noqa: F811
    tw = notification_tenant
    counts = {}
    for user in USERS:
        for document in (UNREAD, BESIDE):
            compiled = await agree(api, tw, user, document, {})
        data = orjson.loads(compiled)["data"]
        assert data["n"] == data["unreadNotificationCount"] == data["notifications"]["totalCount"], (user, data)
        counts[user] = data["n"]
    # Real counts, each reader's own (four readers marked half of theirs read).
    assert counts["nobody"] == 0 and counts["admin"] > 0 and counts["grid1"] > 0, counts
    assert len(set(counts.values())) > 2, counts


async def test_the_compiled_unread_count_is_one_statement(api: Api, notification_tenant: Any) -> None:  # noqa: F811
    tw = notification_tenant
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    await api.counted(tw, "firm", UNREAD)
    state.compiled_reads = False
    try:
        _, baseline = await api.counted(tw, "firm", "query { __typename }")
        _, resolved = await api.counted(tw, "firm", UNREAD)
    finally:
        state.compiled_reads = True
    _, compiled = await api.counted(tw, "firm", UNREAD)
    assert compiled == baseline + 1 == resolved, (compiled, baseline, resolved)
