"""Random search: every candidate sampled afresh from the space (the baseline to beat)."""

from __future__ import annotations

from .base import Child, Context, Member


class RandomSearch:
    name = "random"

    def children_count(self, population_size: int, elitism: int) -> int:
        return population_size

    def make_child(self, ctx: Context, attempt: int) -> Child:
        return ctx.random()

    def survivors(
        self,
        population: list[Member],
        children: list[Member],
        population_size: int,
        elitism: int,
        objective: str,
    ) -> list[Member]:
        return children
