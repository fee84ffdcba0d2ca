"""Abusive queries are refused before any database work, with a clear error: deep nesting, alias
floods, huge pages (the cost weighs `first`), too many tokens, a 1 MB body."""

from __future__ import annotations

from typing import Any

from tenants.session import count_statements
from tests.conftest import Api, World


async def _refused(api: Api, world: World, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    with count_statements() as stmts:
        r = await api.post(query, variables, token=api.token(world.a, "admin"))
    assert r.status_code == 400, r.text
    assert stmts == [], "refused before touching the database"
    body: dict[str, Any] = r.json()
    assert "data" not in body
    return body["errors"][0]  # type: ignore[no-any-return]


async def test_deep_nesting(api: Api, world: World) -> None:
    inner = "name"
    for _ in range(8):
        inner = f"children {{ nodes {{ {inner} }} }}"
    err = await _refused(api, world, f"{{ areas {{ nodes {{ {inner} }} }} }}")
    assert err["extensions"]["code"] == "QUERY_TOO_DEEP" and err["extensions"]["depth"] > 12


async def test_alias_flood(api: Api, world: World) -> None:
    fields = " ".join(f"a{i}: me {{ username }}" for i in range(31))
    err = await _refused(api, world, f"{{ {fields} }}")
    assert err["extensions"]["code"] == "TOO_MANY_ALIASES" and err["extensions"]["aliases"] == 31


async def test_huge_pages_weigh(api: Api, world: World) -> None:
    q = """query($n: Int) { households(first: $n) { nodes { persons { name careTags }
      grids { households(first: $n) { nodes { persons { name } building { name } } } } } } }"""
    err = await _refused(api, world, q, {"n": 100})
    assert err["extensions"]["code"] == "QUERY_TOO_COSTLY" and err["extensions"]["cost"] > 50_000
    # the same document with small pages runs
    r = await api.post(q, {"n": 5}, token=api.token(world.a, "admin"))
    assert r.status_code == 200 and "errors" not in r.json(), r.text


async def test_too_many_tokens(api: Api, world: World) -> None:
    err = await _refused(api, world, "{ me { " + "username " * 6000 + "} }")
    assert err["extensions"]["code"] == "TOO_MANY_TOKENS"


async def test_one_megabyte(api: Api, world: World) -> None:
    with count_statements() as stmts:
        r = await api.post("{ me { username } }" + " " * 1_000_000, token=api.token(world.a, "admin"))
    assert r.status_code == 413 and stmts == []


async def test_a_busy_portal_page_is_within_limits(api: Api, world: World) -> None:
    q = """{ cases(first: 50) { totalCount nodes { number title state overdue area { name ancestors { name } }
      reporter { username } timeline { action at actor { username } } } }
      households(first: 50) { nodes { room building { name grids { name } } persons { name phone careTags } } } }"""
    r = await api.post(q, token=api.token(world.a, "admin"))
    assert r.status_code == 200 and "errors" not in r.json(), r.text
