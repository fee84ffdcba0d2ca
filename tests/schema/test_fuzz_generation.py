"""The fuzz tests' generation (tests/schema/test_fuzz.py) through tests/support/fuzz.py's memo: the same
documents as the library's own strategies draw, at less cost (CI time, issue #21)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from tests.schema.test_fuzz import PII_ROOTS, SCALARS, SDL
from tests.support import fuzz


def test_the_generation_draws_the_same_queries() -> None:
    """tests/support/fuzz.py changes what generating costs, not what is generated: with its memo and
    without, the derandomized strategies (positive, toward personal data, negative, mutations) draw the
    same documents, as many; and the library's sampler does go through the memo."""
    ids = st.sampled_from(["not-an-id", "QXJlYTox", "UGVyc29uOjE="]).map(nodes.String)
    scalars = {**SCALARS, "ID": ids}

    def drawn() -> list[str]:
        out: list[str] = []
        for strategy, n in ((queries(SDL, fields=PII_ROOTS, custom_scalars=scalars), 20),
                            (queries(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE), 10),
                            (mutations(SDL, custom_scalars=scalars), 10)):
            @settings(max_examples=n, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
            @given(query=strategy)
            def run(query: str) -> None:
                out.append(query)

            run()
        return out

    assert fuzz.installed()
    fuzz.WEIGHTED.clear()
    with_memo = drawn()
    assert fuzz.WEIGHTED, "the sampler drew its booleans elsewhere: the memo is not in the library's path"
    fuzz.uninstall()
    try:
        without = drawn()
    finally:
        fuzz.install()
    assert len(with_memo) == 40 and with_memo == without
