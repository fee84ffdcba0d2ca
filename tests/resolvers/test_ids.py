"""The one global-ID codec (resolvers/ids.py): round trip, wrong type, malformed input, IDs of
another tenant, and a guard that no module of schema/ or resolvers/ grows its own decoder again."""

from __future__ import annotations

import ast
import base64
import uuid
from pathlib import Path

import pytest

from resolvers.errors import ErrorCode, ServiceError
from resolvers.i18n import use_language
from resolvers.ids import GlobalId, decode_global_id, decode_id, decode_ids, encode_global_id
from tests.support.harness import Api, World
from tests.support.paths import ROOT

CODEC = Path("resolvers/ids.py")


def _raw(text: bytes) -> str:
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


# ---------------------------------------------------------------- the codec itself


def test_round_trip() -> None:
    row = uuid.uuid4()
    gid = encode_global_id("Household", row)
    assert "=" not in gid and "Household" not in gid  # opaque, unpadded base64url
    assert decode_global_id(gid) == GlobalId("Household", row)
    type_name, id_ = decode_global_id(gid, "Household")  # still unpacks as a pair
    assert (type_name, id_) == ("Household", row)
    assert decode_id(gid, "Household", "householdId") == row
    assert decode_id(gid, {"Household", "Person"}) == row
    assert decode_ids([gid, encode_global_id("Household", row)], "Household") == [row, row]


def test_absent_ids_stay_absent() -> None:
    assert decode_id(None, "Household", "householdId") is None
    assert decode_ids(None, "Household") == []


@pytest.mark.parametrize(
    ("expected", "message"),
    [("Person", "householdId must be the ID of a Person"),
     ({"Street", "Community"}, "householdId must be the ID of a Community or Street")],
)
def test_wrong_type_is_invalid_id_naming_the_field(expected: str | set[str], message: str) -> None:
    gid = encode_global_id("Household", uuid.uuid4())
    for decode in (decode_id, decode_global_id):
        with pytest.raises(ServiceError) as caught, use_language("en"):
            decode(gid, expected, "householdId")
        e = caught.value
        assert (e.code, e.message, e.field) == (ErrorCode.INVALID_ID, message, "householdId")
        with pytest.raises(ServiceError) as caught:
            decode(gid, expected, "householdId")
        assert caught.value.message.startswith("householdId 应为 ") and caught.value.message.endswith(" 的 ID")
    with pytest.raises(ServiceError):
        decode_ids([encode_global_id("Person", uuid.uuid4()), gid], "Person", "ids")


@pytest.mark.parametrize(
    "gid",
    ["", "not-an-id", "!!!!", _raw(b"Person:not-a-uuid"), _raw(b"Person"), _raw(b"\xff\xfe:x"),
     _raw(f"Person{uuid.uuid4()}".encode())],
    ids=["empty", "garbage", "not-base64", "bad-uuid", "no-separator", "not-utf8", "no-colon"],
)
def test_malformed_is_invalid_id_naming_the_field(gid: str) -> None:
    with pytest.raises(ServiceError) as caught, use_language("en"):
        decode_id(gid, "Person", "personId")
    e = caught.value
    assert (e.code, e.message, e.field) == (ErrorCode.INVALID_ID, "personId is not a valid ID", "personId")
    with pytest.raises(ServiceError) as caught:
        decode_id(gid, "Person", "personId")
    assert (caught.value.code, caught.value.message) == (ErrorCode.INVALID_ID, "personId 不是有效的 ID")


def test_service_error_carries_its_code_and_field_to_graphql() -> None:
    """graphql-core copies an original error's ``extensions``: a query field that lets the codec's
    error escape answers with the same code and field as a PublicError would."""
    from graphql import GraphQLError

    from schema.common import PublicError

    with pytest.raises(ServiceError) as caught:
        decode_id("garbage", "Person", "personId")
    wrapped = GraphQLError(str(caught.value), original_error=caught.value)
    assert wrapped.formatted["extensions"] == {"code": "INVALID_ID", "field": "personId"}
    assert PublicError(caught.value).formatted["extensions"] == wrapped.formatted["extensions"]
    assert ServiceError(ErrorCode.NOT_FOUND, "gone").extensions == {"code": "NOT_FOUND"}


# ---------------------------------------------------------------- another tenant's IDs

NODE = "query($id: ID!) { node(id: $id) { id __typename } }"
HOUSEHOLDS_IN = "query($a: ID) { households(areaId: $a) { totalCount } }"


async def test_another_tenants_id_resolves_only_in_its_own_tenant(api: Api, world: World) -> None:
    """An ID names a row, never a tenant: B's ID decodes anywhere, but finds its row only in B."""
    b_household = encode_global_id("Household", world.b.households["H1"])
    assert decode_id(b_household, "Household") == world.b.households["H1"]
    as_a = await api.gql(world.a, "admin", NODE, {"id": b_household})
    assert as_a == {"data": {"node": None}}
    as_b = await api.gql(world.b, "admin", NODE, {"id": b_household})
    assert as_b == {"data": {"node": {"id": b_household, "__typename": "Household"}}}

    # As an argument, B's area is to A exactly an area that exists nowhere.
    b_building = encode_global_id("Building", world.b.areas["B1"])
    nowhere = encode_global_id("Building", uuid.uuid4())
    answers = [await api.gql(world.a, "admin", HOUSEHOLDS_IN, {"a": a}, allow_errors=True)
               for a in (b_building, nowhere)]
    for body in answers:
        assert body["data"] is None
        assert [e["extensions"] for e in body["errors"]] == [{"code": "NOT_FOUND", "field": "areaId"}]
    assert answers[0]["errors"][0]["message"] == answers[1]["errors"][0]["message"]
    in_b = await api.gql(world.b, "admin", HOUSEHOLDS_IN, {"a": b_building})
    assert in_b["data"]["households"]["totalCount"] > 0


# ---------------------------------------------------------------- no second decoder

_DECODERS = {"decode_global_id", "decode_id", "decode_ids"}


def _is_decode(expr: ast.expr | None) -> bool:
    """The expression is a codec call, perhaps indexed, an attribute of one, one per list item, or
    one unless the value is None (how the copies were written)."""
    while True:
        if isinstance(expr, ast.IfExp):
            expr = expr.orelse if isinstance(expr.body, ast.Constant) else expr.body
        elif isinstance(expr, ast.Subscript) or (isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Call)):
            expr = expr.value
        elif isinstance(expr, ast.ListComp):
            expr = expr.elt
        else:
            break
    if not isinstance(expr, ast.Call):
        return False
    f = expr.func
    return (f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "") in _DECODERS


def decoder_copies(source: str, path: str) -> list[str]:
    """Where a module decodes global IDs itself: base64 decoding, or a function that only hands
    its argument to the codec (the seven ``_gid``/``_id``/``decode_id`` copies this replaced)."""
    found: list[str] = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and "b64decode" in node.attr:
            found.append(f"{path}:{node.lineno}: base64 decoding ({node.attr})")
        if isinstance(node, ast.ImportFrom) and node.module == "base64":
            found.append(f"{path}:{node.lineno}: imports from base64")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name in _DECODERS:
                found.append(f"{path}:{node.lineno}: defines {node.name}")
                continue
            body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
            if len(body) == 1 and isinstance(body[0], ast.Return) and _is_decode(body[0].value):
                found.append(f"{path}:{node.lineno}: {node.name}() only wraps the codec")
    return found


def test_the_guard_finds_a_copy() -> None:
    copies = [
        "def _gid(value, expected, field):\n    return decode_global_id(str(value), expected, field)[1]\n",
        "def _id(gid, expected, field):\n    return None if gid is None else decode_id(gid, expected, field)\n",
        "import base64\ndef parse(gid):\n    return base64.urlsafe_b64decode(gid + '==').decode()\n",
        "from base64 import urlsafe_b64decode as d\n",
        "def decode_id(gid, expected, field='id'):\n    try:\n        return 1\n    except E:\n        raise\n",
        "def _ids(values, expected, field):\n    return [_gid(x, expected, field) for x in values]\n".replace(
            "_gid", "decode_id"),
        "def _area(v):\n    return decode_global_id(str(v), AREAS, 'areaId').id\n",
    ]
    for source in copies:
        assert decoder_copies(source, "x.py"), source
    assert decoder_copies("def f(a):\n    x = decode_id(a, 'T')\n    return g(x)\n", "x.py") == []
    assert decoder_copies("async def run():\n    return await svc.close(ctx, decode_id(i, 'T', 'id'))\n", "x.py") == []


def test_no_module_of_schema_or_resolvers_decodes_ids_itself() -> None:
    found: list[str] = []
    for package in ("schema", "resolvers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel != CODEC:
                found += decoder_copies(path.read_text(encoding="utf-8"), str(rel))
    assert found == [], "decode global IDs with resolvers.ids.decode_id / decode_global_id:\n" + "\n".join(found)


def test_a_sorted_cursor_round_trips_and_refuses_what_its_list_did_not_give() -> None:
    """The cursors of the …Connection lists of issue #25 (resolvers.pagination.sorted_page): the sort-key
    values come back with their types; another list's name, another count or type of values, or
    anything not such a cursor is INVALID_CURSOR on ``after``."""
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from resolvers.ids import decode_sorted_cursor, encode_sorted_cursor

    values: list[object] = ["物业", 3, date(2026, 11, 1), datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
                            uuid.UUID(int=7), Decimal("1.50"), True]
    kinds: list[type | None] = [str, int, date, datetime, uuid.UUID, Decimal, None]
    cursor = encode_sorted_cursor("slaRules", values)
    assert decode_sorted_cursor(cursor, "slaRules", kinds) == values
    assert encode_sorted_cursor("slaRules", values) == cursor  # stable
    bad = [
        (cursor, "careTagKinds", kinds),  # another list's
        (cursor, "slaRules", kinds[:-1]),  # another number of keys
        (cursor, "slaRules", [int, *kinds[1:]]),  # a value of the wrong type
        (_raw(b"k:" + uuid.UUID(int=1).bytes), "slaRules", kinds),  # an id cursor
        (_raw(b's:["slaRules",[["x","1"]]]'), "slaRules", [str]),  # an unknown tag
        (_raw(b's:["slaRules",[["i","one"]]]'), "slaRules", [int]),  # a value that does not parse
        ("not a cursor at all!", "slaRules", kinds),
    ]
    for text, name, expected in bad:
        with pytest.raises(ServiceError) as e:
            decode_sorted_cursor(text, name, expected)
        assert (e.value.code, e.value.field) == (ErrorCode.INVALID_CURSOR, "after"), (text, name)
