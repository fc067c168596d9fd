"""The median-stopping rule and the chance cut (backend.search.early_stop): when a candidate
is hopeless."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.search.early_stop import (
    EarlyStopRule,
    chance_floor,
    chance_for,
    is_hopeless,
    quantile,
    stop_threshold,
)

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


@pytest.mark.parametrize(
    "q, peers, chance",
    [(0.0, 5, None), (1.0, 5, None), (0.5, 0, None), (0.5, 5, 1.0), (0.5, 5, -0.1)],
)
def test_rule_refuses_meaningless_settings(q: float, peers: int, chance: float | None) -> None:
    with pytest.raises(ValueError):
        EarlyStopRule(quantile=q, min_peers=peers, chance=chance)


def test_no_better_than_guessing_stops_before_any_peer_exists() -> None:
    ten = EarlyStopRule(quantile=0.5, min_peers=5, chance=0.1)
    assert chance_for(10) == 0.1 and chance_for(2) == 0.5
    assert math.isclose(chance_floor(0.1), 0.145)
    assert is_hopeless(0.0926, 1, 2, [], ten)  # a sigmoid stack stuck at chance
    assert is_hopeless(0.145, 1, 2, [], ten)
    assert not is_hopeless(0.146, 1, 2, [], ten)  # learning: waits for peers
    assert is_hopeless(float("nan"), 1, 2, [], ten)
    assert not is_hopeless(0.0926, 2, 2, [], ten)  # last epoch: nothing left to save
    assert not is_hopeless(0.0926, 1, 2, [], RULE)  # no chance given: peers only
    two = EarlyStopRule(chance=0.5)  # binary: 0.525, not a multiple of chance (0.75)
    assert is_hopeless(0.52, 1, 3, [], two) and not is_hopeless(0.6, 1, 3, [], two)


@given(st.lists(accuracies, max_size=20), accuracies, st.integers(2, 100))
def test_the_chance_cut_only_adds_stops(peers: list[float], value: float, classes: int) -> None:
    """With chance, whatever the median rule stops still stops, and nothing above the floor
    is stopped that the median rule would let go on."""
    with_chance = EarlyStopRule(quantile=0.5, min_peers=3, chance=1 / classes)
    if is_hopeless(value, 1, 2, peers, RULE):
        assert is_hopeless(value, 1, 2, peers, with_chance)
    if value > chance_floor(1 / classes):
        assert is_hopeless(value, 1, 2, peers, with_chance) == is_hopeless(value, 1, 2, peers, RULE)
