"""bench.inproc drives bench.compare's five operations by their short names (op1 … op5), as the compare's
driver sends them (issue #21: the p99 study ran op1 and op3 on copies of both scales' databases)."""

from __future__ import annotations

from bench.fixture import OPS
from bench.inproc import compare_op
from bench.mix_ops import QUERIES


def test_each_compare_operation_by_its_short_name() -> None:
    assert [compare_op(f"op{n}") for n in range(1, 6)] == list(OPS)
    assert compare_op("op1") == "op1_case_list" and compare_op("op3") == "op3_dashboard"


def test_other_names_are_not_compare_operations() -> None:
    for name in ("op", "op6", "op1_case_list", "reportCase", "caseLoop", *QUERIES):
        assert compare_op(name) is None, name
