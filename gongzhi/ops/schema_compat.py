"""Schema change control: the code's schema against the last released one (issue #12).

Portals and partners build against a released schema (``schema/released.graphql``). graphql-core's
``find_breaking_changes`` lists what the code's schema would break for them; a breaking change is
accepted only when the element it removes or changes was deprecated in the released schema first,
with a reason that says since when: ``@deprecated(reason: "use x instead; since 2025-06-01")``.

    python -m gongzhi.ops.schema_compat            # exit 1 and list the offending changes
    make schema-compat

Releasing (after the deprecation period): copy ``schema.graphql`` over ``schema/released.graphql``.

One shape (issue #25): an input type cannot be deprecated, so a mutation's misnamed input type is
renamed by announcement: the released schema's ``input`` argument says, dated, which name it will have
(schema.shape.rename_notice). Exactly that change of the argument's type, and the removal of the old
type once nothing unannounced uses it, pass; any other does not. ``main`` also walks the code's schema
for new exceptions to the one shape (schema.shape.shape_exceptions).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from graphql import (
    BreakingChange,
    BreakingChangeType,
    GraphQLArgument,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    get_named_type,
)

from gongzhi.settings import ROOT
from schema.shape import RENAME_NOTICE, shape_exceptions

RELEASED = ROOT / "schema" / "released.graphql"
DEPRECATION_REASON = re.compile(r"since \d{4}-\d{2}-\d{2}")
_COORDINATE = re.compile(r"^(?:Field|Enum value|Argument) (?P<coord>[^\s]+) ")
_TYPE_REMOVED = re.compile(r"^(?P<coord>\w+) was removed\.$")
_ARG_RETYPED = re.compile(r"^Argument (?P<coord>[^\s]+) has changed type from (?P<old>[^\s]+) to (?P<new>[^\s]+?)\.?$")


@dataclass(frozen=True)
class Verdict:
    change: BreakingChange
    allowed: bool
    why: str

    def __str__(self) -> str:
        mark = "ok (deprecated first)" if self.allowed else "BREAKING"
        return f"{mark}: {self.change.description} {self.why}".rstrip()


Element = GraphQLField | GraphQLArgument | GraphQLInputField | GraphQLEnumValue


def _element(schema: GraphQLSchema, coord: str) -> tuple[Element | None, GraphQLField | GraphQLInputField | None]:
    """The element at a schema coordinate (Type.field, Type.field(arg:), Enum.VALUE) and its field."""
    m = re.fullmatch(r"(\w+)\.(\w+)(?:\((\w+):\))?", coord)
    if m is None:
        return None, None
    type_name, member, arg = m.groups()
    type_ = schema.type_map.get(type_name)
    if type_ is None:
        return None, None
    if arg is not None:
        if not isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)) or member not in type_.fields:
            return None, None
        field = type_.fields[member]
        return field.args.get(arg), field
    if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
        found = type_.fields.get(member)
        return found, found
    values = getattr(type_, "values", None)
    return (values.get(member) if values else None), None


def _dated(element: Element | None) -> bool:
    reason = getattr(element, "deprecation_reason", None)
    return bool(reason and DEPRECATION_REASON.search(reason))


def _announced_rename(arg: GraphQLArgument | None) -> str | None:
    """The type name a released argument announced it will be renamed to (issue #25), if it did."""
    m = RENAME_NOTICE.search(getattr(arg, "description", None) or "")
    return m.group("new") if m else None


def _renamed_as_announced(released: GraphQLSchema, description: str) -> bool:
    """An argument's type changed to exactly the name its released description announced, wrapped alike."""
    m = _ARG_RETYPED.match(description)
    if m is None:
        return False
    arg, _field = _element(released, m.group("coord"))
    new_name = _announced_rename(arg)  # type: ignore[arg-type]
    old, new = m.group("old"), m.group("new")
    return new_name is not None and old.replace(old.strip("[]!"), new_name) == new


def _live_references(schema: GraphQLSchema, type_name: str) -> list[str]:
    """Fields, arguments and input fields of ``schema`` typed ``type_name`` that are not deprecated
    (with a date), and types implementing it: what a client may still rely on."""
    live: list[str] = []
    for name, type_ in schema.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for field_name, field in type_.fields.items():
                if get_named_type(field.type).name == type_name and not _dated(field):
                    live.append(f"{name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if get_named_type(arg.type).name == type_name and not (_dated(arg) or _dated(field)
                                                                           or _announced_rename(arg)):
                        live.append(f"{name}.{field_name}({arg_name}:)")
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)) and any(
                i.name == type_name for i in type_.interfaces):
            live.append(name)
    return live


def judge(released: GraphQLSchema, current: GraphQLSchema) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for change in find_breaking_changes(released, current):
        kind = change.type
        if kind in (BreakingChangeType.FIELD_REMOVED, BreakingChangeType.FIELD_CHANGED_KIND,
                    BreakingChangeType.VALUE_REMOVED_FROM_ENUM, BreakingChangeType.ARG_REMOVED,
                    BreakingChangeType.ARG_CHANGED_KIND):
            m = _COORDINATE.match(change.description)
            element, field = _element(released, m.group("coord")) if m else (None, None)
            ok = _dated(element) or (kind in (BreakingChangeType.ARG_REMOVED, BreakingChangeType.ARG_CHANGED_KIND)
                                     and _dated(field)) or (kind is BreakingChangeType.ARG_CHANGED_KIND
                                                            and _renamed_as_announced(released, change.description))
            why = "" if ok else "Deprecate it first: @deprecated(reason: \"…; since YYYY-MM-DD\"), then release."
            verdicts.append(Verdict(change, ok, why))
        elif kind is BreakingChangeType.TYPE_REMOVED and (m := _TYPE_REMOVED.match(change.description)):
            live = _live_references(released, m.group("coord"))
            why = "" if not live else f"Still used without deprecation by: {', '.join(sorted(live))}."
            verdicts.append(Verdict(change, not live, why))
        else:
            verdicts.append(Verdict(change, False, "This kind of change is never backwards compatible "
                                                   "(add an optional argument or a new field instead)."))
    return verdicts


def undated_deprecations(schema: GraphQLSchema) -> list[str]:
    """Deprecated elements whose reason does not say since when."""
    bad: list[str] = []
    for name, type_ in schema.type_map.items():
        if name.startswith("__"):
            continue
        members: dict[str, Element] = {}
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for field_name, field in type_.fields.items():
                members[f"{name}.{field_name}"] = field
                for arg_name, arg in getattr(field, "args", {}).items():
                    members[f"{name}.{field_name}({arg_name}:)"] = arg
        for value_name, value in (getattr(type_, "values", None) or {}).items():
            members[f"{name}.{value_name}"] = value
        bad += [coord for coord, el in members.items() if el.deprecation_reason and not _dated(el)]
    return bad


def check(released_sdl: str, current: GraphQLSchema) -> list[str]:
    """Problems that block a merge: unannounced breaking changes and undated deprecations."""
    problems = [str(v) for v in judge(build_schema(released_sdl), current) if not v.allowed]
    problems += [f"{coord} is deprecated without a date: its reason must say \"since YYYY-MM-DD\"."
                 for coord in undated_deprecations(current)]
    return problems


def main(argv: list[str] | None = None) -> int:
    from gongzhi.modules import schema

    args = argv if argv is not None else sys.argv[1:]
    released = Path(args[0]) if args else RELEASED
    current = schema()._schema
    problems = check(released.read_text(encoding="utf-8"), current)
    problems += [f"one shape (issue #25): {p}" for p in shape_exceptions(current)]
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) against {released}")
        return 1
    print(f"schema compatible with {released}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
