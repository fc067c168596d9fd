"""A confirmation trained on from its candidate's model, against one trained again from scratch.

    .venv/bin/python -m bench.resume_confirm [--variants seed,no-pool2,dense-tanh]
        [--epochs 2] [--confirm-epochs 4] [--seed 100004] [--no-scratch] [--json out.json]

For each genome (``bench/learning_curves.py`` names) on Fashion-MNIST's 50k/10k split, batch 128:
the candidate (``--epochs``, training seed ``--seed``), saved and loaded as the worker does
(``worker.evaluator.save_keras`` / ``load_for_resume``, which must score exactly what was saved),
then trained on to ``--confirm-epochs`` (what a confirmation does since 2026-11-29), and, unless
``--no-scratch``, the same genome trained from scratch for ``--confirm-epochs`` (what it did
before). Prints each one's validation accuracy by epoch and seconds.

Why: the confirmation reserve is held back from a search's time budget; resuming costs the
missing epochs only. This shows what that buys per confirmation on this machine and whether the
resumed and the from-scratch scores rank the genomes alike. A benchmark: it asserts nothing
but the reload's score.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _curve(history: list[dict[str, float]]) -> list[float]:
    return [round(h.get("val_accuracy", float("nan")), 4) for h in history]


def run_one(name: str, genome: dict[str, Any], data: Any, args: argparse.Namespace) -> dict:
    from worker.evaluator import load_for_resume, save_keras, train_candidate

    def train(epochs: int, seed: int, **kw: Any) -> tuple[Any, float]:
        t0 = time.perf_counter()
        result = train_candidate(genome, data, 10, epochs=epochs, batch_size=128, seed=seed, **kw)
        return result, time.perf_counter() - t0

    candidate, candidate_s = train(args.epochs, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "candidate.keras"
        t0 = time.perf_counter()
        save_keras(candidate.model, path)
        model = load_for_resume(path)
        io_s = time.perf_counter() - t0
    reloaded = model.evaluate(data.x_val, data.y_val, batch_size=128, verbose=0)[1]
    if abs(reloaded - candidate.metrics["val_accuracy"]) > 1e-6:
        raise SystemExit(f"{name}: the reloaded model scores {reloaded}, not what was saved")
    resumed, resumed_s = train(
        args.confirm_epochs, args.seed + 1, resume=model, initial_epoch=args.epochs
    )
    row: dict[str, Any] = {
        "variant": name,
        "candidate_curve": _curve(candidate.history),
        "candidate_s": round(candidate_s, 1),
        "save_load_s": round(io_s, 1),
        "resumed_curve": _curve(resumed.history),
        "resumed_s": round(resumed_s, 1),
        "resumed_val": round(resumed.metrics["val_accuracy"], 4),
    }
    if args.scratch:
        scratch, scratch_s = train(args.confirm_epochs, args.seed + 1)
        row |= {
            "scratch_curve": _curve(scratch.history),
            "scratch_s": round(scratch_s, 1),
            "scratch_val": round(scratch.metrics["val_accuracy"], 4),
        }
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--variants", default="seed,no-pool2,dense-tanh", help="comma list")
    ap.add_argument("--epochs", type=int, default=2, help="the candidate's epochs")
    ap.add_argument("--confirm-epochs", type=int, default=4, help="a confirmation's, in all")
    ap.add_argument(
        "--seed", type=int, default=100_004, help="the candidate's training seed (run l's #1)"
    )
    ap.add_argument("--no-scratch", dest="scratch", action="store_false")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.confirm_epochs <= args.epochs:
        ap.error("--confirm-epochs must be more than --epochs: nothing to train on")
    os.environ["NASBOARD_TF_THREADS"] = str(args.threads)

    from backend.datasets.builtin import load_fashion_mnist
    from backend.search.space import baseline_genome
    from bench.learning_curves import variants
    from worker.evaluator import device_description

    table = variants(baseline_genome((28, 28, 1)))
    names = args.variants.split(",")
    unknown = [n for n in names if n not in table]
    if unknown:
        ap.error(f"unknown variants {unknown}; choose from {', '.join(table)}")
    data = load_fashion_mnist()
    print(
        f"{device_description()}; candidates {args.epochs} epochs, confirmations to "
        f"{args.confirm_epochs}; validation accuracy by epoch, seconds",
        flush=True,
    )
    rows = []
    for name in names:
        row = run_one(name, table[name], data, args)
        rows.append(row)
        line = (
            f"{name:<12} candidate {row['candidate_curve']} {row['candidate_s']:.0f} s | "
            f"resumed {row['resumed_curve']} {row['resumed_s']:.0f} s"
            f" (+{row['save_load_s']:.1f} s save/load)"
        )
        if args.scratch:
            line += f" | scratch {row['scratch_curve']} {row['scratch_s']:.0f} s"
        print(line, flush=True)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": device_description(),
                    "args": vars(args) | {"json": None},
                    "rows": rows,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
