"""The ask/tell engine: determinism, restart safety, uniqueness, Pareto front, contracts."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.search import (
    PRESETS,
    Engine,
    EngineConfig,
    Result,
    SearchSpace,
    baseline_genome,
    build_engine,
    cost,
    genome_hash,
    validate_genome,
)
from backend.search.arch import decode, space_violations

from .helpers import STRATEGY_NAMES, fake_fitness, results_for, run


def config(strategy, preset="tiny", shape=(8, 8, 1), seed=0, **kw):
    kw = {"population_size": 6, "generations": 4} | kw
    return EngineConfig(strategy, PRESETS[preset], shape, 10, seed=seed, **kw)


def genomes(props):
    return [genome_hash(p.genome) for p in props]


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_same_seed_same_genomes_and_different_seed_differs(strategy):
    cfg = config(strategy, preset="dag", shape=(28, 28, 1))
    first, _ = run(cfg)
    again, _ = run(cfg)
    assert first == again
    other, _ = run(config(strategy, preset="dag", shape=(28, 28, 1), seed=1))
    assert genomes(other) != genomes(first)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("preset", ["seed", "dag"])
def test_resume_from_state_equals_uninterrupted_run(strategy, preset):
    cfg = config(strategy, preset=preset)
    straight, e1 = run(cfg)
    resumed, e2 = run(cfg, resume=True)
    assert resumed == straight
    assert e1.state_dict() == e2.state_dict()
    assert e1.pareto_front() == e2.pareto_front()


@settings(max_examples=15, deadline=None)
@given(
    strategy=st.sampled_from(STRATEGY_NAMES),
    seed=st.integers(0, 10_000),
    cut=st.integers(0, 7),
    population=st.integers(2, 6),
)
def test_resume_at_any_point_including_between_ask_and_tell(strategy, seed, cut, population):
    cfg = config(
        strategy, preset="dag", seed=seed, population_size=population, generations=4, elitism=1
    )
    straight, _ = run(cfg)
    engine, props_all, step = Engine(cfg), [], 0
    while not engine.finished:
        props = engine.ask()
        if step == cut:  # crash after ask, before tell: rebuild and ask again
            engine = Engine(cfg, json.loads(json.dumps(engine.state_dict())))
            assert engine.ask() == props
        props_all += props
        engine.tell(results_for(cfg, props))
        step += 1
    assert props_all == straight


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_state_is_json_and_round_trips_exactly(strategy):
    cfg = config(strategy)
    engine = Engine(cfg)
    for _ in range(2):
        props = engine.ask()
        state = engine.state_dict()
        assert json.loads(json.dumps(state)) == state
        assert Engine(cfg, state).state_dict() == state
        engine.tell(results_for(cfg, props))
    state = engine.state_dict()
    assert isinstance(state["rng"]["state"]["state"], str)  # 128-bit ints as strings
    assert Engine(cfg, state).state_dict() == state


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("preset", ["seed", "tiny", "dag"])
def test_no_duplicates_valid_counts_and_lineage(strategy, preset):
    cfg = config(strategy, preset=preset, shape=(28, 28, 1), population_size=8, generations=4)
    props, engine = run(cfg)
    hashes = genomes(props)
    assert len(hashes) == len(set(hashes))
    assert len(props) == engine.expected_total()
    assert engine.finished and engine.ask() == []
    keys = set()
    for p in props:
        assert validate_genome(p.genome, cfg.input_shape) == []
        assert p.origin in {"random", "baseline", "crossover", "mutation", "crossover+mutation"}
        assert p.detail
        assert all(parent in keys and parent[0] < p.generation for parent in p.parents)
        if p.origin != "baseline":
            assert space_violations(decode(p.genome), cfg.space) == []
        keys.add((p.generation, p.index))
    by_gen: dict[int, list[int]] = {}
    for p in props:
        by_gen.setdefault(p.generation, []).append(p.index)
    assert all(idx == list(range(len(idx))) for idx in by_gen.values())


def test_tiny_space_runs_out_gracefully():
    space = SearchSpace(
        conv_blocks_min=1,
        conv_blocks_max=1,
        filters=(4,),
        kernel_sizes=(3,),
        strides=(1,),
        paddings=("same",),
        activations=("relu",),
        pooling=("none",),
        dense_layers_max=0,
        learning_rates=(1e-3,),
    )
    cfg = EngineConfig("evolution", space, (8, 8, 1), 10, 4, 3, seed=0, include_baseline=False)
    props, engine = run(cfg)
    assert len(props) == 1 and engine.finished  # only one genome exists in this space


def test_baseline_is_candidate_zero_of_generation_zero():
    cfg = config("evolution", preset="seed", shape=(28, 28, 1))
    props = Engine(cfg).ask()
    assert props[0].origin == "baseline" and props[0].index == 0
    assert props[0].genome == baseline_genome((28, 28, 1))
    assert all(p.origin == "random" for p in props[1:])
    no_base = Engine(config("evolution", preset="seed", include_baseline=False)).ask()
    assert all(p.origin == "random" for p in no_base)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_warm_start_fills_generation_zero_with_mutations_of_the_seed_cnn(strategy):
    cfg = config(strategy, preset="seed", shape=(28, 28, 1), population_size=8, warm_start=True)
    props = Engine(cfg).ask()
    base = baseline_genome((28, 28, 1))
    assert props[0].origin == "baseline" and props[0].genome == base
    assert len(props) == 8 and len(set(genomes(props))) == 8
    for p in props[1:]:
        assert (p.origin, p.parents) == ("mutation", ((0, 0),))
        assert not validate_genome(p.genome, (28, 28, 1))
        assert not space_violations(decode(p.genome), cfg.space)
    # the same seed gives the same run, and a restart continues it exactly
    straight, e1 = run(cfg)
    resumed, e2 = run(cfg, resume=True)
    assert resumed == straight and e1.state_dict() == e2.state_dict()
    cold = Engine(config(strategy, preset="seed", shape=(28, 28, 1), population_size=8)).ask()
    assert all(p.origin == "random" for p in cold[1:])


def test_warm_start_needs_the_baseline_and_falls_back_to_random_without_it():
    with pytest.raises(ValueError, match="warm_start"):
        config("aging", preset="seed", include_baseline=False, warm_start=True)
    # the seed CNN does not fit the tiny space (filters stop at 16): random samples instead
    props = Engine(config("aging", preset="tiny", warm_start=True)).ask()
    assert props and all(p.origin == "random" for p in props)
    restored = EngineConfig.from_dict(config("aging", preset="seed", warm_start=True).to_dict())
    assert restored.warm_start


def test_budget_limits_are_respected():
    space = PRESETS["seed"].model_copy(update={"max_params": 60_000})
    cfg = EngineConfig("aging", space, (28, 28, 1), 10, 6, 3, seed=2)
    props, _ = run(cfg)
    assert props and all(cost(p.genome, (28, 28, 1), 10)[0] <= 60_000 for p in props)
    assert all(p.origin != "baseline" for p in props)  # the seed CNN has 421,642 params


def test_evolution_carries_elites_without_reproposing():
    cfg = config("evolution", population_size=6, generations=3, elitism=2)
    engine = Engine(cfg)
    gen0 = engine.ask()
    engine.tell(results_for(cfg, gen0))
    scores = {(p.generation, p.index): fake_fitness(p.genome) for p in gen0}
    ranked = sorted(scores, key=lambda k: (-(s if (s := scores[k]) is not None else -1), k))
    assert set(ranked[:2]) <= set(engine.population())
    gen1 = engine.ask()
    assert len(gen1) == 4
    assert all(p.origin in {"crossover", "mutation", "crossover+mutation"} for p in gen1)
    engine.tell(results_for(cfg, gen1))
    assert set(engine.population()) == set(ranked[:2]) | {(1, i) for i in range(4)}


def test_aging_keeps_the_newest_population():
    cfg = config("aging", population_size=5, generations=3)
    engine = Engine(cfg)
    for g in range(3):
        props = engine.ask()
        engine.tell(results_for(cfg, props))
        assert engine.population() == [(g, i) for i in range(5)]
        assert all(p.origin == "mutation" for p in props) or g == 0


def dominated(a, b):
    """True if b dominates a on (accuracy up, params down)."""
    return b[0] >= a[0] and b[1] <= a[1] and b != a


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("objective", ["params", "flops"])
def test_pareto_front_is_exactly_the_non_dominated_set(strategy, objective):
    cfg = config(strategy, preset="dag", objective=objective, population_size=8)
    props, engine = run(cfg)
    col = 0 if objective == "params" else 1
    points = {}
    for p in props:
        fit = fake_fitness(p.genome)
        if fit is not None:
            points[(p.generation, p.index)] = (fit, cost(p.genome, (8, 8, 1), 10)[col])
    expected = sorted(
        k for k, v in points.items() if not any(dominated(v, w) for w in points.values())
    )
    front = engine.pareto_front()
    assert front == expected and front
    for k in front:
        assert not any(dominated(points[k], w) for w in points.values())


def test_nsga2_population_is_the_best_fronts():
    cfg = config("nsga2", preset="dag", population_size=6, generations=3)
    _, engine = run(cfg)
    front = set(engine.pareto_front())  # elitist: a globally non-dominated point never leaves
    assert len(engine.population()) == 6
    assert front <= set(engine.population()) or len(front) > 6


def test_tell_checks_results():
    cfg = config("random")
    engine = Engine(cfg)
    with pytest.raises(ValueError, match="ask"):
        engine.tell([])
    props = engine.ask()
    res = results_for(cfg, props)
    with pytest.raises(ValueError, match="missing"):
        engine.tell(res[1:])
    with pytest.raises(ValueError, match="not a pending"):
        engine.tell([*res, Result(0, 99, 0.5, 1, 1)])
    engine.tell(res)
    assert engine.generation == 1


def test_failed_candidates_never_win():
    cfg = config("aging", population_size=4, generations=2, tournament_size=4)
    engine = Engine(cfg)
    props = engine.ask()
    engine.tell([Result(p.generation, p.index, None if p.index else 0.5, 1, 1) for p in props])
    assert engine.best() == (0, 0)
    assert engine.pareto_front() == [(0, 0)]
    assert all(p.parents == ((0, 0),) for p in engine.ask())


def test_config_validation_and_build_engine():
    with pytest.raises(ValueError, match="strategy"):
        config("hillclimb")
    with pytest.raises(ValueError, match="elitism"):
        config("evolution", population_size=3, elitism=3)
    with pytest.raises(ValueError, match="objective"):
        config("nsga2", objective="latency")
    cfg = config("nsga2", preset="dag")
    data = json.loads(json.dumps(cfg.to_dict()))
    assert EngineConfig.from_dict(data) == cfg
    engine = build_engine(data | {"space": "dag"})
    assert engine.ask() == Engine(cfg).ask()
    with pytest.raises(ValueError, match="space"):
        build_engine(data | {"space": "nope"})
    with pytest.raises(ValueError, match="strategy"):
        Engine(config("aging"), Engine(config("random")).state_dict())


def test_baseline_only_when_it_fits_the_space():
    assert Engine(config("random", preset="dag")).ask()[0].origin == "baseline"
    assert all(p.origin == "random" for p in Engine(config("random", preset="tiny")).ask())
