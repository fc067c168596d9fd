"""The seed's uniform crossover, with structural alignment.

The seed primer defines it as "each gene from parent 1 with probability p, else parent 2". Two
CNNs of different depth have no common gene list, so we align them: the conv-block sequences
position-wise and the dense-head sequences position-wise. The child's lengths are genes too;
at a position both parents have, every field (filters, kernel, stride, padding, activation,
batch norm, branches+merge, pool, dropout / units, activation, dropout) is drawn separately;
a position only one parent has is copied from it. ``repair`` then makes the child feasible
(a stride from one parent may collapse a padding from the other).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .arch import Arch, Block, Conv, Dense, decode, encode, repair
from .genome import Genome
from .space import SearchSpace


class _Genes:
    """Draws genes and counts how many came from parent 1 (for the description)."""

    def __init__(self, rng: np.random.Generator, p: float) -> None:
        self.rng, self.p, self.first, self.total = rng, p, 0, 0

    def __call__(self, a: Any, b: Any) -> Any:
        self.total += 1
        if self.rng.random() < self.p:
            self.first += 1
            return a
        return b


def _cross_block(g: _Genes, a: Block, b: Block) -> Block:
    ca, cb = a.conv, b.conv
    conv = Conv(
        g(ca.filters, cb.filters),
        g(ca.kernel_size, cb.kernel_size),
        g(ca.strides, cb.strides),
        g(ca.padding, cb.padding),
        g(ca.activation, cb.activation),
    )
    branches, merge = g((a.branches, a.merge), (b.branches, b.merge))
    return Block(
        conv,
        g(a.batch_norm, b.batch_norm),
        branches,
        merge,
        g(a.pool, b.pool),
        g(a.dropout, b.dropout),
    )


def _cross_dense(g: _Genes, a: Dense, b: Dense) -> Dense:
    return Dense(g(a.units, b.units), g(a.activation, b.activation), g(a.dropout, b.dropout))


def crossover_arch(
    a: Arch,
    b: Arch,
    space: SearchSpace,
    input_shape: tuple[int, ...],
    rng: np.random.Generator,
    p: float = 0.5,
) -> tuple[Arch, str]:
    """Child of ``a`` (parent 1) and ``b`` (parent 2); always feasible for ``input_shape``."""
    g = _Genes(rng, p)
    n_blocks = g(len(a.blocks), len(b.blocks))
    blocks = []
    for i in range(n_blocks):
        if i < len(a.blocks) and i < len(b.blocks):
            blocks.append(_cross_block(g, a.blocks[i], b.blocks[i]))
        else:
            blocks.append(a.blocks[i] if i < len(a.blocks) else b.blocks[i])
    head = g(a.head, b.head)
    n_dense = g(len(a.dense), len(b.dense))
    dense = []
    for j in range(n_dense):
        if j < len(a.dense) and j < len(b.dense):
            dense.append(_cross_dense(g, a.dense[j], b.dense[j]))
        else:
            dense.append(a.dense[j] if j < len(a.dense) else b.dense[j])
    optimizer = g(a.optimizer, b.optimizer)
    child = repair(Arch(tuple(blocks), head, tuple(dense), optimizer), space, input_shape)
    return child, f"crossover: {g.first}/{g.total} genes from parent 1 (p={p})"


def crossover(
    parent1: Genome,
    parent2: Genome,
    space: SearchSpace,
    input_shape: tuple[int, ...],
    rng: np.random.Generator,
    p: float = 0.5,
) -> tuple[Genome, str]:
    """Genome-level uniform crossover (see ``crossover_arch``)."""
    child, detail = crossover_arch(decode(parent1), decode(parent2), space, input_shape, rng, p)
    return encode(child), detail
