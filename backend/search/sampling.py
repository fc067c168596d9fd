"""Random architectures drawn from a space (the initial population and random search).

Every draw takes an explicit ``numpy.random.Generator`` so a search replays from its seed.
Choices are made among the feasible ones only, so samples never need rejecting for shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from .arch import (
    Arch,
    Block,
    Conv,
    Dense,
    Optimizer,
    Pool,
    _fix_branch,
    _ok,
    conv_hw,
    encode,
    feasible_convs,
    pool_hw,
    repair,
)
from .genome import Genome
from .space import SearchSpace

T = TypeVar("T")


def pick(rng: np.random.Generator, choices: Sequence[T]) -> T:
    """One element of ``choices`` (a Python value, not a numpy scalar)."""
    return choices[int(rng.integers(len(choices)))]


def sample_conv(rng: np.random.Generator, space: SearchSpace, hw: tuple[int, int]) -> Conv | None:
    """A conv feasible at ``hw``, or None when the space has none."""
    options = feasible_convs(hw, space)
    if not options:
        return None
    k, s, pad = pick(rng, options)
    return Conv(pick(rng, space.filters), k, s, pad, pick(rng, space.activations))


def sample_branch(
    rng: np.random.Generator, space: SearchSpace, hw: tuple[int, int], main: Conv, merge: str
) -> tuple[Conv, ...] | None:
    depth = int(rng.integers(1, space.branches.max_depth + 1))
    convs = []
    for _ in range(depth):
        c = sample_conv(rng, space, hw)
        if c is None:
            return None
        convs.append(c)
    return _fix_branch(tuple(convs), hw, main, space, merge)


def sample_pool(rng: np.random.Generator, space: SearchSpace, hw: tuple[int, int]) -> Pool | None:
    kind = pick(rng, space.pooling)
    if kind == "none":
        return None
    pool = Pool(kind, space.pool_size, space.pool_strides, "valid")
    return pool if _ok(pool_hw(hw, pool)) else None


def sample_block(
    rng: np.random.Generator, space: SearchSpace, hw: tuple[int, int], force_branch: bool = False
) -> Block | None:
    """A random block taking an ``hw`` input; None if no conv of the space fits."""
    conv = sample_conv(rng, space, hw)
    if conv is None:
        return None
    bn = pick(rng, space.batch_norm)
    merge = pick(rng, space.branches.merge)
    branches: list[tuple[Conv, ...]] = []
    bs = space.branches
    if bs.max_branches > 0 and (force_branch or rng.random() < bs.probability):
        for _ in range(int(rng.integers(1, bs.max_branches + 1))):
            br = sample_branch(rng, space, hw, conv, merge)
            if br is not None:
                branches.append(br)
    pool = sample_pool(rng, space, conv_hw(hw, conv))
    return Block(conv, bn, tuple(branches), merge, pool, pick(rng, space.block_dropout_rates))


def sample_dense(rng: np.random.Generator, space: SearchSpace) -> Dense:
    return Dense(
        pick(rng, space.units), pick(rng, space.activations), pick(rng, space.dropout_rates)
    )


def sample_optimizer(rng: np.random.Generator, space: SearchSpace) -> Optimizer:
    name = pick(rng, space.optimizers)
    lr = pick(rng, space.learning_rates)
    momentum = pick(rng, space.momentums) if name == "sgd" else 0.0
    return Optimizer(name, lr, momentum)


def block_output_hw(block: Block, hw: tuple[int, int]) -> tuple[int, int]:
    out = conv_hw(hw, block.conv)
    return pool_hw(out, block.pool) if block.pool is not None else out


def block_input_hws(arch: Arch, input_shape: tuple[int, ...]) -> list[tuple[int, int]]:
    """The spatial size entering each block, plus the size after the last one."""
    hw = (int(input_shape[0]), int(input_shape[1]))
    out = [hw]
    for b in arch.blocks:
        hw = block_output_hw(b, hw)
        out.append(hw)
    return out


def random_arch(rng: np.random.Generator, space: SearchSpace, input_shape: tuple[int, ...]) -> Arch:
    """A uniformly structured random architecture inside ``space``."""
    n_blocks = int(rng.integers(space.conv_blocks_min, space.conv_blocks_max + 1))
    hw = (int(input_shape[0]), int(input_shape[1]))
    blocks = []
    for _ in range(n_blocks):
        b = sample_block(rng, space, hw)
        if b is None:
            break
        blocks.append(b)
        hw = block_output_hw(b, hw)
    head = pick(rng, space.heads)
    n_dense = int(rng.integers(space.dense_layers_min, space.dense_layers_max + 1))
    dense = tuple(sample_dense(rng, space) for _ in range(n_dense))
    arch = Arch(tuple(blocks), head, dense, sample_optimizer(rng, space))
    return repair(arch, space, input_shape)


def random_genome(
    rng: np.random.Generator, space: SearchSpace, input_shape: tuple[int, ...]
) -> tuple[Genome, str]:
    """A random genome and a description of it."""
    arch = random_arch(rng, space, input_shape)
    return encode(arch), f"random: {len(arch.blocks)} conv blocks, {len(arch.dense)} dense"
