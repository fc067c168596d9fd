"""The seed primer's generational loop: evaluate, tournament-select, crossover, mutate, elitism.

Each generation after the first proposes ``P - elitism`` children; the ``elitism`` best of the
previous population are carried over unchanged (not re-proposed, not re-trained). A child is a
uniform crossover of two tournament winners with probability ``crossover_prob`` (then mutated
with probability ``mutation_rate``), else a mutation of one winner, so no child is a clone.
"""

from __future__ import annotations

from ..selection import elites, tournament
from .base import Child, Context, Member


class Evolution:
    name = "evolution"

    def children_count(self, population_size: int, elitism: int) -> int:
        return population_size - elitism

    def make_child(self, ctx: Context, attempt: int) -> Child:
        pop = ctx.population
        fit = [m.fitness for m in pop]
        p1 = tournament(ctx.rng, pop, fit, ctx.tournament_size)
        if len(pop) > 1 and ctx.rng.random() < ctx.crossover_prob:
            others = [m for m in pop if m.key != p1.key]
            p2 = tournament(ctx.rng, others, [m.fitness for m in others], ctx.tournament_size)
            mutate = attempt > 0 or ctx.rng.random() < ctx.mutation_rate
            return ctx.crossover(p1, p2, mutate)
        return ctx.mutate(p1)

    def survivors(
        self,
        population: list[Member],
        children: list[Member],
        population_size: int,
        elitism: int,
        objective: str,
    ) -> list[Member]:
        kept = elites(population, [m.fitness for m in population], elitism)
        return sorted(kept + children, key=lambda m: m.key)
