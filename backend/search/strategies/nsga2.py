"""NSGA-II (Deb et al. 2002): maximise validation accuracy, minimise params or FLOPs.

Parents are picked by tournament on (front rank, crowding distance); survivors are the best
``P`` of parents + children by non-dominated sorting, the last front cut by crowding distance.
A failed candidate gets the worst value on both objectives, so any finished one dominates it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import Child, Context, Member

Point = tuple[float, float]  # both minimised


def objectives(m: Member, objective: str) -> Point:
    """``(-accuracy, cost)``; failures are ``(inf, inf)``."""
    if m.score == float("-inf"):
        return (float("inf"), float("inf"))
    return (-m.score, float(m.params if objective == "params" else m.flops))


def dominates(a: Point, b: Point) -> bool:
    return a[0] <= b[0] and a[1] <= b[1] and a != b


def non_dominated_sort(points: Sequence[Point]) -> list[list[int]]:
    """Fronts of indices, best first (the O(MN^2) fast sort)."""
    n = len(points)
    dominated_by: list[list[int]] = [[] for _ in range(n)]
    count = [0] * n
    for i in range(n):
        for j in range(i + 1, n):
            if dominates(points[i], points[j]):
                dominated_by[i].append(j)
                count[j] += 1
            elif dominates(points[j], points[i]):
                dominated_by[j].append(i)
                count[i] += 1
    fronts: list[list[int]] = []
    current = [i for i in range(n) if count[i] == 0]
    while current:
        fronts.append(current)
        nxt = []
        for i in current:
            for j in dominated_by[i]:
                count[j] -= 1
                if count[j] == 0:
                    nxt.append(j)
        current = sorted(nxt)
    return fronts


def crowding_distance(points: Sequence[Point], front: Sequence[int]) -> dict[int, float]:
    """Crowding distance of each index in ``front`` (boundary points are infinite)."""
    dist = {i: 0.0 for i in front}
    if len(front) <= 2:
        return {i: float("inf") for i in front}
    for k in range(2):
        order = sorted(front, key=lambda i: (points[i][k], i))
        lo, hi = points[order[0]][k], points[order[-1]][k]
        dist[order[0]] = dist[order[-1]] = float("inf")
        span = hi - lo
        if span == 0 or span != span or span == float("inf"):
            continue
        for a, i, b in zip(order, order[1:], order[2:], strict=False):
            dist[i] += (points[b][k] - points[a][k]) / span
    return dist


def rank_and_crowding(points: Sequence[Point]) -> tuple[list[int], list[float]]:
    rank = [0] * len(points)
    crowd = [0.0] * len(points)
    for r, front in enumerate(non_dominated_sort(points)):
        for i, d in crowding_distance(points, front).items():
            rank[i], crowd[i] = r, d
    return rank, crowd


def pareto_indices(points: Sequence[Point]) -> list[int]:
    """Indices of the non-dominated points."""
    fronts = non_dominated_sort(points)
    return sorted(fronts[0]) if fronts else []


class NSGA2:
    name = "nsga2"

    def children_count(self, population_size: int, elitism: int) -> int:
        return population_size

    def _pick(self, ctx: Context, rank: list[int], crowd: list[float]) -> Member:
        pop = ctx.population
        k = min(max(ctx.tournament_size, 2), len(pop))
        drawn = sorted(int(i) for i in ctx.rng.choice(len(pop), size=k, replace=False))
        return pop[min(drawn, key=lambda i: (rank[i], -crowd[i], i))]

    def make_child(self, ctx: Context, attempt: int) -> Child:
        pop = ctx.population
        rank, crowd = rank_and_crowding([objectives(m, ctx.objective) for m in pop])
        p1 = self._pick(ctx, rank, crowd)
        if len(pop) > 1 and ctx.rng.random() < ctx.crossover_prob:
            p2 = self._pick(ctx, rank, crowd)
            for _ in range(3):
                if p2.key != p1.key:
                    break
                p2 = self._pick(ctx, rank, crowd)
            if p2.key != p1.key:
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
        pool = sorted(population + children, key=lambda m: m.key)
        points = [objectives(m, objective) for m in pool]
        chosen: list[int] = []
        for front in non_dominated_sort(points):
            if len(chosen) + len(front) <= population_size:
                chosen += front
                continue
            dist = crowding_distance(points, front)
            rest = sorted(front, key=lambda i: (-dist[i], i))
            chosen += rest[: population_size - len(chosen)]
            break
        return [pool[i] for i in sorted(chosen)]
