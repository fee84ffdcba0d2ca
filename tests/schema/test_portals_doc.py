"""Every operation in docs/portals.md parses and validates against the committed schema."""

from __future__ import annotations

import re

import pytest
from graphql import build_schema, parse, validate

from tests.support.paths import ROOT

BLOCKS = re.findall(r"```graphql\n(.*?)```", (ROOT / "docs" / "portals.md").read_text(encoding="utf-8"), re.S)
SCHEMA = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))


def test_the_page_has_operations() -> None:
    assert len(BLOCKS) >= 12


@pytest.mark.parametrize("block", BLOCKS, ids=[re.search(r"(query|mutation|subscription) (\w+)", b).group(2)
                                               for b in BLOCKS])
def test_operation_is_valid(block: str) -> None:
    errors = validate(SCHEMA, parse(block))
    assert not errors, [e.message for e in errors]
