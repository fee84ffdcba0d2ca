"""The error-code catalogue (issue #25): every code the code base can return is in it, the schema's
ApiErrorCode enum and `errorCodes` say the same, and docs/errors.md lists each with its status."""

from __future__ import annotations

import re

from resolvers.error_catalogue import CATALOGUE, ApiErrorCode
from resolvers.errors import ErrorCode
from tests.support.harness import Api, World
from tests.support.paths import ROOT

# Operator commands the API never runs: their codes are the CLI's (one line on stderr), not the API's.
CLI_ONLY = {"gongzhi/ops/audit.py", "gongzhi/ops/citus.py"}  # operators' commands: their own one-line codes
_LITERAL = re.compile(r'"([A-Z][A-Z_]{3,})"')
# Lines where a literal is an error code: raised, answered, formatted or compared as one.
_CODE_CONTEXT = re.compile(r"Error\(|error_|\bcode\b|\bcodes\b|_code\b|verdict\.error|_send_error|REFUSALS")


def codes_in_the_code_base() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in ("gongzhi", "resolvers", "schema", "compiled", "policies", "tenants"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "error_catalogue.py" or path.relative_to(ROOT).as_posix() in CLI_ONLY:
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not _CODE_CONTEXT.search(line):
                    continue
                for code in _LITERAL.findall(line):
                    if not code.startswith(("GONGZHI_", "OTEL_")):
                        found.setdefault(code, f"{path.relative_to(ROOT)}:{n}")
    return found


def test_every_code_the_code_base_returns_is_catalogued() -> None:
    found = codes_in_the_code_base()
    assert len(found) > 30  # the scan finds codes (it can fail)
    missing = {code: where for code, where in found.items() if code not in ApiErrorCode.__members__}
    assert missing == {}, f"add these to resolvers/error_catalogue.py: {missing}"
    assert {c.value for c in ErrorCode} <= set(ApiErrorCode.__members__)


def test_the_docs_table_lists_every_code_with_its_status() -> None:
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", text, re.M))
    assert set(rows) == {c.value for c in ApiErrorCode}
    for code, entry in CATALOGUE.items():
        expected = str(entry.status) if entry.status is not None else "200 (in the body)"
        assert rows[code.value].strip() == expected, code
        assert entry.meaning in text, code


async def test_the_schema_serves_the_catalogue(api: Api, world: World) -> None:
    body = await api.gql(world.a, "resident", "{ errorCodes { code httpStatus meaning } }")
    served = {e["code"]: (e["httpStatus"], e["meaning"]) for e in body["data"]["errorCodes"]}
    assert served == {c.value: (e.status, e.meaning) for c, e in CATALOGUE.items()}
    sdl = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    enum = re.search(r"enum ApiErrorCode \{(.*?)\n\}", sdl, re.S)
    assert enum is not None
    assert set(re.findall(r"^\s+([A-Z_]+)$", enum.group(1), re.M)) == {c.value for c in ApiErrorCode}
