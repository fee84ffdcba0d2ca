"""Messages a request answers with are written in both languages (DESIGN.md §8, issue #24): the
source is walked, and an English string literal given as the message of ``ServiceError``,
``FieldErrors.add``, ``AuthError``, ``error_body``, ``error_response``, ``PersistedQueryError`` or a
module's ``fail`` — not wrapped in ``t(zh, en)`` and not Chinese — fails the test.

``NOT_YET`` names the files whose messages are still English only: each must still hold one (the
list only shrinks), and none may gain a new one unnoticed because the list names files, not lines.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support.paths import ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")
PACKAGES = ("gongzhi", "resolvers", "schema", "compiled")
# callee → position of its message argument
MESSAGE_ARG = {"ServiceError": 1, "AuthError": 2, "error_body": 0, "error_response": 2, "PersistedQueryError": 1,
               "fail": 1}
# Protocol words a client matches on, not prose: Apollo's APQ clients look for this exact message.
PROTOCOL = {"PersistedQueryNotFound"}
# Files not converted yet (still English only).
NOT_YET: set[str] = set()


def _callee(node: ast.Call) -> str | None:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _message(node: ast.Call) -> ast.expr | None:
    name = _callee(node)
    if name in MESSAGE_ARG:
        i = MESSAGE_ARG[name]
        if len(node.args) > i:
            return node.args[i]
        return next((k.value for k in node.keywords if k.arg == "message"), None)
    first = node.args[0] if node.args else None
    if (name == "add" and len(node.args) > 1 and isinstance(first, ast.Attribute)
            and isinstance(first.value, ast.Name) and first.value.id == "ErrorCode"):
        return node.args[1]
    return None


def _literal_text(node: ast.expr) -> str | None:
    """The text of a string literal (f-strings and concatenations included), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_text(node.left), _literal_text(node.right)
        return None if left is None or right is None else left + right
    return None


def english_messages(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        message = _message(node)
        text = None if message is None else _literal_text(message)
        if text is not None and not CJK.search(text) and text not in PROTOCOL:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text!r}")
    return found


def _files() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]


def test_the_scan_finds_english_messages(tmp_path: Path) -> None:
    sample = ROOT / "resolvers" / "_scan_sample.py"
    try:
        sample.write_text('raise ServiceError(ErrorCode.INVALID, "not allowed", "x")\n'
                          'errors.add(ErrorCode.INVALID, f"{n} too many")\n'
                          'raise AuthError(401, "X", "no" + " token")\n'
                          'raise ServiceError(ErrorCode.INVALID, t("不行", "not allowed"))\n'
                          'raise ServiceError(ErrorCode.INVALID, "不行")\n', encoding="utf-8")
        assert [m.split(": ", 1)[1] for m in english_messages(sample)] == [
            "'not allowed'", "' too many'", "'no token'"]
    finally:
        sample.unlink()


def test_no_english_only_message_outside_the_files_not_yet_converted() -> None:
    offenders = [m for p in _files() if str(p.relative_to(ROOT)) not in NOT_YET for m in english_messages(p)]
    assert offenders == [], "wrap these in resolvers.i18n.t(zh, en):\n" + "\n".join(offenders)


def test_the_files_not_yet_converted_still_need_it() -> None:
    done = [name for name in sorted(NOT_YET) if not english_messages(ROOT / name)]
    assert done == [], f"converted: remove from NOT_YET {done}"
