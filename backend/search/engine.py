"""The ask/tell interface the worker drives, restart-safe.

The worker stores ``state_dict()`` next to each generation's proposals. ``Engine(config,
state)`` rebuilt from any stored state continues exactly as an uninterrupted run would: all
randomness comes from one PCG64 generator whose state is part of the stored state, and ``tell``
is deterministic. ``ask`` is idempotent: asking again before ``tell`` returns the same proposals.

Knobs (``EngineConfig``):
- ``crossover_prob``: chance a child is a crossover of two parents (evolution, nsga2).
- ``mutation_rate``: chance a crossed child is also mutated; children that are not crossed are
  always mutated, so no child is a clone of its parent.
- ``uniform_p``: the seed's per-gene probability of taking parent 1 in uniform crossover.
- ``tournament_size``: tournament size (aging: the sample size S).
- ``elitism``: best individuals carried unchanged into the next generation (evolution).
- ``objective``: nsga2's second objective, ``"params"`` or ``"flops"`` (minimised).
- ``include_baseline``: the seed CNN is candidate 0 of generation 0 when it fits: feasible for
  the input, inside the space's choices (so every proposal respects the space; e.g. not in
  ``tiny``, whose filters stop at 16) and within ``max_params``/``max_flops``.
- ``warm_start``: the rest of generation 0 are mutations of the seed CNN instead of random
  samples (needs ``include_baseline``; random samples when the seed CNN does not fit). Why: a
  short-budget search spends its first generation on random genomes, most far below a
  hand-designed net; starting next to the seed CNN searches where the good genomes are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from .arch import decode, space_violations
from .cost import cost
from .genome import genome_hash, validate_genome
from .space import PRESETS, SearchSpace, baseline_genome
from .strategies import STRATEGIES, Child, Context, Member, Strategy
from .strategies.nsga2 import objectives, pareto_indices

STATE_VERSION = 1
#: Tries per candidate before falling back to random samples, and random tries after that.
MAX_ATTEMPTS = 30


# The origin of the seed's hand-designed CNN when a search includes it as a reference.
BASELINE_ORIGIN = "baseline"


@dataclass(frozen=True)
class EngineConfig:
    strategy: str  # "evolution" | "aging" | "random" | "nsga2"
    space: SearchSpace
    input_shape: tuple[int, int, int]
    num_classes: int
    population_size: int
    generations: int
    seed: int
    crossover_prob: float = 0.5
    mutation_rate: float = 0.3
    tournament_size: int = 3
    elitism: int = 1
    objective: str = "params"
    include_baseline: bool = True
    uniform_p: float = 0.5
    warm_start: bool = False

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> None:
            raise ValueError(f"{name}: {why}")

        if self.strategy not in STRATEGIES:
            bad("strategy", f"must be one of {sorted(STRATEGIES)}")
        if not isinstance(self.space, SearchSpace):
            bad("space", "must be a SearchSpace")
        if len(self.input_shape) != 3 or any(int(d) < 1 for d in self.input_shape):
            bad("input_shape", "must be three positive ints (height, width, channels)")
        if self.num_classes < 2:
            bad("num_classes", "must be >= 2")
        if self.population_size < 1:
            bad("population_size", "must be >= 1")
        if self.generations < 1:
            bad("generations", "must be >= 1")
        for name in ("crossover_prob", "mutation_rate", "uniform_p"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                bad(name, "must be in [0, 1]")
        if self.tournament_size < 1:
            bad("tournament_size", "must be >= 1")
        if not 0 <= self.elitism < self.population_size:
            bad("elitism", "must be in [0, population_size)")
        if self.objective not in ("params", "flops"):
            bad("objective", "must be 'params' or 'flops'")
        if self.warm_start and not self.include_baseline:
            bad("warm_start", "needs include_baseline (it mutates the seed CNN)")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``space`` as its JSON object)."""
        out = asdict(self)
        out["space"] = self.space.model_dump(mode="json")
        out["input_shape"] = list(self.input_shape)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EngineConfig:
        """Inverse of ``to_dict``; ``space`` may also be a preset name. Unknown keys fail."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown engine config keys {sorted(unknown)}")
        values = dict(data)
        space = values.get("space")
        if isinstance(space, str):
            if space not in PRESETS:
                raise ValueError(f"space: unknown preset {space!r}, one of {sorted(PRESETS)}")
            values["space"] = PRESETS[space]
        elif isinstance(space, Mapping):
            values["space"] = SearchSpace.model_validate(space)
        if "input_shape" in values:
            values["input_shape"] = tuple(int(d) for d in values["input_shape"])
        return cls(**values)


@dataclass(frozen=True)
class Proposal:
    generation: int
    index: int  # 0..n-1 within the generation
    genome: dict[str, Any]
    parents: tuple[tuple[int, int], ...]  # (generation, index) of each parent
    origin: str  # "random" | "baseline" | "crossover" | "mutation" | "crossover+mutation"
    detail: str


@dataclass(frozen=True)
class Result:
    generation: int
    index: int
    fitness: float | None  # validation accuracy; None = the candidate failed
    params: int
    flops: int


def _rng_to_json(rng: np.random.Generator) -> dict[str, Any]:
    st = rng.bit_generator.state
    return {
        "bit_generator": st["bit_generator"],
        "state": {k: str(v) for k, v in st["state"].items()},
        "has_uint32": int(st["has_uint32"]),
        "uinteger": int(st["uinteger"]),
    }


def _rng_from_json(data: Mapping[str, Any]) -> np.random.Generator:
    if data["bit_generator"] != "PCG64":
        raise ValueError("state.rng: only PCG64 states are supported")
    bg = np.random.PCG64()
    state: Any = {
        "bit_generator": "PCG64",
        "state": {k: int(v) for k, v in data["state"].items()},
        "has_uint32": int(data["has_uint32"]),
        "uinteger": int(data["uinteger"]),
    }
    bg.state = state
    return np.random.Generator(bg)


class Engine:
    """Ask for a generation of proposals, tell their results, repeat; state is plain JSON."""

    def __init__(self, config: EngineConfig, state: Mapping[str, Any] | None = None) -> None:
        self.config = config
        self._strategy: Strategy = STRATEGIES[config.strategy]()
        if state is None:
            self.generation = 0
            self._rng = np.random.Generator(np.random.PCG64(config.seed))
            self._records: list[dict[str, Any]] = []
            self._population: list[tuple[int, int]] = []
        else:
            state = json.loads(json.dumps(state))  # own copy; accepts tuples or lists
            if state.get("version") != STATE_VERSION:
                raise ValueError(f"state.version: expected {STATE_VERSION}")
            if state.get("strategy") != config.strategy:
                raise ValueError("state.strategy does not match config.strategy")
            self.generation = int(state["generation"])
            self._rng = _rng_from_json(state["rng"])
            self._records = state["individuals"]
            self._population = [(int(g), int(i)) for g, i in state["population"]]
        self._by_key = {(r["generation"], r["index"]): r for r in self._records}
        self._seen = {r["hash"] for r in self._records}

    # ------------------------------------------------------------------ public API

    @property
    def finished(self) -> bool:
        """All generations told."""
        return self.generation >= self.config.generations

    def per_generation(self, generation: int) -> int:
        """Candidates planned for ``generation`` (fewer only if the space runs out)."""
        cfg = self.config
        if generation == 0:
            return cfg.population_size
        return self._strategy.children_count(cfg.population_size, cfg.elitism)

    def expected_total(self) -> int:
        """Candidates a full run will propose."""
        return sum(self.per_generation(g) for g in range(self.config.generations))

    def ask(self) -> list[Proposal]:
        """The whole next generation (new candidates only); ``[]`` once finished.

        Asking again before ``tell`` returns the same proposals.
        """
        while not self.finished:
            pending = self._pending()
            if pending:
                return [self._proposal(r) for r in pending]
            self._propose()
            if not self._pending():  # the space is exhausted for this generation: skip it
                self.generation += 1
        return []

    def tell(self, results: list[Result]) -> None:
        """Results of the whole current generation; advances to the next generation.

        Every pending proposal needs exactly one result; ``tell([])`` after the final ``ask()``
        returned ``[]`` is a no-op.
        """
        pending = {r["index"]: r for r in self._pending()}
        if not pending:
            if self.finished and not results:
                return  # ask() returned [] because the search is over: nothing to record
            raise ValueError("tell() without a pending generation: call ask() first")
        got: dict[int, Result] = {}
        for res in results:
            if res.generation != self.generation or res.index not in pending:
                raise ValueError(
                    f"result ({res.generation}, {res.index}) is not a pending proposal of "
                    f"generation {self.generation}"
                )
            got[res.index] = res
        missing = sorted(set(pending) - set(got))
        if missing:
            raise ValueError(
                f"missing results for indices {missing} of generation {self.generation}"
            )
        for index, res in got.items():
            rec = pending[index]
            fit = None if res.fitness is None else float(res.fitness)
            # the worker's counts win; ours (from cost()) stand in when it reports none
            params = int(res.params) if res.params > 0 else rec["params"]
            flops = int(res.flops) if res.flops > 0 else rec["flops"]
            rec.update(fitness=fit, params=params, flops=flops, told=True)
        children = [self._member(r) for r in sorted(pending.values(), key=lambda r: r["index"])]
        population = [self._member(self._by_key[k]) for k in self._population]
        cfg = self.config
        survivors = (
            self._strategy.survivors(
                population, children, cfg.population_size, cfg.elitism, cfg.objective
            )
            if population
            else children
        )
        self._population = [m.key for m in survivors] or self._population
        self.generation += 1

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state; ``Engine(config, state)`` continues from exactly here."""
        return json.loads(
            json.dumps(
                {
                    "version": STATE_VERSION,
                    "strategy": self.config.strategy,
                    "generation": self.generation,
                    "rng": _rng_to_json(self._rng),
                    "individuals": self._records,
                    "population": [list(k) for k in self._population],
                }
            )
        )

    def pareto_front(self) -> list[tuple[int, int]]:
        """(generation, index) of evaluated individuals not dominated on (accuracy up, cost
        down), where cost is the config's ``objective``. Failed candidates never qualify."""
        told = [
            self._member(r)
            for r in self._records
            if r["told"] and r["fitness"] is not None and r["fitness"] == r["fitness"]
        ]
        points = [objectives(m, self.config.objective) for m in told]
        return sorted(told[i].key for i in pareto_indices(points))

    def population(self) -> list[tuple[int, int]]:
        """The strategy's current population (after the last ``tell``)."""
        return list(self._population)

    def history(self) -> list[dict[str, Any]]:
        """Every proposed individual with lineage and (once told) its result; a copy."""
        return json.loads(json.dumps(self._records))

    def best(self) -> tuple[int, int] | None:
        """The evaluated individual with the highest fitness (earliest on ties)."""
        told = [
            r
            for r in self._records
            if r["told"] and r["fitness"] is not None and r["fitness"] == r["fitness"]
        ]
        if not told:
            return None
        top = max(told, key=lambda r: (r["fitness"], -r["generation"], -r["index"]))
        return (top["generation"], top["index"])

    # ------------------------------------------------------------------ internals

    def _pending(self) -> list[dict[str, Any]]:
        return [r for r in self._records if r["generation"] == self.generation and not r["told"]]

    @staticmethod
    def _proposal(r: Mapping[str, Any]) -> Proposal:
        return Proposal(
            generation=r["generation"],
            index=r["index"],
            genome=json.loads(json.dumps(r["genome"])),
            parents=tuple((int(g), int(i)) for g, i in r["parents"]),
            origin=r["origin"],
            detail=r["detail"],
        )

    @staticmethod
    def _member(r: Mapping[str, Any]) -> Member:
        return Member(
            (r["generation"], r["index"]), r["genome"], r["fitness"], r["params"], r["flops"]
        )

    def _acceptable(self, genome: dict[str, Any]) -> tuple[str, int, int] | None:
        """``(hash, params, flops)`` if new, valid and within budget; else None."""
        cfg = self.config
        h = genome_hash(genome)
        if h in self._seen or validate_genome(genome, cfg.input_shape):
            return None
        params, flops = cost(genome, cfg.input_shape, cfg.num_classes)
        space = cfg.space
        if (space.max_params is not None and params > space.max_params) or (
            space.max_flops is not None and flops > space.max_flops
        ):
            return None
        return h, params, flops

    def _add(self, child: Child, facts: tuple[str, int, int]) -> None:
        h, params, flops = facts
        index = len(self._pending())
        rec = {
            "generation": self.generation,
            "index": index,
            "genome": child.genome,
            "hash": h,
            "parents": [list(p) for p in child.parents],
            "origin": child.origin,
            "detail": child.detail,
            "fitness": None,
            "params": params,
            "flops": flops,
            "told": False,
        }
        self._records.append(rec)
        self._by_key[(self.generation, index)] = rec
        self._seen.add(h)

    def _propose(self) -> None:
        cfg = self.config
        ctx = Context(
            space=cfg.space,
            input_shape=cfg.input_shape,
            rng=self._rng,
            population=[self._member(self._by_key[k]) for k in self._population],
            crossover_prob=cfg.crossover_prob,
            mutation_rate=cfg.mutation_rate,
            uniform_p=cfg.uniform_p,
            tournament_size=cfg.tournament_size,
            elitism=cfg.elitism,
            objective=cfg.objective,
        )
        n = self.per_generation(self.generation)
        make: Callable[[int], Child]
        if self.generation == 0 or not ctx.population:
            make = lambda attempt: ctx.random()  # noqa: E731
            if self.generation == 0 and cfg.include_baseline:
                base = Child(
                    baseline_genome(cfg.input_shape),
                    (),
                    BASELINE_ORIGIN,
                    "the seed's hand-designed CNN",
                )
                facts = self._acceptable(base.genome)
                if facts is not None and not space_violations(decode(base.genome), cfg.space):
                    self._add(base, facts)
                    if cfg.warm_start:
                        seed_cnn = self._member(self._by_key[(0, 0)])
                        make = lambda attempt: ctx.mutate(seed_cnn)  # noqa: E731
        else:
            make = lambda attempt: self._strategy.make_child(ctx, attempt)  # noqa: E731
        while len(self._pending()) < n:
            child = self._first_acceptable(make) or self._first_acceptable(
                lambda attempt: ctx.random()
            )
            if child is None:
                break  # the space has (almost) nothing new left
            self._add(*child)

    def _first_acceptable(
        self, make: Callable[[int], Child]
    ) -> tuple[Child, tuple[str, int, int]] | None:
        for attempt in range(MAX_ATTEMPTS):
            child = make(attempt)
            facts = self._acceptable(child.genome)
            if facts is not None:
                return child, facts
        return None


def build_engine(config: Mapping[str, Any], state: Mapping[str, Any] | None = None) -> Engine:
    """``Engine`` from a plain config dict (see ``EngineConfig.from_dict``)."""
    return Engine(EngineConfig.from_dict(config), state)
