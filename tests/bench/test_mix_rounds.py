"""bench.mix --rounds (bench/mix_rounds.py, issue #21): each field measured beside the node reference, back to
back, the order swapped each round, its ratio the median of its rounds' — without a server: a fake measure plays a
machine whose speed moves from one run to the next."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bench.mix import table
from bench.mix_rounds import REFERENCE, field_line, order, query_rounds, summary


def _run(op: str, rps: float, cpu: float = 1.0) -> dict[str, Any]:
    return {"op": op, "rps": rps, "cpu_ms": cpu, "p50": 1.0, "p99": 2.0, "pg_ms": 0.5, "driver_ms": 0.1, "rows": 1,
            "requests": int(rps), "actor": "a", "kind": "query", "c": 4, "new_backends": 0}


def test_the_order_swaps_each_round() -> None:
    assert [order("me", n) for n in range(3)] == [("me", REFERENCE), (REFERENCE, "me"), ("me", REFERENCE)]


def test_a_fields_ratio_is_the_median_of_its_back_to_back_pairs() -> None:
    rounds = [{"me": _run("me", 600), REFERENCE: _run(REFERENCE, 1000)},
              {"me": _run("me", 300), REFERENCE: _run(REFERENCE, 500)},  # a slow minute: both halves slow
              {"me": _run("me", 900), REFERENCE: _run(REFERENCE, 1000)}]
    line = field_line("me", rounds)
    assert line["ratios"] == [0.6, 0.6, 0.9]
    assert line["ratio"] == 0.6
    assert line["rps"] == 600  # the median round, a measured run (not a mean of the three)
    assert line["node_rps"] == [1000, 500, 1000]


def test_rounds_measure_each_field_beside_the_reference_and_a_slow_minute_does_not_move_the_ratio() -> None:
    calls: list[str] = []
    speed = iter([1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0, 0.4, 0.4, 1.0, 1.0])  # the machine's, per run
    true = {REFERENCE: 1000.0, "me": 800.0, "households": 400.0}
    analyzed: list[str] = []

    async def measure(name: str) -> dict[str, Any]:
        calls.append(name)
        return _run(name, true[name] * next(speed))

    async def before(name: str) -> None:
        analyzed.append(name)

    shown: list[str] = []
    out = asyncio.run(query_rounds([REFERENCE, "me", "households"], 3, measure, before, shown.append))
    assert calls == ["me", REFERENCE, REFERENCE, "me", "me", REFERENCE,
                     "households", REFERENCE, REFERENCE, "households", "households", REFERENCE]
    assert analyzed == ["me", "households"]
    lines = {r["op"]: r for r in out}
    assert lines["me"]["ratio"] == 0.8 and lines["households"]["ratio"] == 0.4
    assert out[0]["op"] == REFERENCE and out[0]["ratio"] == 1.0
    assert any("median 0.80" in t for t in shown)
    # a plain run's one reference line, measured in the slow minute, would have read `me` at 1.6×
    text = summary(out)
    assert "median **0.60×**" in text and "slowest households **0.40×**" in text and "households 0.40" in text


def test_the_table_prints_the_rounds_ratio_and_each_rounds() -> None:
    rounds = [{"me": _run("me", 600), REFERENCE: _run(REFERENCE, 1000)},
              {"me": _run("me", 300), REFERENCE: _run(REFERENCE, 500)}]
    ref = _run(REFERENCE, 700) | {"ratio": 1.0, "ratios": []}
    args = argparse.Namespace(mutation_concurrency=[4], concurrency=4, duration=1.5, rounds=2, mutations=0,
                              mutation_warmup=0, driver="raw")
    text = table([ref, field_line("me", rounds)], args, "note")
    me = next(line for line in text.splitlines() if line.startswith("| me "))
    assert "| 0.60 (0.60 0.60) |" in me
    assert "2 rounds beside node" in text
    assert "median **0.60×**" in text
