"""bench.compare --rounds: each operation's ratio is the median of back-to-back pairs, and the table's figures are
each server's median round (bench/compare_rounds.py)."""

from __future__ import annotations

from bench.compare_rounds import median_run, ratios, round_lines


def _round(g: float, p: float) -> dict[str, dict[str, dict[str, float]]]:
    return {"gongzhi": {"op4_report_case": {"rps": g}}, "postgraphile": {"op4_report_case": {"rps": p}}}


def test_the_median_round_is_a_measured_run() -> None:
    runs = [{"rps": 600.0, "p99_us": 1}, {"rps": 777.0, "p99_us": 2}, {"rps": 595.0, "p99_us": 3}]
    assert median_run(runs) == {"rps": 600.0, "p99_us": 1}
    assert median_run(runs[:2])["rps"] == 600.0  # of two, the lower


def test_each_ratio_is_of_one_rounds_pair_and_the_headline_their_median() -> None:
    rounds = [_round(600, 400), _round(900, 500), _round(700, 500)]
    assert ratios(rounds, "op4_report_case") == [1.5, 1.8, 1.4]
    text = "\n".join(round_lines({"rounds": rounds}, ["op4_report_case"]))
    assert "600/400, 900/500, 700/500 req/s" in text
    assert "**median 1.50×**" in text  # not the ratio of the median rounds (700/500 = 1.40)


def test_a_single_run_has_no_round_lines() -> None:
    assert round_lines({}, ["op4_report_case"]) == []
