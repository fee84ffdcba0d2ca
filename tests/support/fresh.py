"""Whether a test that asks for ``fresh`` can reach its second tenant, ``fresh.b``.

It can when the test's body names ``fresh`` otherwise than as ``fresh.a`` (``fresh.b``, ``w = fresh``,
``helper(fresh)``, ``for tw in (fresh.a, fresh.b)``), or when another fixture of the test takes ``fresh``.
Otherwise ``fresh.b`` is a ``NotBuilt`` that fails loudly on any use: a wrong guess fails the test, it
never lets one pass that would not."""

from __future__ import annotations

import ast
import functools
import inspect
import re
import textwrap
from typing import Any, NoReturn

import pytest

_OTHER_USE = re.compile(r"\bfresh\b(?!\.a\b)")


class NotBuilt:
    """``fresh.b`` of a test that never names it."""

    def __getattr__(self, name: str) -> NoReturn:
        raise RuntimeError(f"fresh.b.{name}: the second tenant was not built, the test's body names only fresh.a "
                           "(tests/support/fresh.py): name fresh.b in the test itself")


@functools.cache
def _body_reaches_b(function: Any) -> bool:
    try:
        source = textwrap.dedent(inspect.getsource(function))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return True
    node = tree.body[0]
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return True
    body = "\n".join(ast.get_source_segment(source, stmt) or "fresh" for stmt in node.body)
    return _OTHER_USE.search(body) is not None


def uses_fresh_b(request: pytest.FixtureRequest) -> bool:
    function = getattr(request, "function", None)
    info = getattr(request.node, "_fixtureinfo", None)
    if function is None or info is None:
        return True
    for name, defs in info.name2fixturedefs.items():
        if name != "fresh" and any("fresh" in d.argnames for d in defs):
            return True
    return _body_reaches_b(function)
