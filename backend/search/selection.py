"""Parent and survivor selection over ``(key, fitness)`` pairs.

A failed candidate (fitness None) ranks below every finished one. Ties break by key order, so
selection is deterministic given the rng.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

K = TypeVar("K")


def score(fitness: float | None) -> float:
    """Fitness for ranking: failures (None, NaN) rank last."""
    if fitness is None or fitness != fitness:
        return float("-inf")
    return float(fitness)


def tournament(
    rng: np.random.Generator, keys: Sequence[K], fitness: Sequence[float | None], size: int
) -> K:
    """The fittest of ``size`` members drawn without replacement (all of them if fewer)."""
    if not keys:
        raise ValueError("tournament over an empty population")
    k = min(size, len(keys))
    drawn = sorted(int(i) for i in rng.choice(len(keys), size=k, replace=False))
    best = max(drawn, key=lambda i: (score(fitness[i]), -i))
    return keys[best]


def elites(keys: Sequence[K], fitness: Sequence[float | None], n: int) -> list[K]:
    """The ``n`` fittest keys, best first (earlier keys win ties)."""
    order = sorted(range(len(keys)), key=lambda i: (-score(fitness[i]), i))
    return [keys[i] for i in order[: max(n, 0)]]
