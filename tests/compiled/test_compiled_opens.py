"""Opening sealed personal data on the compiled path (issue #21, persons and households pages): a page
read in full opens each sealed value it answers exactly once, all of them in one call into the keyring
per request; a masked value (its stored masked form answers), or a page that selects no sealed field,
opens nothing. The answer and the
audit of the full reads stay the resolvers' own, byte for byte and row for row.

The counts are of calls into models.sealing.Keyring (``open`` and ``open_many``), a call made inside
another not counted again: one entry per call, the number of values it opened."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from models import sealing
from tenants.rls import set_tenant_sql
from tests.support.compiled import around, both, compiled_statements, module_tenant
from tests.support.harness import Api, DbEnv
from tests.support.world import TenantWorld

PERSONS = """query { persons(first: 50) { nodes { id name piiMasked phone idCardNo careTags birthDate
  household { room } } } }"""
HOUSEHOLDS = "query { households(first: 50) { nodes { id room persons { id name piiMasked phone idCardNo } } } }"
NO_SEALED_FIELD = "query { persons(first: 50) { nodes { id name piiMasked careTags birthDate } } }"


@contextmanager
def counted_opens(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    calls: list[int] = []
    depth = [0]

    def spy(real: Any, size: Any) -> Any:
        def opened(self: sealing.Keyring, arg: Any) -> Any:
            if depth[0] == 0:
                calls.append(size(arg))
            depth[0] += 1
            try:
                return real(self, arg)
            finally:
                depth[0] -= 1
        return opened

    with monkeypatch.context() as m:
        m.setattr(sealing.Keyring, "open", spy(sealing.Keyring.open, lambda _v: 1))
        many = getattr(sealing.Keyring, "open_many", None)
        if many is not None:
            m.setattr(sealing.Keyring, "open_many", spy(many, len))
        yield calls


@pytest.fixture(scope="module")
async def tenant(db: DbEnv) -> TenantWorld:
    return await module_tenant(db)


async def _pii_audit(db: DbEnv, tw: TenantWorld) -> list[tuple[Any, ...]]:
    async with db.owner_engine.connect() as c, c.begin():
        await c.execute(sa.text(set_tenant_sql(tw.tenant_id)))
        rows = await c.execute(sa.text(
            "SELECT user_id, roles, action, object_type, object_ids::text, detail::text, client_addr FROM audit_log "
            "WHERE tenant_id = :t AND action = 'person.read_pii' ORDER BY created_at, id"), {"t": tw.tenant_id})
        return [tuple(r) for r in rows]


def _sealed_values(body: dict[str, Any]) -> tuple[int, int]:
    """(values answered in full, masked values) of the phones and ID numbers in a page's answer."""
    root = body["data"]["persons" if "persons" in body["data"] else "households"]["nodes"]
    persons = root if "persons" not in (root[0] if root else {}) else [p for h in root for p in h["persons"]]
    full = masked = 0
    for p in persons:
        n = sum(p.get(k) is not None for k in ("phone", "idCardNo"))
        if p["piiMasked"]:
            masked += n
        else:
            full += n
    return full, masked


@pytest.mark.parametrize("query", [PERSONS, HOUSEHOLDS], ids=["persons", "households"])
async def test_a_full_read_opens_each_value_once_in_one_call(api: Api, db: DbEnv, tenant: TenantWorld,
                                                             monkeypatch: pytest.MonkeyPatch, query: str) -> None:
    tw = tenant
    token = api.token(tw, "grid1")
    await api.post(query, token=token)  # the plan made: the request below is the driver path's
    before = await _pii_audit(db, tw)
    with counted_opens(monkeypatch) as calls, compiled_statements() as made:
        r = await api.post(query, token=token)
    assert [m is not None for m in made] == [True]
    body = r.json()
    full, masked = _sealed_values(body)
    assert full >= 4 and masked == 0, body
    assert calls == [full], calls  # one call, each value once
    assert {tw.phones[k] for k in ("h1a", "h1b")} <= set(orjson.dumps(body).decode().split('"'))
    # the same bytes and the same audit rows (actor, roles, persons …) as the resolvers' answer
    compiled, resolved, taken = await both(api, tw, "grid1", query, {})
    assert taken and compiled == resolved, around(compiled, resolved)
    assert compiled == orjson.dumps(body)
    rows = (await _pii_audit(db, tw))[len(before):]
    assert len(rows) == 3 and rows[0] == rows[1] == rows[2], rows
    persons = orjson.loads(rows[0][4])
    assert persons == sorted(persons) and len(persons) >= full // 2


# The property firm reads every person masked; the chair reads their own entry in full, the others masked.
@pytest.mark.parametrize(("user", "query", "full_expected"),
                         [("firm", HOUSEHOLDS, 0), ("chair", PERSONS, 2), ("grid1", NO_SEALED_FIELD, 0)])
async def test_a_masked_or_unselected_value_opens_nothing(api: Api, tenant: TenantWorld,
                                                          monkeypatch: pytest.MonkeyPatch, user: str, query: str,
                                                          full_expected: int) -> None:
    tw = tenant
    token = api.token(tw, user)
    with counted_opens(monkeypatch) as calls, compiled_statements() as made:
        r = await api.post(query, token=token)
    assert [m is not None for m in made] == [True]
    body = r.json()
    assert "errors" not in body, body
    if query is not NO_SEALED_FIELD:
        full, masked = _sealed_values(body)
        assert full == full_expected and masked >= 4, body
    assert calls == ([full_expected] if full_expected else []), calls
