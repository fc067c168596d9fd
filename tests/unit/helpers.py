"""Shared fixtures-as-functions for the search engine tests (no TensorFlow)."""

from __future__ import annotations

from typing import Any

from backend.search import Engine, EngineConfig, Proposal, Result, cost, genome_hash

SHAPES = [(28, 28, 1), (8, 8, 1)]
PRESET_NAMES = ["seed", "tiny", "dag"]
STRATEGY_NAMES = ["evolution", "aging", "random", "nsga2"]


def fake_fitness(genome: dict[str, Any]) -> float | None:
    """A deterministic pseudo accuracy from the genome's hash; about 1 in 16 'fails'."""
    h = genome_hash(genome)
    if h[0] == "0":
        return None
    return int(h[1:9], 16) / 16**8


def results_for(cfg: EngineConfig, props: list[Proposal]) -> list[Result]:
    out = []
    for p in props:
        params, flops = cost(p.genome, cfg.input_shape, cfg.num_classes)
        out.append(Result(p.generation, p.index, fake_fitness(p.genome), params, flops))
    return out


def run(cfg: EngineConfig, resume: bool = False) -> tuple[list[Proposal], Engine]:
    """Drive a whole search; with ``resume`` the engine is rebuilt from JSON state each step."""
    import json

    engine = Engine(cfg)
    proposals: list[Proposal] = []
    while not engine.finished:
        props = engine.ask()
        if resume:
            engine = Engine(cfg, json.loads(json.dumps(engine.state_dict())))
            assert engine.ask() == props  # idempotent ask from stored state
        proposals += props
        engine.tell(results_for(cfg, props))
        if resume:
            engine = Engine(cfg, json.loads(json.dumps(engine.state_dict())))
    return proposals, engine
