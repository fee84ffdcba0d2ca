"""Every type, field, argument and enum value of the schema is described (issue #12)."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)

from gongzhi.modules import build_schema
from gongzhi.modules import schema as _built

schema = _built()


BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


def undocumented(graphql_schema: GraphQLSchema) -> list[str]:
    missing: list[str] = []
    for name, type_ in graphql_schema.type_map.items():
        if name.startswith("__") or name in BUILT_IN_SCALARS:
            continue
        if not (type_.description or "").strip():
            missing.append(f"type {name}")
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in type_.fields.items():
                if not (field.description or "").strip():
                    missing.append(f"field {name}.{field_name}")
                for arg_name, arg in field.args.items():
                    if not (arg.description or "").strip():
                        missing.append(f"argument {name}.{field_name}({arg_name})")
        elif isinstance(type_, GraphQLInputObjectType):
            for field_name, input_field in type_.fields.items():
                if not (input_field.description or "").strip():
                    missing.append(f"input field {name}.{field_name}")
        elif isinstance(type_, GraphQLEnumType):
            for value_name, value in type_.values.items():
                if not (value.description or "").strip():
                    missing.append(f"enum value {name}.{value_name}")
    return missing


def test_every_schema_element_is_described() -> None:
    missing = undocumented(schema._schema)
    assert not missing, (
        f"{len(missing)} schema elements lack a description (English with the Chinese term); describe them "
        "where they are defined or in schema/descriptions.py:\n  " + "\n  ".join(missing))


def test_production_schema_is_described_too() -> None:
    assert undocumented(build_schema(introspection=False)._schema) == []


def test_the_check_catches_an_undocumented_argument() -> None:
    built = build_schema()
    built._schema.query_type.fields["cases"].args["first"].description = None  # type: ignore[union-attr]
    assert undocumented(built._schema) == ["argument Query.cases(first)"]


def test_definitions_win_over_the_central_map() -> None:
    # schema/cases.py describes cases(areaId) itself; the generic entry must not replace it.
    arg = schema._schema.query_type.fields["cases"].args["areaId"]  # type: ignore[union-attr]
    assert arg.description == "Only inside this area."


def test_exported_sdl_carries_the_central_descriptions() -> None:
    sdl = schema.as_str()
    assert "Page size (每页条数): at most 100." in sdl
    assert "Urgent (紧急)." in sdl


def test_every_datetime_the_api_returns_is_utc() -> None:
    """issue #25: one rule for every DateTime — UTC with +00:00 — whatever zone the value carries."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from gongzhi.modules import schema as built

    scalar = built()._schema.type_map["DateTime"]
    shanghai = datetime(2026, 12, 5, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert scalar.serialize(shanghai) == "2026-12-05T00:30:00+00:00"  # type: ignore[attr-defined]
    assert scalar.serialize(datetime(2026, 12, 5, 0, 30)) == "2026-12-05T00:30:00+00:00"  # type: ignore[attr-defined]
    assert scalar.parse_value("2026-12-05T08:30:00+08:00") == shanghai  # type: ignore[attr-defined]
