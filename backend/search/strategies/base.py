"""What a strategy sees and returns: frozen population snapshots in, child recipes out.

Strategies never touch storage or the rng's persistence (the engine does, like optuna's
samplers); they only decide parents and operators. A strategy is two plug-ins:
``make_child`` (one new candidate of generation >= 1) and ``survivors`` (who stays after tell).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..arch import Arch, decode, encode
from ..crossover import crossover_arch
from ..mutation import mutate_arch
from ..sampling import random_genome
from ..selection import score
from ..space import SearchSpace

Key = tuple[int, int]  # (generation, index)


@dataclass(frozen=True)
class Member:
    """An evaluated individual as strategies see it."""

    key: Key
    genome: dict[str, Any]
    fitness: float | None
    params: int
    flops: int

    @property
    def score(self) -> float:
        return score(self.fitness)


@dataclass(frozen=True)
class Child:
    """A candidate recipe: the genome plus its lineage and a human-readable description."""

    genome: dict[str, Any]
    parents: tuple[Key, ...]
    origin: str  # "random" | "baseline" | "crossover" | "mutation" | "crossover+mutation"
    detail: str


@dataclass
class Context:
    """Everything one ``ask`` may use: config knobs, the rng, the current population."""

    space: SearchSpace
    input_shape: tuple[int, int, int]
    rng: np.random.Generator
    population: list[Member]
    crossover_prob: float
    mutation_rate: float
    uniform_p: float
    tournament_size: int
    elitism: int
    objective: str
    _arch: dict[Key, Arch] = field(default_factory=dict)

    def arch(self, m: Member) -> Arch:
        if m.key not in self._arch:
            self._arch[m.key] = decode(m.genome)
        return self._arch[m.key]

    def random(self) -> Child:
        genome, detail = random_genome(self.rng, self.space, self.input_shape)
        return Child(genome, (), "random", detail)

    def mutate(self, m: Member) -> Child:
        arch, detail = mutate_arch(self.arch(m), self.space, self.input_shape, self.rng)
        return Child(encode(arch), (m.key,), "mutation", detail)

    def crossover(self, a: Member, b: Member, mutate: bool) -> Child:
        arch, detail = crossover_arch(
            self.arch(a), self.arch(b), self.space, self.input_shape, self.rng, self.uniform_p
        )
        origin = "crossover"
        if mutate:
            arch, more = mutate_arch(arch, self.space, self.input_shape, self.rng)
            detail, origin = f"{detail}; {more}", "crossover+mutation"
        return Child(encode(arch), (a.key, b.key), origin, detail)


class Strategy(Protocol):
    name: str

    def children_count(self, population_size: int, elitism: int) -> int:
        """New candidates proposed per generation after the first."""
        ...

    def make_child(self, ctx: Context, attempt: int) -> Child:
        """One candidate; ``attempt`` > 0 when earlier tries were duplicates or over budget."""
        ...

    def survivors(
        self,
        ctx_population: list[Member],
        children: list[Member],
        population_size: int,
        elitism: int,
        objective: str,
    ) -> list[Member]:
        """The population after a generation is told."""
        ...
