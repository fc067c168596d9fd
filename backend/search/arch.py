"""The structured view of a genome that the operators work on: conv blocks, head, dense layers.

Why a second representation: crossover aligns "the conv-block sequence and the dense-head
sequence position-wise", and mutations insert or remove whole layers and branches. Those are
easy on a list of blocks and fragile on a raw DAG. ``encode`` turns an ``Arch`` into the genome
JSON (the contract), ``decode`` recovers it from any genome of this family, and ``repair`` makes
an ``Arch`` feasible for an input shape so that every operator returns a valid genome.

A block with input ``x`` encodes as::

    main = conv(x) [-> batch_norm]
    branch_i = conv(x) [-> conv ...]            (0..max_branches)
    main = add|concat(main, branch_1, ...)      (only with branches)
    main = [max_pool|avg_pool](main) [-> dropout]
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .genome import Genome, GenomeError, _conv_out
from .space import SearchSpace

HEAD_OPS = {"flatten": "flatten", "global_avg": "global_avg_pool", "global_max": "global_max_pool"}
HEAD_KINDS = {v: k for k, v in HEAD_OPS.items()}
POOL_OPS = {"max": "max_pool", "avg": "avg_pool"}


@dataclass(frozen=True)
class Conv:
    filters: int
    kernel_size: int
    strides: int
    padding: str
    activation: str


@dataclass(frozen=True)
class Pool:
    kind: str  # "max" | "avg"
    pool_size: int
    strides: int
    padding: str


@dataclass(frozen=True)
class Block:
    conv: Conv
    batch_norm: bool = False
    branches: tuple[tuple[Conv, ...], ...] = ()
    merge: str = "add"
    pool: Pool | None = None
    dropout: float = 0.0


@dataclass(frozen=True)
class Dense:
    units: int
    activation: str
    dropout: float = 0.0


@dataclass(frozen=True)
class Optimizer:
    name: str
    learning_rate: float
    momentum: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "learning_rate": self.learning_rate}
        if self.name == "sgd":
            out["momentum"] = self.momentum
        return out


@dataclass(frozen=True)
class Arch:
    blocks: tuple[Block, ...]
    head: str  # "flatten" | "global_avg" | "global_max"
    dense: tuple[Dense, ...]
    optimizer: Optimizer


@dataclass(frozen=True)
class NodeIds:
    """Node ids that ``encode`` gave each part, so operator descriptions can name nodes."""

    blocks: tuple[str, ...]  # main conv id of each block
    dense: tuple[str, ...]
    head: str


def _conv_params(c: Conv) -> dict[str, Any]:
    return {
        "filters": c.filters,
        "kernel_size": c.kernel_size,
        "strides": c.strides,
        "padding": c.padding,
        "activation": c.activation,
    }


def encode_with_ids(arch: Arch) -> tuple[Genome, NodeIds]:
    """Genome JSON for ``arch`` with ids ``n0, n1, ...`` in topological order."""
    nodes: list[dict[str, Any]] = []

    def add(op: str, inputs: list[str], params: dict[str, Any]) -> str:
        nid = f"n{len(nodes)}"
        nodes.append({"id": nid, "op": op, "inputs": inputs, "params": params})
        return nid

    cur = "input"
    block_ids = []
    for b in arch.blocks:
        main = add("conv2d", [cur], _conv_params(b.conv))
        block_ids.append(main)
        if b.batch_norm:
            main = add("batch_norm", [main], {})
        tails = []
        for branch in b.branches:
            t = cur
            for c in branch:
                t = add("conv2d", [t], _conv_params(c))
            tails.append(t)
        if tails:
            main = add(b.merge, [main, *tails], {})
        if b.pool is not None:
            main = add(
                POOL_OPS[b.pool.kind],
                [main],
                {
                    "pool_size": b.pool.pool_size,
                    "strides": b.pool.strides,
                    "padding": b.pool.padding,
                },
            )
        if b.dropout > 0:
            main = add("dropout", [main], {"rate": b.dropout})
        cur = main
    cur = head_id = add(HEAD_OPS[arch.head], [cur], {})
    dense_ids = []
    for d in arch.dense:
        cur = add("dense", [cur], {"units": d.units, "activation": d.activation})
        dense_ids.append(cur)
        if d.dropout > 0:
            cur = add("dropout", [cur], {"rate": d.dropout})
    genome = {"nodes": nodes, "output": cur, "optimizer": arch.optimizer.to_json()}
    return genome, NodeIds(tuple(block_ids), tuple(dense_ids), head_id)


def encode(arch: Arch) -> Genome:
    """Genome JSON for ``arch``."""
    return encode_with_ids(arch)[0]


def _conv_of(node: dict[str, Any]) -> Conv:
    p = node["params"]
    return Conv(p["filters"], p["kernel_size"], p["strides"], p["padding"], p["activation"])


def decode(genome: Genome) -> Arch:
    """Recover the ``Arch`` of a genome of this family; ``GenomeError`` if it is not one."""
    try:
        return _decode(genome)
    except (KeyError, IndexError, TypeError) as exc:
        raise GenomeError(f"genome is not a block-structured CNN: {exc!r}") from exc


def _decode(genome: Genome) -> Arch:
    nodes = genome["nodes"]
    n = len(nodes)
    i = 0

    def at(op: str | tuple[str, ...], inputs: list[str] | None = None) -> bool:
        if i >= n:
            return False
        node = nodes[i]
        ops = (op,) if isinstance(op, str) else op
        return node["op"] in ops and (inputs is None or node["inputs"] == inputs)

    cur = "input"
    blocks: list[Block] = []
    while at("conv2d", [cur]):
        conv = _conv_of(nodes[i])
        tail = nodes[i]["id"]
        i += 1
        bn = at("batch_norm", [tail])
        if bn:
            tail = nodes[i]["id"]
            i += 1
        branches: list[tuple[Conv, ...]] = []
        tails: list[str] = []
        while at("conv2d", [cur]):
            chain = [nodes[i]]
            i += 1
            while at("conv2d", [chain[-1]["id"]]):
                chain.append(nodes[i])
                i += 1
            branches.append(tuple(_conv_of(c) for c in chain))
            tails.append(chain[-1]["id"])
        merge = "add"
        if branches:
            if not at(("add", "concat"), [tail, *tails]):
                raise GenomeError("branches must be merged into the block's output")
            merge = nodes[i]["op"]
            tail = nodes[i]["id"]
            i += 1
        pool = None
        if at(("max_pool", "avg_pool"), [tail]):
            p = nodes[i]["params"]
            kind = "max" if nodes[i]["op"] == "max_pool" else "avg"
            pool = Pool(kind, p["pool_size"], p["strides"], p["padding"])
            tail = nodes[i]["id"]
            i += 1
        dropout = 0.0
        if at("dropout", [tail]):
            dropout = nodes[i]["params"]["rate"]
            tail = nodes[i]["id"]
            i += 1
        blocks.append(Block(conv, bn, tuple(branches), merge, pool, dropout))
        cur = tail
    if not at(tuple(HEAD_KINDS), [cur]):
        raise GenomeError(f"expected a head (flatten/global pool) at node {i}")
    head = HEAD_KINDS[nodes[i]["op"]]
    cur = nodes[i]["id"]
    i += 1
    dense: list[Dense] = []
    while at("dense", [cur]):
        p = nodes[i]["params"]
        cur = nodes[i]["id"]
        i += 1
        rate = 0.0
        if at("dropout", [cur]):
            rate = nodes[i]["params"]["rate"]
            cur = nodes[i]["id"]
            i += 1
        dense.append(Dense(p["units"], p["activation"], rate))
    if i != n or genome["output"] != cur:
        raise GenomeError(f"unexpected node at position {i} or output is not the last node")
    o = genome["optimizer"]
    opt = Optimizer(o["name"], o["learning_rate"], o.get("momentum", 0.0))
    return Arch(tuple(blocks), head, tuple(dense), opt)


# ----------------------------------------------------------------------------- feasibility


def conv_hw(hw: tuple[int, int], c: Conv) -> tuple[int, int]:
    """Spatial size after ``c`` (0 means collapsed)."""
    return (
        _conv_out(hw[0], c.kernel_size, c.strides, c.padding),
        _conv_out(hw[1], c.kernel_size, c.strides, c.padding),
    )


def pool_hw(hw: tuple[int, int], p: Pool) -> tuple[int, int]:
    return (
        _conv_out(hw[0], p.pool_size, p.strides, p.padding),
        _conv_out(hw[1], p.pool_size, p.strides, p.padding),
    )


def _ok(hw: tuple[int, int]) -> bool:
    return hw[0] >= 1 and hw[1] >= 1


def feasible_convs(
    hw: tuple[int, int],
    space: SearchSpace,
    target: tuple[int, int] | None = None,
    strides: tuple[int, ...] | None = None,
) -> list[tuple[int, int, str]]:
    """``(kernel, stride, padding)`` choices of the space that keep ``hw`` >= 1 (or hit target)."""
    out: list[tuple[int, int, str]] = []
    for k in space.kernel_sizes:
        for s in strides if strides is not None else space.strides:
            for pad in space.paddings:
                res = conv_hw(hw, Conv(1, k, s, pad, "linear"))
                if (target is None and _ok(res)) or res == target:
                    out.append((k, s, pad))
    return out


def _fix_conv(c: Conv, hw: tuple[int, int], space: SearchSpace) -> Conv | None:
    """``c`` if feasible at ``hw``; else the nearest feasible variant; None if impossible."""
    if _ok(conv_hw(hw, c)):
        return c
    pads: tuple[str, ...] = ("same", *space.paddings)
    for pad in pads:
        cand = replace(c, padding=pad)
        if pad in space.paddings and _ok(conv_hw(hw, cand)):
            return cand
    options = feasible_convs(hw, space)
    if not options:
        return None
    k, s, pad = min(options, key=lambda o: (abs(o[0] - c.kernel_size), abs(o[1] - c.strides)))
    return replace(c, kernel_size=k, strides=s, padding=pad)


def _fix_branch(
    branch: tuple[Conv, ...],
    hw_in: tuple[int, int],
    main: Conv,
    space: SearchSpace,
    merge: str,
) -> tuple[Conv, ...] | None:
    """Make a branch end at the main conv's shape; None if the space cannot."""
    target = conv_hw(hw_in, main)
    first = branch[0]
    if conv_hw(hw_in, first) != target:
        options = feasible_convs(hw_in, space, target)
        if not options:
            return None
        k, s, pad = min(
            options, key=lambda o: (abs(o[0] - first.kernel_size), o[2] != first.padding)
        )
        first = replace(first, kernel_size=k, strides=s, padding=pad)
    convs = [first]
    for c in branch[1:]:
        if conv_hw(target, c) != target:
            options = feasible_convs(target, space, target, strides=(1,))
            if not options:
                break
            k, s, pad = min(options, key=lambda o: (abs(o[0] - c.kernel_size), o[2] != c.padding))
            c = replace(c, kernel_size=k, strides=s, padding=pad)
        convs.append(c)
    if merge == "add" and convs[-1].filters != main.filters:
        convs[-1] = replace(convs[-1], filters=main.filters)
    return tuple(convs)


def repair(arch: Arch, space: SearchSpace, input_shape: tuple[int, ...]) -> Arch:
    """A feasible ``Arch`` close to ``arch``: every spatial size >= 1, merges shape-compatible,
    layer counts within the space's bounds (extra blocks/dense layers are cut from the end).

    Convs that would collapse switch padding/kernel/stride within the space; pools that would
    collapse are dropped; branches that cannot match are dropped. If even that cannot keep a
    block, the blocks from there on are cut (only when the input is too small for the space).
    """
    hw = (int(input_shape[0]), int(input_shape[1]))
    blocks: list[Block] = []
    for b in arch.blocks[: space.conv_blocks_max]:
        conv = _fix_conv(b.conv, hw, space)
        if conv is None:
            break
        merge = b.merge if b.merge in space.branches.merge else space.branches.merge[0]
        branches: list[tuple[Conv, ...]] = []
        for br in b.branches[: space.branches.max_branches]:
            fixed = _fix_branch(br[: space.branches.max_depth], hw, conv, space, merge)
            if fixed is not None:
                branches.append(fixed)
        out = conv_hw(hw, conv)
        pool = b.pool
        if pool is not None and not _ok(pool_hw(out, pool)):
            pool = None
        if pool is not None:
            out = pool_hw(out, pool)
        if not branches:
            merge = "add"  # meaningless without branches; fixed so decode(encode(a)) == a
        blocks.append(replace(b, conv=conv, branches=tuple(branches), merge=merge, pool=pool))
        hw = out
    return replace(arch, blocks=tuple(blocks), dense=arch.dense[: space.dense_layers_max])


def space_violations(arch: Arch, space: SearchSpace) -> list[str]:
    """Where ``arch`` uses a value the space does not offer (empty = inside the space)."""
    bad: list[str] = []

    def check(where: str, value: Any, choices: tuple[Any, ...]) -> None:
        if value not in choices:
            bad.append(f"{where}={value!r} not in {choices}")

    if not space.conv_blocks_min <= len(arch.blocks) <= space.conv_blocks_max:
        bad.append(f"{len(arch.blocks)} conv blocks")
    if not space.dense_layers_min <= len(arch.dense) <= space.dense_layers_max:
        bad.append(f"{len(arch.dense)} dense layers")
    for i, b in enumerate(arch.blocks):
        for c in (b.conv, *[c for br in b.branches for c in br]):
            check(f"block {i} filters", c.filters, space.filters)
            check(f"block {i} kernel_size", c.kernel_size, space.kernel_sizes)
            check(f"block {i} strides", c.strides, space.strides)
            check(f"block {i} padding", c.padding, space.paddings)
            check(f"block {i} activation", c.activation, space.activations)
        check(f"block {i} batch_norm", b.batch_norm, space.batch_norm)
        check(f"block {i} dropout", b.dropout, space.block_dropout_rates)
        if len(b.branches) > space.branches.max_branches:
            bad.append(f"block {i} has {len(b.branches)} branches")
        if any(len(br) > space.branches.max_depth for br in b.branches):
            bad.append(f"block {i} branch too deep")
        if b.branches:
            check(f"block {i} merge", b.merge, space.branches.merge)
        if b.pool is None:
            check(f"block {i} pool", "none", space.pooling)
        else:
            check(f"block {i} pool", b.pool.kind, space.pooling)
            check(f"block {i} pool_size", b.pool.pool_size, (space.pool_size,))
            check(f"block {i} pool strides", b.pool.strides, (space.pool_strides,))
    check("head", arch.head, space.heads)
    for j, d in enumerate(arch.dense):
        check(f"dense {j} units", d.units, space.units)
        check(f"dense {j} activation", d.activation, space.activations)
        check(f"dense {j} dropout", d.dropout, space.dropout_rates)
    check("optimizer", arch.optimizer.name, space.optimizers)
    check("learning_rate", arch.optimizer.learning_rate, space.learning_rates)
    if arch.optimizer.name == "sgd":
        check("momentum", arch.optimizer.momentum, space.momentums)
    return bad
