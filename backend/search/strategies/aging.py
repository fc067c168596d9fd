"""Regularized (aging) evolution, Real et al. 2019.

The population is a queue of the ``P`` most recent individuals. Each child mutates the best of
``S = tournament_size`` members sampled from the queue; the oldest member dies when a child
joins. Batched: one generation is ``P`` children drawn from the queue as it stood at ``ask``.
"""

from __future__ import annotations

from ..selection import tournament
from .base import Child, Context, Member


class Aging:
    name = "aging"

    def children_count(self, population_size: int, elitism: int) -> int:
        return population_size

    def make_child(self, ctx: Context, attempt: int) -> Child:
        pop = ctx.population
        parent = tournament(ctx.rng, pop, [m.fitness for m in pop], ctx.tournament_size)
        return ctx.mutate(parent)

    def survivors(
        self,
        population: list[Member],
        children: list[Member],
        population_size: int,
        elitism: int,
        objective: str,
    ) -> list[Member]:
        queue = sorted(population + children, key=lambda m: m.key)  # oldest first
        return queue[-population_size:]
