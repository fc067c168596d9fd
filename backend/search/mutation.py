"""Mutations: small, described edits of one architecture that always leave it valid.

Kinds: change a parameter, an activation or an op (pool kind, head, merge, batch norm); insert or
remove a layer (conv block or dense layer); add or remove a parallel branch; change the
optimizer or learning rate. Each returns the child and a line such as
``mutate: kernel_size n2 3->5`` naming the parent's node, so the dashboard can show lineage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np

from .arch import Arch, Block, Pool, decode, encode, encode_with_ids, repair
from .genome import Genome, genome_hash
from .sampling import (
    block_input_hws,
    pick,
    sample_block,
    sample_branch,
    sample_dense,
    sample_optimizer,
)
from .space import SearchSpace

T = TypeVar("T")
Move = Callable[[], tuple[Arch, str] | None]


def _other(rng: np.random.Generator, choices: Sequence[T], current: T) -> T:
    """A choice different from ``current`` (``current`` itself if there is none)."""
    rest = [c for c in choices if c != current]
    return pick(rng, rest) if rest else current


def _moves(
    arch: Arch, space: SearchSpace, input_shape: tuple[int, ...], rng: np.random.Generator
) -> dict[str, Move]:
    """The mutation kinds applicable to ``arch``; each builds a child lazily."""
    _, ids = encode_with_ids(arch)
    hws = block_input_hws(arch, input_shape)
    nb, nd = len(arch.blocks), len(arch.dense)

    def set_block(i: int, b: Block) -> Arch:
        return replace(arch, blocks=(*arch.blocks[:i], b, *arch.blocks[i + 1 :]))

    def param() -> tuple[Arch, str] | None:
        targets: list[tuple[str, int, str, tuple[Any, ...]]] = []
        for i in range(nb):
            targets += [
                ("block", i, "filters", space.filters),
                ("block", i, "kernel_size", space.kernel_sizes),
                ("block", i, "strides", space.strides),
                ("block", i, "padding", space.paddings),
                ("block", i, "dropout", space.block_dropout_rates),
            ]
        for j in range(nd):
            targets += [
                ("dense", j, "units", space.units),
                ("dense", j, "dropout", space.dropout_rates),
            ]
        targets = [t for t in targets if len(t[3]) > 1]
        if not targets:
            return None
        where, i, name, choices = pick(rng, targets)
        if where == "block":
            b = arch.blocks[i]
            old = b.dropout if name == "dropout" else getattr(b.conv, name)
            new: Any = _other(rng, choices, old)
            if name == "dropout":
                b = replace(b, dropout=new)
            else:
                b = replace(b, conv=replace(b.conv, **{name: new}))
            return set_block(i, b), f"{name} {ids.blocks[i]} {old}->{new}"
        d = arch.dense[i]
        old = getattr(d, name)
        new_d: Any = _other(rng, choices, old)
        dense = (*arch.dense[:i], replace(d, **{name: new_d}), *arch.dense[i + 1 :])
        return replace(arch, dense=dense), f"{name} {ids.dense[i]} {old}->{new_d}"

    def activation() -> tuple[Arch, str] | None:
        if len(space.activations) < 2 or nb + nd == 0:
            return None
        k = int(rng.integers(nb + nd))
        if k < nb:
            c = arch.blocks[k].conv
            new = _other(rng, space.activations, c.activation)
            b = replace(arch.blocks[k], conv=replace(c, activation=new))
            return set_block(k, b), f"activation {ids.blocks[k]} {c.activation}->{new}"
        j = k - nb
        d = arch.dense[j]
        new = _other(rng, space.activations, d.activation)
        dense = (*arch.dense[:j], replace(d, activation=new), *arch.dense[j + 1 :])
        return replace(arch, dense=dense), f"activation {ids.dense[j]} {d.activation}->{new}"

    def op() -> tuple[Arch, str] | None:
        options: list[tuple[str, int]] = []
        if len(space.heads) > 1:
            options.append(("head", 0))
        for i, b in enumerate(arch.blocks):
            if len(space.pooling) > 1:
                options.append(("pool", i))
            if len(space.batch_norm) > 1:
                options.append(("bn", i))
            if b.branches and len(space.branches.merge) > 1:
                options.append(("merge", i))
        if not options:
            return None
        what, i = pick(rng, options)
        if what == "head":
            new = _other(rng, space.heads, arch.head)
            return replace(arch, head=new), f"op {ids.head} {arch.head}->{new}"
        b = arch.blocks[i]
        if what == "pool":
            old = b.pool.kind if b.pool else "none"
            kind = _other(rng, space.pooling, old)
            pool = (
                None if kind == "none" else Pool(kind, space.pool_size, space.pool_strides, "valid")
            )
            return set_block(i, replace(b, pool=pool)), f"pool after {ids.blocks[i]} {old}->{kind}"
        if what == "bn":
            on = not b.batch_norm
            return set_block(i, replace(b, batch_norm=on)), (
                f"batch_norm after {ids.blocks[i]} {'on' if on else 'off'}"
            )
        merge = _other(rng, space.branches.merge, b.merge)
        return set_block(i, replace(b, merge=merge)), f"merge {ids.blocks[i]} {b.merge}->{merge}"

    def insert() -> tuple[Arch, str] | None:
        can_block, can_dense = nb < space.conv_blocks_max, nd < space.dense_layers_max
        if not (can_block or can_dense):
            return None
        if can_block and (not can_dense or rng.random() < 0.5):
            i = int(rng.integers(nb + 1))
            b = sample_block(rng, space, hws[i])
            if b is None:
                return None
            child = replace(arch, blocks=(*arch.blocks[:i], b, *arch.blocks[i:]))
            return (
                child,
                f"insert conv block at {i} ({b.conv.filters} {b.conv.kernel_size}x"
                f"{b.conv.kernel_size}/{b.conv.strides})",
            )
        j = int(rng.integers(nd + 1))
        d = sample_dense(rng, space)
        return replace(arch, dense=(*arch.dense[:j], d, *arch.dense[j:])), (
            f"insert dense {d.units} at {j}"
        )

    def remove() -> tuple[Arch, str] | None:
        can_block, can_dense = nb > space.conv_blocks_min, nd > space.dense_layers_min
        if not (can_block or can_dense):
            return None
        if can_block and (not can_dense or rng.random() < 0.5):
            i = int(rng.integers(nb))
            blocks = (*arch.blocks[:i], *arch.blocks[i + 1 :])
            return replace(arch, blocks=blocks), f"remove conv block {ids.blocks[i]}"
        j = int(rng.integers(nd))
        dense = (*arch.dense[:j], *arch.dense[j + 1 :])
        return replace(arch, dense=dense), f"remove dense {ids.dense[j]}"

    def add_branch() -> tuple[Arch, str] | None:
        room = [
            i for i, b in enumerate(arch.blocks) if len(b.branches) < space.branches.max_branches
        ]
        if not room:
            return None
        i = pick(rng, room)
        b = arch.blocks[i]
        merge = b.merge if b.branches else pick(rng, space.branches.merge)
        br = sample_branch(rng, space, hws[i], b.conv, merge)
        if br is None:
            return None
        child = set_block(i, replace(b, branches=(*b.branches, br), merge=merge))
        return child, f"add branch to {ids.blocks[i]} ({len(br)} conv, {merge})"

    def remove_branch() -> tuple[Arch, str] | None:
        having = [i for i, b in enumerate(arch.blocks) if b.branches]
        if not having:
            return None
        i = pick(rng, having)
        b = arch.blocks[i]
        k = int(rng.integers(len(b.branches)))
        child = set_block(i, replace(b, branches=(*b.branches[:k], *b.branches[k + 1 :])))
        return child, f"remove branch {k} of {ids.blocks[i]}"

    def optimizer() -> tuple[Arch, str] | None:
        o = arch.optimizer
        new = sample_optimizer(rng, space)
        if new == o:
            return None
        old_s = f"{o.name} {o.learning_rate}" + (f" m={o.momentum}" if o.name == "sgd" else "")
        new_s = f"{new.name} {new.learning_rate}" + (
            f" m={new.momentum}" if new.name == "sgd" else ""
        )
        return replace(arch, optimizer=new), f"optimizer {old_s}->{new_s}"

    return {
        "param": param,
        "activation": activation,
        "op": op,
        "insert": insert,
        "remove": remove,
        "add_branch": add_branch,
        "remove_branch": remove_branch,
        "optimizer": optimizer,
    }


def mutate_arch(
    arch: Arch,
    space: SearchSpace,
    input_shape: tuple[int, ...],
    rng: np.random.Generator,
    attempts: int = 20,
) -> tuple[Arch, str]:
    """One random mutation that changes the encoded genome; the child is repaired (feasible).

    Tries up to ``attempts`` kinds/targets; returns the parent unchanged with detail
    ``"mutate: none"`` only when nothing in the space can change.
    """
    before = genome_hash(encode(arch))
    for _ in range(attempts):
        moves = _moves(arch, space, input_shape, rng)
        kind = pick(rng, sorted(moves))
        made = moves[kind]()
        if made is None:
            continue
        child = repair(made[0], space, input_shape)
        if genome_hash(encode(child)) != before:
            return child, "mutate: " + made[1]
    return arch, "mutate: none"


def mutate(
    genome: Genome, space: SearchSpace, input_shape: tuple[int, ...], rng: np.random.Generator
) -> tuple[Genome, str]:
    """Genome-level mutation (see ``mutate_arch``)."""
    child, detail = mutate_arch(decode(genome), space, input_shape, rng)
    return encode(child), detail


__all__ = ["mutate", "mutate_arch"]
