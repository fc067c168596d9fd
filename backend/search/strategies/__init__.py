"""Search strategies: each decides parents and operators; the engine owns state and rng."""

from __future__ import annotations

from .aging import Aging
from .base import Child, Context, Member, Strategy
from .evolution import Evolution
from .nsga2 import NSGA2
from .random_search import RandomSearch

STRATEGIES: dict[str, type[Strategy]] = {
    "evolution": Evolution,
    "aging": Aging,
    "random": RandomSearch,
    "nsga2": NSGA2,
}

__all__ = [
    "NSGA2",
    "STRATEGIES",
    "Aging",
    "Child",
    "Context",
    "Evolution",
    "Member",
    "RandomSearch",
    "Strategy",
]
