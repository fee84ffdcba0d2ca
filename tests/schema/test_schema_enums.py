"""GraphQL enums are declared with schema.common.graphql_enum (in place, on the class), so fields
annotate with the class and need no ``type: ignore[valid-type]``."""

from __future__ import annotations

import ast

from gongzhi.modules import schema as _built
from models import ActivityState, WishState
from tests.support.paths import ROOT

schema = _built()




def enum_aliases(source: str, path: str) -> list[str]:
    """Assignments of ``strawberry.enum(...)``'s result: a variable mypy refuses as an annotation."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Attribute) and func.attr == "enum" and isinstance(func.value, ast.Name) \
                    and func.value.id == "strawberry":
                found.append(f"{path}:{node.lineno}")
    return found


def test_the_check_finds_an_alias() -> None:
    assert enum_aliases("X = strawberry.enum(_X, name='X')\n", "x.py") == ["x.py:1"]
    assert enum_aliases("graphql_enum(X, name='X', description='d')\n", "x.py") == []


def test_no_enum_alias_and_no_valid_type_ignore_in_schema() -> None:
    aliases: list[str] = []
    ignores: list[str] = []
    for path in sorted((ROOT / "schema").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        text = path.read_text(encoding="utf-8")
        aliases += enum_aliases(text, rel)
        ignores += [f"{rel}:{i}" for i, line in enumerate(text.splitlines(), 1) if "ignore[valid-type]" in line]
    assert aliases == [], "declare enums with schema.common.graphql_enum(cls, name=..., description=...)"
    assert ignores == []


def test_one_python_enum_under_two_graphql_names_keeps_both() -> None:
    """ActivityState and WishState serve two GraphQL enums each (volunteering / care and co-building):
    which name a field gets depends on declaration order, so both must still be in the schema."""
    type_map = schema.schema_converter.type_map
    for python_enum, names in ((ActivityState, ("ActivityState", "SharedActivityState")),
                               (WishState, ("WishState", "SharedWishState"))):
        for name in names:
            assert getattr(type_map[name].definition, "wrapped_cls", None) is python_enum, name
