"""Hypothesis properties of sampling, mutation and crossover (thousands of genomes)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.search import (
    PRESETS,
    baseline_genome,
    crossover,
    from_json,
    genome_hash,
    mutate,
    random_genome,
    to_json,
    validate_genome,
)
from backend.search.arch import decode, encode, space_violations

from .helpers import PRESET_NAMES, SHAPES

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHAIN = 20  # genomes per example: 25 examples x 20 x 6 (preset, shape) = 3000 per property run


def check(genome, space, shape):
    assert validate_genome(genome, shape) == [], genome
    assert space_violations(decode(genome), space) == [], genome
    assert from_json(to_json(genome)) == genome
    assert encode(decode(genome)) == genome


@pytest.mark.parametrize("preset", PRESET_NAMES)
@pytest.mark.parametrize("shape", SHAPES)
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_sampled_mutated_and_crossed_genomes_are_valid_and_in_space(preset, shape, seed):
    space = PRESETS[preset]
    rng = np.random.default_rng(seed)
    pool = [random_genome(rng, space, shape)[0] for _ in range(4)]
    for g in pool:
        check(g, space, shape)
    for _ in range(CHAIN):
        a = pool[int(rng.integers(len(pool)))]
        if rng.random() < 0.5:
            b = pool[int(rng.integers(len(pool)))]
            child, detail = crossover(a, b, space, shape, rng, p=float(rng.random()))
            assert detail.startswith("crossover:")
        else:
            child, detail = mutate(a, space, shape, rng)
            assert detail.startswith("mutate: ") and detail != "mutate: none"
            assert genome_hash(child) != genome_hash(a)  # a mutation always changes something
        check(child, space, shape)
        pool[int(rng.integers(len(pool)))] = child


@pytest.mark.parametrize("preset", PRESET_NAMES)
@pytest.mark.parametrize("shape", SHAPES)
def test_operators_are_deterministic_given_the_rng(preset, shape):
    space = PRESETS[preset]

    def sequence(seed):
        rng = np.random.default_rng(seed)
        out = [random_genome(rng, space, shape)[0] for _ in range(3)]
        out.append(mutate(out[0], space, shape, rng)[0])
        out.append(crossover(out[1], out[2], space, shape, rng)[0])
        return [genome_hash(g) for g in out]

    assert sequence(7) == sequence(7)
    assert sequence(7) != sequence(8)


def test_crossover_p_one_and_zero_copy_a_parent_when_shapes_allow():
    space, shape = PRESETS["seed"], (28, 28, 1)
    rng = np.random.default_rng(3)
    a, b = (random_genome(rng, space, shape)[0] for _ in range(2))
    assert crossover(a, b, space, shape, rng, p=1.0)[0] == a
    assert crossover(a, b, space, shape, rng, p=0.0)[0] == b


def test_crossover_mixes_aligned_genes_from_both_parents():
    space, shape = PRESETS["seed"], (28, 28, 1)
    rng = np.random.default_rng(0)
    a, b = baseline_genome(shape), random_genome(rng, space, shape)[0]
    children = {genome_hash(crossover(a, b, space, shape, rng)[0]) for _ in range(40)}
    assert len(children) > 10


def test_baseline_can_be_mutated_and_crossed():
    shape = (8, 8, 1)
    for name in PRESET_NAMES:
        space = PRESETS[name]
        rng = np.random.default_rng(1)
        base = baseline_genome(shape)
        child, _ = mutate(base, space, shape, rng)
        assert validate_genome(child, shape) == []
        other = random_genome(rng, space, shape)[0]
        assert validate_genome(crossover(base, other, space, shape, rng)[0], shape) == []


def test_mutation_kinds_all_occur_on_the_dag_space():
    space, shape = PRESETS["dag"], (28, 28, 1)
    rng = np.random.default_rng(5)
    g = random_genome(rng, space, shape)[0]
    seen = set()
    for _ in range(400):
        g, detail = mutate(g, space, shape, rng)
        seen.add(detail.split()[1])
    expected = {
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "activation",
        "op",
        "pool",
        "batch_norm",
        "merge",
        "insert",
        "remove",
        "add",
        "optimizer",
        "units",
    }
    assert expected <= seen, expected - seen
