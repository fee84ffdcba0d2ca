"""cappedCount(cap:) on every compiled connection (issue #21): every root ``…Connection`` field of the schema
that the compiler takes with ``totalCount`` still takes it with ``cappedCount`` beside it, and answers the
resolvers' bytes — min(totalCount, cap) and whether more lie beyond, counted over the same filtered list.
The audit log's own test (with its filters, cursors and readers) is in test_compiled_audit.py."""

from __future__ import annotations

import orjson
import pytest
from graphql import GraphQLField, GraphQLNonNull, get_named_type

from gongzhi.modules import schema as built
from tests.support.compiled import around, both, module_tenant
from tests.support.harness import Api, DbEnv
from tests.support.world import TenantWorld

# Values for the required arguments a root list may have, by their type (none needs an id of the world).
REQUIRED = {"Date": '"2030-01-01"', "Int": "2026"}
USERS = ("admin", "secretary", "grid1", "resident")
CAPS = (0, 1, 2, 1000)


def _roots() -> dict[str, str]:
    """Each root connection field the test can send, with its required arguments written out."""
    out: dict[str, str] = {}
    fields: dict[str, GraphQLField] = built()._schema.query_type.fields
    for name, field in sorted(fields.items()):
        if not get_named_type(field.type).name.endswith("Connection") or "first" not in field.args:
            continue
        args = []
        for arg_name, arg in field.args.items():
            if isinstance(arg.type, GraphQLNonNull) and arg.default_value is None and arg_name != "first":
                value = REQUIRED.get(get_named_type(arg.type).name)
                if value is None:
                    break
                args.append(f"{arg_name}: {value}")
        else:
            out[name] = ", ".join([*args, "first: 2"])
    return out


ROOTS = _roots()


@pytest.fixture(scope="module")
async def tenant(db: DbEnv) -> TenantWorld:
    return await module_tenant(db)


async def test_every_compiled_connection_compiles_its_capped_count_to_the_resolvers_answer(
        api: Api, tenant: TenantWorld) -> None:
    assert len(ROOTS) >= 40, sorted(ROOTS)  # the schema's root connections, not a handful
    taken_by: dict[str, int] = {}
    counted = beyond = 0
    for user in USERS:
        for name, args in ROOTS.items():
            _, _, plain = await both(api, tenant, user, f"{{ {name}({args}) {{ totalCount }} }}", {})
            for cap in CAPS:
                query = f"{{ {name}({args}) {{ totalCount c: cappedCount(cap: {cap}) {{ count hasMore }} }} }}"
                compiled, resolved, taken = await both(api, tenant, user, query, {})
                assert taken == plain, (name, user, cap, "cappedCount changed whether the field compiles")
                assert compiled == resolved, (name, user, cap, around(compiled, resolved))
                body = orjson.loads(compiled)
                if taken and body.get("data") and body["data"][name] is not None:
                    page = body["data"][name]
                    total = page["totalCount"]
                    assert page["c"] == {"count": min(total, cap), "hasMore": total > cap}, (name, user, cap)
                    counted += 1
                    beyond += total > cap > 0
            taken_by[name] = taken_by.get(name, 0) + plain
    compiled_roots = {name for name, n in taken_by.items() if n}
    assert len(compiled_roots) >= 30, sorted(set(ROOTS) - compiled_roots)
    assert counted and beyond, (counted, beyond)  # caps that bit, on lists longer than them


# What the test above sends both ways, for test_compiled's check that every compiled field is compared.
EQUIVALENCE_DOCUMENTS = tuple(f"{{ {name}({args}) {{ totalCount c: cappedCount(cap: 1) {{ count hasMore }} }} }}"
                              for name, args in ROOTS.items())
