"""How far apart are the seed CNN and its neighbours after 8 epochs? Per-epoch validation curves.

    .venv/bin/python -m bench.learning_curves [--epochs 8] [--variants all] [--seed 1234]

Trains the seed's hand-designed CNN and variants of it from the ``seed`` search space (wider,
deeper, dropout, a slower learning rate...) on Fashion-MNIST's 50k train split with
``worker.evaluator.train_candidate`` (batch 128, 2 TensorFlow threads, one seed), and prints the
validation accuracy after every epoch with each genome's FLOPs relative to the seed CNN.

Why: ``bench/search_quality.py`` scores candidates after 2 epochs and retrains the best for 8;
these curves show how much the 2-epoch order says about the 8-epoch one, and how much room the
space leaves above the seed CNN at 8 epochs. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

Genome = dict[str, Any]


def _conv(node_id: str, filters: int, source: str) -> dict[str, Any]:
    params = {"filters": filters, "kernel_size": 3, "strides": 1, "padding": "same"}
    return {
        "id": node_id,
        "op": "conv2d",
        "inputs": [source],
        "params": params | {"activation": "relu"},
    }


def _pool(node_id: str, source: str) -> dict[str, Any]:
    params = {"pool_size": 2, "strides": 2, "padding": "valid"}
    return {"id": node_id, "op": "max_pool", "inputs": [source], "params": params}


def _with(genome: Genome, edit: Callable[[Genome], None]) -> Genome:
    out = copy.deepcopy(genome)
    edit(out)
    return out


def _convs(g: Genome) -> list[dict[str, Any]]:
    return [n for n in g["nodes"] if n["op"] == "conv2d"]


def _dense(g: Genome) -> dict[str, Any]:
    return next(n for n in g["nodes"] if n["op"] == "dense")


def _dropout(rate: float, units: int | None = None) -> Callable[[Genome], None]:
    def edit(g: Genome) -> None:
        dense = _dense(g)
        if units:
            dense["params"]["units"] = units
        g["nodes"].append(
            {"id": "drop", "op": "dropout", "inputs": [g["output"]], "params": {"rate": rate}}
        )
        g["output"] = "drop"

    return edit


def _drop_second_pool(g: Genome) -> None:
    """The seed CNN without its second max-pool: the dense layer reads 14x14 maps."""
    pools = [n for n in g["nodes"] if n["op"] == "max_pool"]
    last = pools[-1]
    for node in g["nodes"]:
        node["inputs"] = [last["inputs"][0] if i == last["id"] else i for i in node["inputs"]]
    g["nodes"].remove(last)


def _batch_norm(g: Genome) -> None:
    """Batch norm after every conv (a block's ``conv -> batch_norm`` in ``arch.py``)."""
    convs = {n["id"] for n in _convs(g)}
    nodes: list[dict[str, Any]] = []
    for node in g["nodes"]:
        node["inputs"] = [i + "_bn" if i in convs else i for i in node["inputs"]]
        nodes.append(node)
        if node["id"] in convs:
            bn = {"id": node["id"] + "_bn", "op": "batch_norm", "inputs": [node["id"]]}
            nodes.append(bn | {"params": {}})
    g["nodes"] = nodes


def _headed(
    nodes: list[dict[str, Any]],
    units: int,
    drop: float | None,
    ids: tuple[str, str] = ("flat", "fc"),
) -> Genome:
    """``nodes`` (ending in the last conv block) -> flatten -> dense ``units`` [-> dropout],
    adam 1e-3: the head every hand-written variant shares."""
    flat, fc = ids
    head = [
        {"id": flat, "op": "flatten", "inputs": [nodes[-1]["id"]], "params": {}},
        {
            "id": fc,
            "op": "dense",
            "inputs": [flat],
            "params": {"units": units, "activation": "relu"},
        },
    ]
    g: Genome = {
        "nodes": nodes + head,
        "output": fc,
        "optimizer": {"name": "adam", "learning_rate": 1e-3},
    }
    return _with(g, _dropout(drop)) if drop else g


def _vgg(f1: int, f2: int, drop: float | None) -> Genome:
    """conv-conv-pool twice (two conv blocks without a pool, in the seed space's terms)."""
    nodes = [
        _conv("n0", f1, "input"),
        _conv("n1", f1, "n0"),
        _pool("n2", "n1"),
        _conv("n3", f2, "n2"),
        _conv("n4", f2, "n3"),
        _pool("n5", "n4"),
    ]
    return _headed(nodes, 128, drop, ids=("n6", "n7"))


def _stack(filters: tuple[int, ...], units: int, drop: float | None) -> Genome:
    """conv-pool blocks at these filters (same padding), flatten, one dense layer."""
    nodes: list[dict[str, Any]] = []
    source = "input"
    for i, f in enumerate(filters):
        nodes += [_conv(f"c{i}", f, source), _pool(f"p{i}", f"c{i}")]
        source = f"p{i}"
    return _headed(nodes, units, drop)


def variants(base: Genome) -> dict[str, Genome]:
    def filters(i: int, value: int) -> Callable[[Genome], None]:
        return lambda g: _convs(g)[i]["params"].update(filters=value)

    def both(*edits: Callable[[Genome], None]) -> Callable[[Genome], None]:
        def edit(g: Genome) -> None:
            for e in edits:
                e(g)

        return edit

    return {
        "seed": base,
        "seed+drop0.25": _with(base, _dropout(0.25)),
        "seed+drop0.5": _with(base, _dropout(0.5)),
        "seed256+drop0.5": _with(base, _dropout(0.5, units=256)),
        "conv2-128": _with(base, filters(1, 128)),
        "wide64-128": _with(base, both(filters(0, 64), filters(1, 128))),
        "vgg16-32": _vgg(16, 32, None),
        "vgg16-32+drop0.5": _vgg(16, 32, 0.5),
        "lr3e-4": _with(base, lambda g: g["optimizer"].update(learning_rate=3e-4)),
        "three32-64-128": _stack((32, 64, 128), 128, None),
        "three32-64-128+d256drop0.5": _stack((32, 64, 128), 256, 0.5),
        "three32-64-64+drop0.25": _stack((32, 64, 64), 128, 0.25),
        "conv2-k5": _with(base, lambda g: _convs(g)[1]["params"].update(kernel_size=5)),
        # what the warm-started searches found (docs/benchmarks.md, runs i, k, l)
        "no-pool2": _with(base, _drop_second_pool),
        "dense-tanh": _with(base, lambda g: _dense(g)["params"].update(activation="tanh")),
        # Outside the seed space (no batch norm there): how much room a wider space leaves.
        "seed+bn": _with(base, _batch_norm),
        "seed+bn+drop0.5": _with(_with(base, _batch_norm), _dropout(0.5)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--variants", default="all", help="comma list, or all")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    os.environ["NASBOARD_TF_THREADS"] = str(args.threads)

    from backend.datasets.builtin import load_fashion_mnist
    from backend.search.arch import decode, space_violations
    from backend.search.cost import cost
    from backend.search.space import PRESETS, baseline_genome
    from worker.evaluator import train_candidate

    shape = (28, 28, 1)
    table = variants(baseline_genome(shape))
    names = list(table) if args.variants == "all" else args.variants.split(",")
    unknown = [n for n in names if n not in table]
    if unknown:
        ap.error(f"unknown variants {unknown}; choose from {', '.join(table)}")
    base_flops = cost(table["seed"], shape, 10)[1]
    data = load_fashion_mnist()
    print(f"{'variant':<26} {'FLOPs x':>7} {'in seed space':>13} {'s':>5}  val accuracy by epoch")
    for name in names:
        genome = table[name]
        in_space = not space_violations(decode(genome), PRESETS["seed"])
        start = time.perf_counter()
        result = train_candidate(
            genome, data, 10, epochs=args.epochs, batch_size=128, seed=args.seed
        )
        curve = " ".join(f"{h['val_accuracy']:.4f}" for h in result.history)
        print(
            f"{name:<26} {cost(genome, shape, 10)[1] / base_flops:>7.2f} {in_space!s:>13} "
            f"{time.perf_counter() - start:>5.0f}  {curve}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
