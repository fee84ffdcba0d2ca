"""Abusive queries are refused before any database work, with a clear error: deep nesting, alias
floods, huge pages (the cost weighs `first`), too many tokens, a 1 MB body."""

from __future__ import annotations

from typing import Any

from tenants.session import count_statements
from tests.support.harness import Api, World


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


def test_verdicts_are_remembered_per_document_and_page_size() -> None:
    from graphql import parse

    from gongzhi.http import limits
    from gongzhi.modules import build_schema

    schema = build_schema(introspection=False)._schema
    doc = parse("query($n: Int, $note: String) { households(first: $n) { nodes { persons { name } } } }")
    big = limits.check(schema, doc, None, {"n": 100, "note": "a"})
    small = limits.check(schema, doc, None, {"n": 5, "note": "a"})
    assert big.cost > small.cost > 0
    # Only the page size matters: another value of an unrelated variable is the same verdict.
    assert limits.check(schema, doc, None, {"n": 100, "note": "b"}) is big
    assert limits.check(schema, doc, None, {"n": 5}) is small
    again = limits.check(schema, doc, None, {"n": 100})
    assert again is big and again.cost == big.cost
    # The same text parsed again is another document: its verdict is worked out, and equal.
    other = parse("query($n: Int, $note: String) { households(first: $n) { nodes { persons { name } } } }")
    fresh = limits.check(schema, other, None, {"n": 100})
    assert fresh is not big and (fresh.cost, fresh.depth, fresh.error) == (big.cost, big.depth, big.error)


async def test_a_refused_page_size_is_refused_again_after_an_allowed_one(api: Api, world: World) -> None:
    q = """query($n: Int) { households(first: $n) { nodes { persons { name careTags }
      grids { households(first: $n) { nodes { persons { name } } } } } } }"""
    for n, refused in ((100, True), (5, False), (100, True), (5, False)):
        r = await api.post(q, {"n": n}, token=api.token(world.a, "admin"))
        assert (r.status_code == 400) is refused, (n, r.text)
