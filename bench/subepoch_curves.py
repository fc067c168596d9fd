"""Could the early stop judge inside the first epoch? Validation accuracy after a few steps.

    .venv/bin/python -m bench.subepoch_curves docs/figures/search_quality_*.json \\
        [--methods aging-es] [--at 48,96,192] [--workers 2] [--json out.json]

The median-stopping rule (``backend.search.early_stop``) judges a candidate after an epoch; with
2-epoch candidates a stop saves one epoch at most, and on the slower VM type, where a 600 s
search holds ten seed-CNN-sized candidates, the early stop cannot lift the rate to 1.5x Keras
Tuner's (``bench/early_stop_replay.py``, 2026-12-01). A first judgement after a fraction of the
first epoch (a Hyperband-style rung below one epoch) would save more per stop, if the accuracy
after a few hundred steps orders candidates as the 2-epoch score does. This trains every
candidate ``bench/search_quality.py`` recorded for the methods asked (2 epochs of the protocol:
the 50k, batch 128; each with the worker's training seed, ``seed * 100_003 + generation * 1009
+ index`` for a population of 8) and scores the validation split after ``--at`` training steps
of the first epoch, as well as after each epoch. It records for each point the validation
accuracy, the training seconds to that point and the seconds the extra scoring took, so that
``bench/rung_replay.py --curves`` can replay a rule that judges there on the runs'
recorded timings. Where this machine's type is the run's, the 2-epoch score must equal the
recorded one (op determinism; the extra scoring neither draws random numbers nor changes a
weight): ``same`` counts those that do (over the epochs the run trained), a check of the
training seeds.

A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

#: search_quality's population (``Protocol.population``): the worker's seed rule counts
#: generations of this many proposals.
POPULATION = 8


def worker_seed(search_seed: int, index: int, population: int = POPULATION) -> int:
    """The training seed the protocol gave trial ``index`` (``worker.runner._claim``'s rule),
    assuming every proposal was trained in order (true where nothing was reused or skipped)."""
    return search_seed * 100_003 + (index // population) * 1009 + index % population


def _train(job: tuple[str, dict[str, Any], int, list[int]]) -> tuple[str, dict[str, Any]]:
    """One candidate in a pool process (``bench.trainers._init_process`` loaded the data)."""
    key, genome, seed, at = job
    import keras

    from bench.trainers import _DATA
    from worker.evaluator import train_candidate

    data = _DATA["data"]

    class Probe(keras.callbacks.Callback):
        """Scores the validation split once the optimizer has taken each of ``at`` steps."""

        def __init__(self) -> None:
            super().__init__()
            self.todo = sorted(at)
            self.points: list[dict[str, float]] = []
            self.eval_s = 0.0
            self.t0 = time.perf_counter()

        def on_train_begin(self, logs: dict | None = None) -> None:
            self.t0 = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            steps = int(self.model.optimizer.iterations.numpy())
            if not self.todo or steps < self.todo[0]:
                return
            self.todo = [s for s in self.todo if s > steps]
            t = time.perf_counter()
            probs = self.model.predict(data.x_val, batch_size=512, verbose=0)
            took = time.perf_counter() - t
            self.points.append(
                {
                    "steps": steps,
                    "val_accuracy": float((probs.argmax(axis=1) == data.y_val).mean()),
                    "train_s": t - self.t0 - self.eval_s,
                    "eval_s": took,
                }
            )
            self.eval_s += took

    probe = Probe()
    from worker import evaluator

    original = evaluator._Stream
    # The evaluator's own callback runs beside the probe: the candidate trains exactly as the
    # worker trains it (same hooks, same steps per call), only scored more often.

    class Streamed(evaluator._Stream):
        def set_model(self, model: Any) -> None:
            super().set_model(model)
            probe.set_model(model)

        def on_train_begin(self, logs: dict | None = None) -> None:
            super().on_train_begin(logs)
            probe.on_train_begin(logs)

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            super().on_train_batch_end(batch, logs)
            probe.on_train_batch_end(batch, logs)

    # The evaluator takes no extra callbacks: its own callback class is swapped, in this pool
    # process and for this one training, for one that also runs the probe.
    setattr(evaluator, "_Stream", Streamed)  # noqa: B010
    try:
        t0 = time.perf_counter()
        result = train_candidate(genome, data, 10, epochs=2, batch_size=128, seed=seed)
        wall = time.perf_counter() - t0
    finally:
        setattr(evaluator, "_Stream", original)  # noqa: B010
    keras.backend.clear_session()
    return key, {
        "points": probe.points,
        "val_curve": [p.get("val_accuracy") for p in result.history],
        "in_epochs_s": result.metrics.get("in_epochs_s"),
        "wall_s": wall,
        "probe_eval_s": probe.eval_s,
    }


def jobs_for(reports: list[Path], methods: set[str]) -> dict[str, dict[str, Any]]:
    """``{run/method/index: {run, method, index, seed, genome, recorded}}`` for every trial."""
    from bench.early_stop_replay import method_trials

    out: dict[str, dict[str, Any]] = {}
    for run, report, method, trials in method_trials(reports):
        if method not in methods:
            continue
        for trial in trials:
            if not trial.get("genome") or not trial.get("val_curve"):
                continue
            out[f"{run}/{method}/{trial['index']}"] = {
                "run": run,
                "method": method,
                "index": trial["index"],
                "seed": worker_seed(int(report["protocol"]["seed"]), int(trial["index"])),
                "genome": trial["genome"],
                "recorded": trial["val_curve"],
                "machine": report["protocol"].get("machine", ""),
            }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("reports", nargs="+", type=Path, help="search_quality JSON reports")
    ap.add_argument("--methods", default="aging-es")
    ap.add_argument("--at", default="48,96,192", help="optimizer steps of epoch 1 to score at")
    ap.add_argument("--workers", type=int, default=2, help="processes of 1 thread each")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    at = [int(s) for s in args.at.split(",") if s]

    from backend.search.genome import genome_hash
    from bench.final_noise import machine
    from bench.trainers import _init_process, configure_process

    configure_process(1)
    here = machine()
    entries = jobs_for(args.reports, {m for m in args.methods.split(",") if m})
    # one training per (genome, seed): runs that proposed the same genomes share them
    unique: dict[str, tuple[dict[str, Any], int]] = {}
    for e in entries.values():
        e["key"] = f"{genome_hash(e['genome'])}:{e['seed']}"
        unique.setdefault(e["key"], (e["genome"], e["seed"]))
    print(f"# {here}\n# {len(entries)} trials, {len(unique)} trainings, at steps {at}")
    trained: dict[str, dict[str, Any]] = {}
    t0 = time.monotonic()
    with ProcessPoolExecutor(
        args.workers,
        mp_context=get_context("spawn"),
        initializer=_init_process,
        initargs=("fashion-mnist", 1),
    ) as pool:
        jobs = [(k, g, s, at) for k, (g, s) in unique.items()]
        for i, (key, out) in enumerate(pool.map(_train, jobs), 1):
            trained[key] = out
            pts = "  ".join(f"@{p['steps']} {p['val_accuracy']:.4f}" for p in out["points"])
            print(
                f"[{i}/{len(jobs)} {time.monotonic() - t0:5.0f}s] {pts}  "
                f"epochs {' '.join(f'{v:.4f}' for v in out['val_curve'])}  "
                f"probe {out['probe_eval_s']:.1f}s of {out['wall_s']:.1f}s",
                flush=True,
            )
    same = sum(
        1
        for e in entries.values()
        if e["machine"] == here
        and trained[e["key"]]["val_curve"][: len(e["recorded"])] == e["recorded"]
    )
    comparable = sum(1 for e in entries.values() if e["machine"] == here)
    gaps = [
        abs(trained[e["key"]]["val_curve"][-1] - e["recorded"][-1])
        for e in entries.values()
        if len(e["recorded"]) == 2
    ]
    print(
        f"# same 2-epoch curve as recorded: {same} of {comparable} trials run on this type; "
        f"mean |2-epoch score - recorded| over all {len(gaps)} fully trained: "
        f"{statistics.fmean(gaps) if gaps else float('nan'):.4f}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": here,
                    "at": at,
                    "trials": {
                        k: {kk: vv for kk, vv in e.items() if kk != "genome"} | trained[e["key"]]
                        for k, e in entries.items()
                    },
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
