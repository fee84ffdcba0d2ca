"""The Civil Code's arithmetic for owners' common decisions (民法典 第二百七十八条), exactly.

Participation: owners holding at least two thirds of the exclusive floor area AND at least two
thirds of the owners take part. Approval, counted among those taking part: at least three quarters
of the area AND of the owners for raising maintenance funds, rebuilding, and changing the use of
common parts (items 6–8); more than half of both for every other matter (items 1–5, 9), which
includes *using* the maintenance fund (item 5). "以上" includes the bound; "过半数" is strictly more.

All figures are Decimal / Fraction: no float ever decides a vote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from models import MAJOR_MATTERS, Choice, VoteMatter

PARTICIPATION = Fraction(2, 3)
MAJOR = Fraction(3, 4)
SIMPLE = Fraction(1, 2)


@dataclass(frozen=True)
class Tally:
    matter: str
    rule: str  # "three_quarters" (≥ 3/4) or "more_than_half" (> 1/2)
    electorate_owners: int
    electorate_area: Decimal
    participating_owners: int
    participating_area: Decimal
    yes_owners: int
    yes_area: Decimal
    no_owners: int
    no_area: Decimal
    abstain_owners: int
    abstain_area: Decimal
    participation_area_met: bool
    participation_owners_met: bool
    approval_area_met: bool
    approval_owners_met: bool
    passed: bool

    def to_json(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tally:
        dec = {"electorate_area", "participating_area", "yes_area", "no_area", "abstain_area"}
        values: dict[str, Any] = {k: Decimal(v) if k in dec else v for k, v in data.items()}
        return cls(**values)


def _at_least(part: Decimal | int, whole: Decimal | int, ratio: Fraction) -> bool:
    return whole > 0 and Fraction(part) >= ratio * Fraction(whole)


def _more_than(part: Decimal | int, whole: Decimal | int, ratio: Fraction) -> bool:
    return whole > 0 and Fraction(part) > ratio * Fraction(whole)


def tally(matter: VoteMatter, ballots: Iterable[tuple[Decimal, Choice | None]]) -> Tally:
    """``ballots``: one (floor area, choice or None when not cast) per owner household of the electorate."""
    owners = 0
    area = Decimal(0)
    counts = {c: 0 for c in Choice}
    areas = {c: Decimal(0) for c in Choice}
    for floor_area, choice in ballots:
        owners += 1
        area += floor_area
        if choice is not None:
            counts[choice] += 1
            areas[choice] += floor_area
    p_owners = sum(counts.values())
    p_area = sum(areas.values(), Decimal(0))
    major = matter in MAJOR_MATTERS
    approve: Callable[[Decimal | int, Decimal | int], bool] = (
        (lambda part, whole: _at_least(part, whole, MAJOR)) if major else (
            lambda part, whole: _more_than(part, whole, SIMPLE)))
    pa = _at_least(p_area, area, PARTICIPATION)
    po = _at_least(p_owners, owners, PARTICIPATION)
    aa = approve(areas[Choice.YES], p_area)
    ao = approve(counts[Choice.YES], p_owners)
    return Tally(
        matter=matter.value, rule="three_quarters" if major else "more_than_half",
        electorate_owners=owners, electorate_area=area,
        participating_owners=p_owners, participating_area=p_area,
        yes_owners=counts[Choice.YES], yes_area=areas[Choice.YES],
        no_owners=counts[Choice.NO], no_area=areas[Choice.NO],
        abstain_owners=counts[Choice.ABSTAIN], abstain_area=areas[Choice.ABSTAIN],
        participation_area_met=pa, participation_owners_met=po,
        approval_area_met=aa, approval_owners_met=ao,
        passed=pa and po and aa and ao,
    )
