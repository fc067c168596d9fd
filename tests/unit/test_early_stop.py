"""The median-stopping rule (backend.search.early_stop): when a candidate is hopeless."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.search.early_stop import EarlyStopRule, is_hopeless, quantile, stop_threshold

accuracies = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
RULE = EarlyStopRule(quantile=0.5, min_peers=3)


@given(st.lists(accuracies, min_size=1, max_size=50), st.floats(min_value=0.0, max_value=1.0))
def test_quantile_matches_numpy_linear_interpolation(values: list[float], q: float) -> None:
    assert math.isclose(quantile(values, q), float(np.quantile(values, q)), abs_tol=1e-12)


def test_stops_below_the_median_of_peers_at_the_same_epoch() -> None:
    peers = [0.80, 0.85, 0.90]
    assert is_hopeless(0.84, 1, 2, peers, RULE)
    assert not is_hopeless(0.85, 1, 2, peers, RULE)  # at the median: goes on
    assert not is_hopeless(0.95, 1, 2, peers, RULE)


def test_never_stops_after_the_last_epoch_or_with_too_few_peers() -> None:
    assert not is_hopeless(0.10, 2, 2, [0.80, 0.85, 0.90], RULE)  # nothing left to save
    assert not is_hopeless(0.10, 1, 2, [0.80, 0.85], RULE)  # 2 peers < min_peers 3
    assert stop_threshold([0.8, float("nan"), 0.9], RULE) is None  # NaN is no peer


def test_a_non_finite_value_is_hopeless_once_the_rule_applies() -> None:
    assert is_hopeless(float("nan"), 1, 3, [0.5, 0.6, 0.7], RULE)


@given(
    st.lists(accuracies, min_size=3, max_size=40),
    accuracies,
    st.floats(min_value=0.05, max_value=0.95),
)
def test_the_share_stopped_among_peers_is_at_most_the_quantile(
    peers: list[float], value: float, q: float
) -> None:
    """Applied to the peers themselves, no more than a q share (+1 for ties) is below the
    threshold; a higher value than one that goes on also goes on (monotone)."""
    rule = EarlyStopRule(quantile=q, min_peers=3)
    stopped = sum(is_hopeless(p, 1, 2, peers, rule) for p in peers)
    assert stopped <= math.ceil(q * (len(peers) - 1)) + 1
    if not is_hopeless(value, 1, 2, peers, rule):
        assert not is_hopeless(min(1.0, value + 0.01), 1, 2, peers, rule)


@pytest.mark.parametrize("q, peers", [(0.0, 5), (1.0, 5), (0.5, 0)])
def test_rule_refuses_meaningless_settings(q: float, peers: int) -> None:
    with pytest.raises(ValueError):
        EarlyStopRule(quantile=q, min_peers=peers)
