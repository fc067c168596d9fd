"""Stop hopeless candidates early: the median-stopping rule on learning curves.

Why: most of a search's compute goes to candidates that end below the population; after their
first epoch(s) most of them are already below what their peers had at the same epoch, and that
order rarely reverses (Golovin et al. 2017, Google Vizier's "median stopping rule"; Optuna's
``MedianPruner``). A candidate is stopped after epoch ``e`` (before its last) when its validation
accuracy is below the ``quantile`` of its peers' validation accuracy after epoch ``e``, once at
least ``min_peers`` peers reached epoch ``e``. Its result stays, scored at the epoch it reached:
below its peers by construction, so it is never the best, and the engine still learns from it.

Pure: the worker and ``bench/search_quality.py`` gather the peers and apply the same rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class EarlyStopRule:
    """Stop below the ``quantile`` of ``min_peers`` or more peers' accuracy at the same epoch."""

    quantile: float = 0.5
    min_peers: int = 5

    def __post_init__(self) -> None:
        if not 0.0 < self.quantile < 1.0:
            raise ValueError(f"quantile must be in (0, 1), got {self.quantile}")
        if self.min_peers < 1:
            raise ValueError(f"min_peers must be at least 1, got {self.min_peers}")


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by linear interpolation between order statistics (numpy's default)."""
    if not values:
        raise ValueError("quantile of no values")
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def stop_threshold(peers: Sequence[float], rule: EarlyStopRule) -> float | None:
    """The accuracy a candidate must reach at this epoch to go on; None while too few peers."""
    finite = [p for p in peers if math.isfinite(p)]
    if len(finite) < rule.min_peers:
        return None
    return quantile(finite, rule.quantile)


def is_hopeless(
    value: float, epoch: int, epochs: int, peers: Sequence[float], rule: EarlyStopRule
) -> bool:
    """Whether a candidate at ``value`` after ``epoch`` of ``epochs`` should stop now.

    Never after the last epoch (nothing left to save); a non-finite value is hopeless once the
    rule applies."""
    if epoch >= epochs:
        return False
    threshold = stop_threshold(peers, rule)
    if threshold is None:
        return False
    return not math.isfinite(value) or value < threshold
