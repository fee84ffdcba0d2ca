"""Civil Code art. 278 arithmetic at its edges, with exact figures (no floats anywhere)."""

from __future__ import annotations

from decimal import Decimal as D

from models import Choice, VoteMatter
from resolvers.deliberation.tally import tally

Y, N, A = Choice.YES, Choice.NO, Choice.ABSTAIN


def test_participation_misses_two_thirds_of_area_by_one_square_metre() -> None:
    # Total 303 m²: two thirds is 202 m². Two of three owners (owners' participation met) hold 201 m².
    t = tally(VoteMatter.OTHER, [(D("100"), Y), (D("101"), Y), (D("102"), None)])
    assert (t.electorate_area, t.participating_area) == (D("303"), D("201"))
    assert t.participation_owners_met and not t.participation_area_met
    assert t.approval_area_met and t.approval_owners_met
    assert not t.passed
    # One square metre more for the participants (total 303, participating 202): passes.
    t = tally(VoteMatter.OTHER, [(D("100"), Y), (D("102"), Y), (D("101"), None)])
    assert t.participating_area == D("202") and t.participation_area_met and t.passed


def test_participation_by_owners_exactly_two_thirds_and_one_short() -> None:
    six = [(D("10"), Y)] * 4 + [(D("10"), None)] * 2  # 4 of 6 = exactly 2/3
    assert tally(VoteMatter.OTHER, six).participation_owners_met
    seven = [(D("10"), Y)] * 4 + [(D("10"), None)] * 3  # 4 of 7 < 2/3
    t = tally(VoteMatter.OTHER, seven)
    assert not t.participation_owners_met and not t.passed


def test_major_matter_exactly_three_quarters_passes() -> None:
    # Four owners take part, 400 m²; yes: 3 owners with 300 m² = exactly 3/4 of both.
    ballots = [(D("100"), Y), (D("100"), Y), (D("100"), Y), (D("100"), N)]
    for matter in (VoteMatter.CHANGE_COMMON_PARTS, VoteMatter.REBUILD, VoteMatter.RAISE_MAINTENANCE_FUND):
        t = tally(matter, ballots)
        assert t.rule == "three_quarters"
        assert (t.yes_owners, t.yes_area, t.participating_area) == (3, D("300"), D("400"))
        assert t.approval_area_met and t.approval_owners_met and t.passed


def test_major_matter_a_hundredth_below_three_quarters_fails() -> None:
    # yes 299.99 of 399.99? no: keep the participants at 400.00 and move 0.01 m² from yes to no.
    ballots = [(D("100"), Y), (D("100"), Y), (D("99.99"), Y), (D("100.01"), N)]
    t = tally(VoteMatter.CHANGE_COMMON_PARTS, ballots)
    assert t.yes_area == D("299.99") and t.participating_area == D("400.00")
    assert t.approval_owners_met and not t.approval_area_met and not t.passed


def test_abstentions_take_part_but_do_not_approve() -> None:
    ballots = [(D("100"), Y), (D("100"), Y), (D("100"), A), (D("100"), N)]  # yes 2 of 4 = exactly half
    t = tally(VoteMatter.OTHER, ballots)
    assert t.rule == "more_than_half"
    assert t.participation_area_met and t.participation_owners_met
    assert not t.approval_owners_met and not t.approval_area_met and not t.passed  # half is not "more than half"
    t = tally(VoteMatter.OTHER, [(D("100.01"), Y), (D("100"), Y), (D("100"), A), (D("100"), N)])
    assert t.approval_area_met and not t.approval_owners_met and not t.passed


def test_use_of_maintenance_fund_is_a_simple_majority_matter() -> None:
    # Civil Code art. 278(5) (使用维修资金): more than half; three of four owners is enough either way,
    # but two yes against one no passes here and would fail a 3/4 rule.
    ballots = [(D("100"), Y), (D("100"), Y), (D("100"), N)]
    assert tally(VoteMatter.USE_MAINTENANCE_FUND, ballots).passed
    assert not tally(VoteMatter.RAISE_MAINTENANCE_FUND, ballots).passed


def test_nobody_votes() -> None:
    t = tally(VoteMatter.OTHER, [(D("80"), None), (D("90"), None)])
    assert t.participating_owners == 0 and not t.passed and not t.approval_area_met
