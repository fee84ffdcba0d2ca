"""A reused plan keeps, per the request's variables as sent, what it reads from them alone (issue #21): the
variables' coercion (``PlanCache.coerced``), whether the plan fits them and its parameters read from arguments
(``Plan.memo``). Kept only because those are functions of the document and the variables: the checks' and
ArgSlots' functions read their arguments and nothing else — read here in the compiler's source, so a check
that reads the clock, the actor or the tenant fails this test — and every other slot is read per request."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from compiled.compiler import ArgRef, ArgSlot, Bindings
from compiled.plans import Plan, variables_key
from tests.support.compiled import both, compiled_statements
from tests.support.harness import Api, DbEnv, World

COMPILED = Path(__file__).resolve().parents[2] / "compiled"
# What a check or ArgSlot's function must not read: the compiler or the request (cx, ctx, b), the clock,
# the actor or tenant, a session. (Names as written; attributes after a dot.)
NAMES = {"cx", "ctx", "b", "self", "time", "monotonic"}
ATTRS = {"ctx", "now", "today", "utcnow", "actor", "tenant", "tenant_id", "session", "db", "bindings",
         "user_id", "policy_version"}


class _Bindings(Bindings):
    """Bindings whose arguments are given (no document): one request's."""

    def __init__(self, args: dict[str, Any], key: bytes | None, now: datetime) -> None:
        super().__init__(cast(Any, {}), cast(Any, SimpleNamespace(now=now)), key)
        self._given = args

    def args(self, ref: ArgRef) -> dict[str, Any]:
        return self._given


def _plan(calls: list[str]) -> Plan:
    ref = cast(ArgRef, None)

    def first(a: dict[str, Any]) -> int:
        calls.append("check")
        return int(a["first"])

    def area(a: dict[str, Any]) -> str:
        calls.append("slot")
        return str(a["area"])

    return Plan("SELECT", [(ref, first, 20)], [ArgSlot(ref, area), lambda b: b.ctx.now])


def test_a_plan_keeps_its_verdict_and_argument_parameters_per_variables_and_reads_the_clock_each_time() -> None:
    calls: list[str] = []
    plan = _plan(calls)
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    key = variables_key({"first": 20, "area": "a"})
    assert plan.fits(_Bindings({"first": 20, "area": "a"}, key, t1))
    assert plan.params(_Bindings({"first": 20, "area": "a"}, key, t1)) == ("a", t1)
    assert calls == ["check", "slot"]
    # The same variables: nothing read from the arguments again; the clock (not in the key) read anew.
    again = _Bindings({"first": 20, "area": "a"}, key, t2)
    assert plan.fits(again) and plan.params(again) == ("a", t2)
    assert calls == ["check", "slot"]
    # Other variables: read, and answered for themselves.
    other = _Bindings({"first": 5, "area": "b"}, variables_key({"first": 5, "area": "b"}), t2)
    assert not plan.fits(other)
    assert calls == ["check", "slot", "check"]
    # No key (variables not written as a key): read every time.
    for _ in range(2):
        assert plan.fits(_Bindings({"first": 20, "area": "c"}, None, t1))
    assert calls == ["check", "slot", "check", "check", "check"]


def test_what_is_kept_per_variables_is_bounded_and_keys_tell_values_apart() -> None:
    plan = _plan([])
    for i in range(50):
        plan.fits(_Bindings({"first": i, "area": "a"}, variables_key({"first": i, "area": "a"}), datetime.now(UTC)))
    assert len(plan.memo) <= 8
    assert variables_key({"a": 1}) != variables_key({"a": 1.0}) != variables_key({"a": True})
    assert variables_key({"a": 1, "b": 2}) == variables_key({"b": 2, "a": 1})
    assert variables_key(None) == variables_key({}) == b""
    assert variables_key({"a": 2**70}) is None and variables_key({"a": "x" * 5000}) is None


def _module_functions(tree: ast.Module) -> dict[str, ast.AST]:
    return {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def _reads(node: ast.AST, functions: dict[str, ast.AST], seen: set[str]) -> set[str]:
    """The forbidden names and attributes ``node`` reads, and those of the module's functions it calls."""
    found: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            if n.id in NAMES:
                found.add(n.id)
            if n.id in functions and n.id not in seen:
                seen.add(n.id)
                found |= _reads(functions[n.id], functions, seen)
        elif isinstance(n, ast.Attribute) and n.attr in ATTRS:
            found.add("." + n.attr)
    return found


def _argument_readers() -> list[tuple[str, int, ast.AST, dict[str, ast.AST]]]:
    """Every function given to ``Compiler.shape`` or ``Compiler.param`` in compiled/: (file, line, the function
    as written, the module's functions)."""
    out = []
    for path in sorted(COMPILED.glob("*.py")):
        tree = ast.parse(path.read_text())
        functions = _module_functions(tree)
        for n in ast.walk(tree):
            if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in {"shape", "param"}
                    and len(n.args) >= 2):
                out.append((path.name, n.lineno, n.args[1], functions))
    return out


def test_every_check_and_argument_parameter_reads_its_arguments_alone() -> None:
    readers = _argument_readers()
    assert len(readers) > 100  # the compiler's ≈ 108 checks and its parameters
    bad = []
    for name, line, fn, functions in readers:
        if isinstance(fn, ast.Lambda):
            body: ast.AST = fn.body
        elif isinstance(fn, ast.Name) and fn.id in functions:
            body = functions[fn.id]
        elif isinstance(fn, ast.Call) and isinstance(fn.func, ast.Name) and fn.func.id in functions:
            body = ast.Module([functions[fn.func.id], *fn.args], [])  # a reader made by a factory: id_arg(…)
        elif isinstance(fn, ast.Name | ast.Attribute | ast.Call):
            body = fn  # imported (compiled.compiler's readers, read below) or a spec's: its names at least
        else:
            bad.append(f"{name}:{line}: {ast.dump(fn)[:60]}")
            continue
        reads = _reads(body, functions, set())
        if reads:
            bad.append(f"{name}:{line}: {sorted(reads)}")
    assert not bad, bad


# The readers given by a name the test above does not resolve (imported, or a local made by a factory).
SHARED = {"compiler.py": ("page_size", "page_size_ok", "after_key", "node_type", "node_uuid", "last_shape", "id_arg"),
          "case_filters.py": ("case_order", "area_uuid"),
          "cobuilding.py": ("_id_of",),  # unit, community
          "sorted_lists.py": ("_no_arguments",)}  # spec.shape: no spec gives another


def test_the_shared_readers_read_their_arguments_alone() -> None:
    for module, names in SHARED.items():
        tree = ast.parse((COMPILED / module).read_text())
        functions = _module_functions(tree)
        for f in names:
            assert not _reads(functions[f], functions, set()), (module, f)
    assert "shape=" not in "".join(p.read_text() for p in COMPILED.glob("*.py"))


async def test_the_same_variables_are_coerced_once_and_a_bad_value_is_still_the_resolvers_error(
        api: Api, fresh: World, db: DbEnv) -> None:
    if not db.is_pg:
        pytest.skip("compiled reads are PostgreSQL-only")
    tw = fresh.a
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    query = "query($first: Int, $after: String) { cases(first: $first, after: $after) { totalCount nodes { id } } }"
    good = {"first": 1}
    with compiled_statements() as made:
        bodies = [await api.post(query, good, token=api.token(tw, "admin")) for _ in range(3)]
    assert all(m is not None for m in made) and len({m[0] for m in made if m}) == 1
    assert bodies[0].content == bodies[1].content == bodies[2].content
    key = variables_key(good)
    assert key is not None and state.plans.coerced(query, None, key) is not None
    # After the good ones: a bad cursor, a bad page size and a value that does not coerce answer as the resolvers do.
    for variables in ({"first": 1, "after": "bad"}, {"first": -1}, {"first": "x"}, {"first": 1, "after": "bad"}):
        compiled, resolved, _ = await both(api, tw, "admin", query, variables)
        assert compiled == resolved and b'"errors"' in compiled, variables
    # And the good variables once more: the same answer.
    again = await api.post(query, good, token=api.token(tw, "admin"))
    assert again.content == bodies[0].content
