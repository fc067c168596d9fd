"""Stop hopeless candidates early: the median-stopping rule on learning curves.

Why: most of a search's compute goes to candidates that end below the population; after their
first epoch(s) most of them are already below what their peers had at the same epoch, and that
order rarely reverses (Golovin et al. 2017, Google Vizier's "median stopping rule"; Optuna's
``MedianPruner``). A candidate is stopped after epoch ``e`` (before its last) when its validation
accuracy is below the ``quantile`` of its peers' validation accuracy after epoch ``e``, once at
least ``min_peers`` peers reached epoch ``e``. Its result stays, scored at the epoch it reached:
below its peers by construction, so it is never the best, and the engine still learns from it.

With ``chance`` (the accuracy of guessing, 1 / classes) a candidate no better than guessing after
an epoch before its last also stops, peers or not: a net that learnt nothing in a whole epoch (a
saturated sigmoid stack, dead ReLUs) does not catch up, and on a slow machine such genomes were
the slowest of their search (46 s an epoch for 4.3 MFLOPs) while the median rule still waited
for its peers.

Pure: the worker and ``bench/search_quality.py`` gather the peers and apply the same rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Share of the way from chance to a perfect score a candidate must be past after an epoch
#: (10 classes: above 0.145; 2 classes: above 0.525).
CHANCE_MARGIN = 0.05


@dataclass(frozen=True)
class EarlyStopRule:
    """Stop below the ``quantile`` of ``min_peers`` or more peers' accuracy at the same epoch,
    or (with ``chance``) at no better than guessing."""

    quantile: float = 0.5
    min_peers: int = 5
    chance: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.quantile < 1.0:
            raise ValueError(f"quantile must be in (0, 1), got {self.quantile}")
        if self.min_peers < 1:
            raise ValueError(f"min_peers must be at least 1, got {self.min_peers}")
        if self.chance is not None and not 0.0 <= self.chance < 1.0:
            raise ValueError(f"chance must be in [0, 1), got {self.chance}")


def chance_for(num_classes: int) -> float:
    """The accuracy of guessing among ``num_classes`` (the ``chance`` of a rule)."""
    return 1.0 / max(2, num_classes)


def chance_floor(chance: float) -> float:
    """The accuracy a candidate must be above after an epoch to count as learning at all."""
    return chance + CHANCE_MARGIN * (1.0 - chance)


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
    if rule.chance is not None and not value > chance_floor(rule.chance):
        return True  # no better than guessing (or not a number): no peers needed
    threshold = stop_threshold(peers, rule)
    if threshold is None:
        return False
    return not math.isfinite(value) or value < threshold
