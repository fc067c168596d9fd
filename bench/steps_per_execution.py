"""What the worker's ``steps_per_execution`` saves per candidate, and that it changes nothing.

    .venv/bin/python -m bench.steps_per_execution [--spe 1,16,64] [--repeats 2] [--threads 1]
        [--genomes FILE:METHOD:INDEX,...] [--epochs 2] [--json out.json]

Trains each genome as a search's candidate (``worker.evaluator.train_candidate``: Fashion-MNIST
50k/10k, batch 128, training seed 1) once per ``--spe`` value and repeat, the values in a
rotated order each time so a drift of the machine's speed falls on all of them. Prints each
genome's median seconds per value (the whole call: build, compile, epochs, latency probe),
the ratio to the first value, and whether every value gave the same validation curve and
the same weights (a checksum of all of them): the setting must only change speed.

Why: Keras calls into TensorFlow once per batch by default; a small candidate's batch is a
few milliseconds of arithmetic on a CPU, so the per-call Python and dispatch is a share of
its time. The default genomes are run w's random trials from 0.6 to 8.5 MFLOPs (the seed CNN).
A benchmark: it asserts nothing but the equality.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench.trainers import configure_process

RUN_W = "docs/figures/search_quality_2026-11-30w_full_warm_1_3_workers2.json"
DEFAULT_GENOMES = ",".join(f"{RUN_W}:random:{i}" for i in (30, 13, 2, 0))


def load_genome(spec: str) -> tuple[str, dict[str, Any]]:
    """``FILE:METHOD:INDEX``: trial INDEX of METHOD in a ``bench/search_quality.py`` JSON."""
    path, method, index = spec.rsplit(":", 2)
    trials = json.loads(Path(path).read_text())["trials"][method]
    trial = next(t for t in trials if t["index"] == int(index))
    return f"{method}#{index}", trial["genome"]


def checksum(model: Any) -> float:
    """The sum of every weight in float64: equal for bit-identical trainings (in practice)."""
    import numpy as np

    return float(sum(np.sum(w.numpy().astype(np.float64)) for w in model.weights))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spe", default="1,16,64", help="steps_per_execution values, first = base")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="TensorFlow threads (a worker's 1)")
    ap.add_argument("--genomes", default=DEFAULT_GENOMES, help="FILE:METHOD:INDEX,...")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    values = [int(v) for v in args.spe.split(",")]

    configure_process(args.threads)
    from backend.datasets.builtin import load
    from backend.search.cost import cost
    from worker.evaluator import cpu_model, train_candidate

    data = load("fashion-mnist")
    genomes = [load_genome(s) for s in args.genomes.split(",")]
    print(f"CPU: {cpu_model()}; {args.threads} TensorFlow thread(s); {args.epochs} epochs")
    seconds: dict[str, dict[int, list[float]]] = {n: {v: [] for v in values} for n, _ in genomes}
    outcome: dict[str, dict[int, tuple[list[float], float]]] = {n: {} for n, _ in genomes}
    turn = 0
    for rep in range(args.repeats):
        for name, genome in genomes:
            order = values[turn % len(values) :] + values[: turn % len(values)]
            turn += 1
            for spe in order:
                t0 = time.perf_counter()
                result = train_candidate(
                    genome,
                    data,
                    10,
                    epochs=args.epochs,
                    batch_size=128,
                    seed=1,
                    steps_per_execution=spe,
                )
                took = time.perf_counter() - t0
                seconds[name][spe].append(took)
                curve = [round(h["val_accuracy"], 6) for h in result.history]
                outcome[name][spe] = (curve, checksum(result.model))
                print(f"  repeat {rep + 1} {name:10s} spe {spe:3d}: {took:6.2f} s  val {curve}")

    rows = []
    print(
        f"\n{'genome':10s} {'MFLOPs':>7s} "
        + " ".join(f"{'spe ' + str(v):>9s}" for v in values)
        + "  "
        + " ".join(f"{'x' + str(v):>6s}" for v in values[1:])
        + "  same"
    )
    for name, genome in genomes:
        _, flops = cost(genome, data.x_train.shape[1:], 10)
        med = {v: statistics.median(seconds[name][v]) for v in values}
        same = len({json.dumps(outcome[name][v]) for v in values}) == 1
        rows.append(
            {
                "genome": name,
                "flops": flops,
                "median_s": med,
                "seconds": seconds[name],
                "speedup": {v: med[values[0]] / med[v] for v in values[1:]},
                "same": same,
            }
        )
        print(
            f"{name:10s} {(flops or 0) / 1e6:7.1f} "
            + " ".join(f"{med[v]:8.2f}s" for v in values)
            + "  "
            + " ".join(f"{med[values[0]] / med[v]:5.2f}x" for v in values[1:])
            + f"  {'yes' if same else 'NO'}"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"cpu": cpu_model(), "threads": args.threads, "rows": rows}, indent=1)
        )
    return 0 if all(r["same"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
