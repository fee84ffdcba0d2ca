"""The audit entry of full reads names each person once, whether the request recorded them as UUIDs
(the resolvers) or as the text PostgreSQL writes (the compiled path, issue #21), or both."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from models import uuid7
from resolvers.context import RequestContext


def _ctx() -> RequestContext:
    actor: Any = SimpleNamespace(user_id=uuid7(), roles=[SimpleNamespace(value="grid_leader")])
    return RequestContext(db=None, tenant=None, actor=actor, now=datetime.now(UTC), request_id="r1")  # type: ignore[arg-type]


def test_persons_read_in_full_are_audited_once_however_recorded() -> None:
    a, b, c = uuid7(), uuid7(), uuid7()
    ctx = _ctx()
    assert not ctx.reads_pii and ctx.audit_entries() == []
    ctx.pii_read_ids.update({str(c), str(b)})  # the compiled path's texts alone
    assert ctx.reads_pii
    only_texts = ctx.audit_entries()
    assert [e.object_ids for e in only_texts] == [sorted([str(b), str(c)])]
    ctx.pii_reads.update({a, b})  # and the resolvers' UUIDs: b is named once
    [entry] = ctx.audit_entries()
    assert entry.object_ids == sorted(str(p) for p in (a, b, c))
    assert (entry.action, entry.object_type, entry.roles, entry.request_id) == (
        "person.read_pii", "person", "grid_leader", "r1")
