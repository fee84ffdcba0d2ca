"""bench.compare's two figures that a busy or slow machine leaves alone (eleventh session, op 4's two modes): the
PostgreSQL buffers a request touched, and a CPU probe taken before each run — both in the printed table."""

from __future__ import annotations

from types import SimpleNamespace

from bench.compare import cpu_probe_ms, table


def _run(rps: float, blocks: float, probe: float) -> dict[str, float]:
    return {"rps": rps, "p50_us": 1000, "p90_us": 2000, "p99_us": 3000, "cpu_ms_per_req": 0.5,
            "pg_cpu_ms_per_req": 0.6, "pg_blocks_per_req": blocks, "cpu_probe_ms": probe}


def test_the_table_prints_blocks_and_probe_per_server_and_operation() -> None:
    results = {"gongzhi": {"op4_report_case": _run(1000.0, 131.4, 52.0)},
               "postgraphile": {"op4_report_case": _run(700.0, 210.6, 55.0)}}
    args = SimpleNamespace(scale=0.1, concurrency=8, duration=20, ops=["op4_report_case"])
    machine = {"nproc": "2", "cpu": "x", "postgresql": "15", "python": "3.11", "date": "d", "loadavg": "0 0"}
    text = table(results, args, machine, "note", {})
    line = next(ln for ln in text.splitlines() if ln.startswith("PostgreSQL buffers touched per request"))
    assert "gongzhi op4 131 / 52" in line
    assert "PostGraphile op4 211 / 55" in line


def test_the_table_has_no_probe_line_for_runs_without_the_figures() -> None:
    run = _run(1000.0, 1.0, 1.0)
    del run["pg_blocks_per_req"]
    args = SimpleNamespace(scale=0.1, concurrency=8, duration=20, ops=["op4_report_case"])
    machine = {"nproc": "2", "cpu": "x", "postgresql": "15", "python": "3.11", "date": "d", "loadavg": "0 0"}
    assert "buffers touched" not in table({"gongzhi": {"op4_report_case": run}}, args, machine, "note", {})


def test_the_probe_measures_cpu_time() -> None:
    first = cpu_probe_ms()
    assert 0 < first < 10_000
