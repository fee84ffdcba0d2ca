"""Schema change control against the last released schema (issue #12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema

from gongzhi.modules import schema as _built
from gongzhi.ops.schema_compat import RELEASED, check, main
from gongzhi.settings import ROOT

schema = _built()


RELEASED_SDL = """
type Query {
  cases(first: Int = 20): [Case!]!
  oldCases: [Case!]! @deprecated(reason: "use cases; since 2025-01-15")
  legacy: Legacy @deprecated(reason: "gone; since 2025-01-15")
  undated: Int @deprecated(reason: "use cases")
  area(kind: AreaKind): Int
}
type Case { id: ID! title: String! note: String @deprecated(reason: "use title; since 2025-02-01") }
type Legacy { x: Int }
enum AreaKind { STREET GRID OLD @deprecated(reason: "merged into GRID; since 2025-03-01") }
"""


def problems(current_sdl: str) -> list[str]:
    return check(RELEASED_SDL, build_schema(current_sdl))


BASE = """
type Query {
  cases(first: Int = 20): [Case!]!
  oldCases: [Case!]! @deprecated(reason: "use cases; since 2025-01-15")
  legacy: Legacy @deprecated(reason: "gone; since 2025-01-15")
  undated: Int @deprecated(reason: "use cases; since 2025-01-15")
  area(kind: AreaKind): Int
}
type Case { id: ID! title: String! note: String @deprecated(reason: "use title; since 2025-02-01") }
type Legacy { x: Int }
enum AreaKind { STREET GRID OLD @deprecated(reason: "merged into GRID; since 2025-03-01") }
"""


def test_code_schema_is_compatible_with_the_released_schema() -> None:
    assert check(RELEASED.read_text(encoding="utf-8"), schema._schema) == []


def test_released_schema_is_committed_beside_the_code() -> None:
    assert RELEASED == ROOT / "schema" / "released.graphql"
    assert RELEASED.read_text(encoding="utf-8").startswith(("type", "\"\"\"", "directive", "schema", "scalar",
                                                            "interface", "enum", "input", "union"))


def test_additions_are_not_breaking() -> None:
    assert problems(BASE.replace("type Legacy { x: Int }", "type Legacy { x: Int y: String }")
                    .replace("area(kind: AreaKind): Int", "area(kind: AreaKind, name: String): Int")) == []


def test_removing_a_deprecated_field_value_and_type_is_allowed() -> None:
    current = (BASE.replace('  oldCases: [Case!]! @deprecated(reason: "use cases; since 2025-01-15")\n', "")
               .replace('  legacy: Legacy @deprecated(reason: "gone; since 2025-01-15")\n', "")
               .replace("type Legacy { x: Int }", "")
               .replace(' OLD @deprecated(reason: "merged into GRID; since 2025-03-01")', "")
               .replace(' note: String @deprecated(reason: "use title; since 2025-02-01")', ""))
    assert problems(current) == []


def test_removing_a_live_field_is_breaking() -> None:
    out = problems(BASE.replace(" title: String!", ""))
    assert len(out) == 1 and out[0].startswith("BREAKING: Field Case.title was removed.")


def test_removing_a_field_deprecated_without_a_date_is_breaking() -> None:
    out = problems(BASE.replace('  undated: Int @deprecated(reason: "use cases; since 2025-01-15")\n', ""))
    assert out and "Field Query.undated was removed" in out[0]


def test_removing_a_live_enum_value_is_breaking() -> None:
    out = problems(BASE.replace("enum AreaKind { STREET GRID", "enum AreaKind { STREET"))
    assert len(out) == 1 and "Enum value AreaKind.GRID was removed" in out[0]


def test_changing_an_argument_or_requiring_one_is_breaking() -> None:
    assert any("Query.cases(first:)" in p for p in problems(BASE.replace("cases(first: Int = 20)",
                                                                           "cases(first: String)")))
    assert any("required argument" in p for p in problems(BASE.replace("area(kind: AreaKind)",
                                                                         "area(kind: AreaKind, at: Int!)")))


def test_removing_a_type_still_in_use_is_breaking() -> None:
    out = problems(BASE.replace("type Legacy { x: Int }", "").replace("legacy: Legacy", "legacy: Int"))
    # legacy changed type: its field was deprecated, so that change passes; nothing else uses Legacy.
    assert out == []
    out = problems(BASE.replace("type Case { id: ID! title: String! note: String "
                                "@deprecated(reason: \"use title; since 2025-02-01\") }", "")
                   .replace("[Case!]!", "[Int!]!"))
    assert any(p.startswith("BREAKING: Case was removed.") and "Query.cases" in p for p in out)


def test_new_deprecations_must_carry_a_date() -> None:
    out = problems(BASE.replace("title: String!", 'title: String! @deprecated(reason: "use name")'))
    assert out == ['Case.title is deprecated without a date: its reason must say "since YYYY-MM-DD".']


def test_command_exits_nonzero_on_a_breaking_change(tmp_path: Path) -> None:
    released = tmp_path / "released.graphql"
    released.write_text(RELEASED.read_text(encoding="utf-8").replace(
        "type Query {", "type Query {\n  retiredField: Int", 1), encoding="utf-8")
    assert main([str(released)]) == 1
    assert main([str(RELEASED)]) == 0


# One shape (issue #25): a misnamed input type is renamed by announcement in the released schema.
ANNOUNCED = '''
type Query { a: Int }
type Mutation {
  acceptCase(
    """Its type will be renamed `AcceptCaseInput` at the next release (announced since 2026-12-05)."""
    input: CaseTransitionInput!
  ): Int
  startCase(input: CaseTransitionInput!): Int
}
input CaseTransitionInput { id: ID! }
'''


def test_an_announced_input_rename_passes_and_nothing_else() -> None:
    renamed = (ANNOUNCED.replace("input: CaseTransitionInput!\n  ): Int", "input: AcceptCaseInput!\n  ): Int")
               + "input AcceptCaseInput { id: ID! }\n")
    assert check(ANNOUNCED, build_schema(renamed)) == []
    # another name than the announced one is breaking
    other = (ANNOUNCED.replace("input: CaseTransitionInput!\n  ): Int", "input: CaseAcceptInput!\n  ): Int")
             + "input CaseAcceptInput { id: ID! }\n")
    assert any("acceptCase(input:)" in p and p.startswith("BREAKING") for p in check(ANNOUNCED, build_schema(other)))
    # a mutation whose rename was not announced (startCase) keeps its type: removing it is breaking
    both = (renamed.replace("startCase(input: CaseTransitionInput!)", "startCase(input: StartCaseInput!)")
            .replace("input CaseTransitionInput { id: ID! }", "input StartCaseInput { id: ID! }"))
    out = check(ANNOUNCED, build_schema(both))
    assert any("startCase(input:)" in p for p in out)
    assert any(p.startswith("BREAKING: CaseTransitionInput was removed.") and "startCase" in p for p in out)


def test_the_command_also_refuses_a_new_exception_to_the_one_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    import gongzhi.ops.schema_compat as compat

    monkeypatch.setattr(compat, "shape_exceptions", lambda s: ["Mutation.x takes bare arguments"])
    assert compat.main([str(RELEASED)]) == 1
