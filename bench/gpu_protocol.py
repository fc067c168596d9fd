"""nasboard's evolution on Fashion-MNIST with Keras 3 on JAX (the GPU machine), no TensorFlow.

    KERAS_BACKEND=jax python3 -m bench.gpu_protocol --data-dir .whl/fashion-mnist \\
        [--budget-s 300] [--json gpu.json]
    KERAS_BACKEND=tensorflow .venv/bin/python -m bench.gpu_protocol --dataset digits \\
        --budget-s 20 --epochs 1 --final-epochs 2                      # local smoke test

The search_quality protocol (bench/search_quality.py, /work/shared/PEERS.md) on an accelerator:
the same 50k/10k/10k split (the fixed permutation of ``backend.datasets.builtin``), the ``seed``
space, 2-epoch candidates at batch 128 capped at 50 s per epoch, ``--budget-s`` of search with
``backend.search.Engine`` (evolution, the seed CNN as candidate 0), the best retrained from
scratch for ``--final-epochs`` (8) on train+validation and scored once on test.

What differs from the CPU bench, on purpose: models come from ``worker.model_builder`` (Keras
only) and train with plain ``model.fit`` on numpy arrays; ``worker.evaluator`` is not imported
(it imports TensorFlow, which the GPU image does not have). Only numpy, pydantic, keras and the
backend's array library are needed: ``backend.search`` (numpy + pydantic), ``worker.model_builder``
(keras) and ``backend.datasets.builtin`` (numpy; scikit-learn only for ``--dataset digits``).

Reports: candidates per minute (useful / search wall), per-candidate training throughput in
images/s (first epoch, which includes XLA compilation, and the last epoch, steady state), best
validation accuracy, seconds to the first candidate at >= 0.90, the final test accuracy.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from bench.search_quality import TARGET_ACC, Guard, keras_guard


def load_data(dataset: str, data_dir: str) -> tuple[Any, tuple[int, int, int], int]:
    from backend.datasets.builtin import DIGITS, FASHION_MNIST, load_digits, load_fashion_mnist

    if dataset == "digits":
        return load_digits(), DIGITS.input_shape, DIGITS.num_classes
    return load_fashion_mnist(Path(data_dir)), FASHION_MNIST.input_shape, FASHION_MNIST.num_classes


def device_info() -> str:
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return f"keras {keras.__version__} on jax {jax.__version__}: {jax.devices()}"
    if backend == "torch":
        import torch

        dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        return f"keras {keras.__version__} on torch {torch.__version__}: {dev}"
    return f"keras {keras.__version__} on {backend} ({platform.processor() or 'cpu'})"


def train(
    genome: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    val: tuple[np.ndarray, np.ndarray] | None,
    *,
    input_shape: tuple[int, int, int],
    num_classes: int,
    epochs: int,
    batch_size: int,
    seed: int,
    guard: Guard,
) -> tuple[Any, dict[str, Any]]:
    """Build, compile and fit one genome; returns (model, facts)."""
    import keras

    from worker.model_builder import build_model, compile_model

    keras.utils.set_random_seed(seed)
    model = build_model(genome, input_shape, num_classes)
    compile_model(model, genome)
    hist = model.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=val,
        shuffle=True,
        verbose=0,
        callbacks=[keras_guard(guard)],
    ).history
    losses = [float(v) for v in hist.get("loss", [])]
    vals = [float(v) for v in hist.get("val_accuracy", [])]
    ok = (
        not guard.reason
        and len(losses) == epochs
        and all(math.isfinite(v) for v in losses)
        and (val is None or (len(vals) == epochs and math.isfinite(vals[-1])))
    )
    # training throughput: images / the epoch's training batches (validation not counted)
    ips = [round(len(x) / s, 1) for s in guard.train_s if s > 0]
    return model, {
        "useful": ok,
        "reason": guard.reason or ("" if ok else "nonfinite"),
        "val_accuracy": vals[-1] if ok and vals else None,
        "epoch_s": guard.epoch_s,
        "images_per_s_first_epoch": ips[0] if ips else None,
        "images_per_s_last_epoch": ips[-1] if ips else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "digits"])
    ap.add_argument(
        "--data-dir",
        default="/usr/share/datasets/fashion-mnist",
        help="folder with the four Fashion-MNIST *-ubyte.gz IDX files",
    )
    ap.add_argument("--budget-s", type=float, default=300.0)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--final-epochs", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--epoch-cap-s", type=float, default=50.0)
    ap.add_argument("--population", type=int, default=8)
    ap.add_argument(
        "--strategy", default="evolution", choices=["evolution", "aging", "random", "nsga2"]
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--flops-factor",
        type=float,
        default=None,
        help="max_flops as a multiple of the seed CNN's (default: no cost filter)",
    )
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)

    from backend.search.cost import cost
    from backend.search.engine import Engine, EngineConfig, Result
    from backend.search.space import PRESETS, baseline_genome

    data, input_shape, num_classes = load_data(args.dataset, args.data_dir)
    print(device_info(), flush=True)
    print(
        f"{args.dataset}: train {len(data.x_train)} / val {len(data.x_val)} / test "
        f"{len(data.x_test)}; {args.strategy}, population {args.population}, "
        f"{args.epochs}-epoch candidates, batch {args.batch_size}, budget {args.budget_s:.0f} s",
        flush=True,
    )
    space = PRESETS["seed"]
    if args.flops_factor:
        _, base = cost(baseline_genome(input_shape), input_shape, num_classes)
        space = space.model_copy(update={"max_flops": int(base * args.flops_factor)})
    engine = Engine(
        EngineConfig(
            strategy=args.strategy,
            space=space,
            input_shape=input_shape,
            num_classes=num_classes,
            population_size=args.population,
            generations=10_000,
            seed=args.seed,
            include_baseline=True,
        )
    )
    trials: list[dict[str, Any]] = []
    start = time.monotonic()
    deadline = start + args.budget_s
    while time.monotonic() < deadline:
        proposals = engine.ask()
        if not proposals:
            break
        results = []
        for prop in proposals:
            if time.monotonic() >= deadline:
                results.append(Result(prop.generation, prop.index, None, 0, 0))
                continue
            seed = args.seed * 100_003 + prop.generation * 1009 + prop.index
            t0 = time.monotonic()
            params, flops = cost(prop.genome, input_shape, num_classes)
            try:
                _, facts = train(
                    prop.genome,
                    data.x_train,
                    data.y_train,
                    (data.x_val, data.y_val),
                    input_shape=input_shape,
                    num_classes=num_classes,
                    epochs=args.epochs,
                    batch_size=args.batch_size,
                    seed=seed,
                    guard=Guard(args.epoch_cap_s, deadline),
                )
            except Exception as exc:  # a genome that fails to build or train
                facts = {"useful": False, "reason": f"error: {type(exc).__name__}: {exc}"}
            facts.update(
                index=len(trials),
                origin=prop.origin,
                genome=prop.genome,
                params=params,
                flops=flops,
                train_s=round(time.monotonic() - t0, 2),
                ended_s=round(time.monotonic() - start, 2),
            )
            trials.append(facts)
            acc = facts.get("val_accuracy")
            print(
                f"  #{facts['index']:<3} {prop.origin:<18} "
                f"{'ok' if facts['useful'] else facts['reason']:<10} "
                f"val {'-' if acc is None else f'{acc:.4f}'}  flops {flops / 1e6:6.1f}M  "
                f"{facts['train_s']:6.1f} s  img/s first {facts.get('images_per_s_first_epoch')}"
                f" last {facts.get('images_per_s_last_epoch')}",
                flush=True,
            )
            results.append(
                Result(prop.generation, prop.index, acc if facts["useful"] else None, 0, 0)
            )
        engine.tell(results)
    wall = time.monotonic() - start

    useful = [t for t in trials if t["useful"]]
    best = max(useful, key=lambda t: (t["val_accuracy"], -t["index"])) if useful else None
    hits = [t["ended_s"] for t in useful if t["val_accuracy"] >= TARGET_ACC]
    last_ips = [t["images_per_s_last_epoch"] for t in useful if t.get("images_per_s_last_epoch")]
    summary: dict[str, Any] = {
        "device": device_info(),
        "dataset": args.dataset,
        "strategy": args.strategy,
        "budget_s": args.budget_s,
        "wall_s": round(wall, 1),
        "useful": len(useful),
        "proposed": len(trials),
        "candidates_per_min": round(len(useful) / (wall / 60), 3),
        "best_val_accuracy": best["val_accuracy"] if best else None,
        "first_val_at_0.90_s": min(hits) if hits else None,
        "median_images_per_s_last_epoch": float(np.median(last_ips)) if last_ips else None,
    }
    if best is not None:
        x = np.concatenate([data.x_train, data.x_val])
        y = np.concatenate([data.y_train, data.y_val])
        t0 = time.monotonic()
        model, facts = train(
            best["genome"],
            x,
            y,
            None,
            input_shape=input_shape,
            num_classes=num_classes,
            epochs=args.final_epochs,
            batch_size=args.batch_size,
            seed=args.seed,
            guard=Guard(math.inf, math.inf),
        )
        probs = model.predict(data.x_test, batch_size=512, verbose=0)
        summary["final_test_accuracy"] = float((probs.argmax(axis=1) == data.y_test).mean())
        summary["final_s"] = round(time.monotonic() - t0, 1)
        summary["final_images_per_s_last_epoch"] = facts["images_per_s_last_epoch"]
        summary["final_genome"] = best["genome"]
    summary["tensorflow_imported"] = "tensorflow" in sys.modules

    print()
    print(
        f"useful/proposed {summary['useful']}/{summary['proposed']} in {summary['wall_s']} s = "
        f"{summary['candidates_per_min']:.2f} candidates/min"
    )
    print(
        f"median training throughput (last epoch): {summary['median_images_per_s_last_epoch']}"
        " images/s per candidate"
    )
    first = summary["first_val_at_0.90_s"]
    print(
        f"best val accuracy {summary['best_val_accuracy']}; first >= 0.90: "
        + ("never" if first is None else f"{first:.0f} s")
    )
    print(
        f"final test accuracy {summary.get('final_test_accuracy')} "
        f"({args.final_epochs} epochs on train+val in {summary.get('final_s')} s)"
    )
    print(f"tensorflow imported: {summary['tensorflow_imported']}")
    if args.json:
        Path(args.json).write_text(json.dumps({**summary, "trials": trials}, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
