"""Which compiled reads go with their COMMIT (issue #21, compiled/plans.py ``quiet``): only a plan whose SQL holds
no marker — a marker is how a read asks for an audit entry (full reads of personal data, a data subject's report)
or for the resolvers ("$decline", "$rates") — so a read that must write after it never has its transaction ended
with it. A node lookup is quiet; a page read in full is not, and is audited as before (test_commit_with_audit)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compiled import quiet
from compiled.audit import DECLINE
from compiled.sql import lit
from tests.support.cases import report
from tests.support.compiled import compiled_statements
from tests.support.harness import Api, DbEnv, World

NODE = "query N($id: ID!) { node(id: $id) { id ... on Case { number title state } } }"
PERSONS = "query { persons(first: 50) { nodes { id name phone idCardNo } } }"


def _markers() -> set[str]:
    """Every "$name" the compiler's modules write or look for."""
    root = Path(__file__).resolve().parents[2] / "compiled"
    return {m for f in root.glob("*.py") for m in re.findall(r'"(\$[a-z_]+)"', f.read_text(encoding="utf-8"))}


def test_no_marker_is_quiet() -> None:
    markers = _markers()
    assert {"$pii", "$reads", "$report", "$decline", "$rates", "$hours"} <= markers, markers
    for marker in markers:
        literal = str(lit(marker).compile())
        assert not quiet(f"SELECT CAST(json_build_object({literal}, $1) AS TEXT)"), marker
        assert not quiet(f"SELECT CAST(json_build_object('a', '{{\"{marker}\" : true}}'::json) AS TEXT)"), marker
    assert not quiet(f"SELECT {DECLINE.compile()}")
    assert quiet("SELECT CAST(json_build_object('node', $1, 'n', $12) AS TEXT) WHERE x = $3")


async def test_a_node_lookup_is_quiet_a_full_read_is_not(api: Api, db: DbEnv, fresh: World) -> None:
    if not db.is_pg:
        pytest.skip("the compiled path is PostgreSQL's")
    tw = fresh.a
    case_id = (await report(api, tw, "resident", "B1", title="楼道灯不亮"))["id"]
    with compiled_statements() as made:
        node = await api.gql(tw, "grid1", NODE, {"id": case_id})
        persons = await api.gql(tw, "grid1", PERSONS)
    assert node["data"]["node"]["id"] == case_id and persons["data"]["persons"]["nodes"]
    assert len(made) == 2 and made[0] is not None and made[1] is not None
    assert quiet(made[0][0]) and not quiet(made[1][0])
