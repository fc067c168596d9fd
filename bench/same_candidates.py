"""The same candidates through Keras Tuner's loop and through nasboard's workers.

    .venv/bin/python -m bench.same_candidates --trials FILE:METHOD [--every 2] [--limit 12]
        [--workers 2] [--json out.json]

Takes the useful candidates of one method of a ``bench/search_quality.py`` run (every
``--every``-th, at most ``--limit``) and trains each of them as a 2-epoch candidate of the
protocol twice: in Keras Tuner's own ``Tuner`` loop (``run_keras_tuner`` replaying the list
instead of sampling: its checkpoints, ``model.fit`` on numpy arrays, TensorFlow on all
``--threads`` in this process, as the protocol's Keras Tuner method runs) and as nasboard's
workers do (``--workers`` processes of ``--threads // --workers`` threads, each taking the next
candidate when it is free; ``worker.evaluator.train_candidate``). Each candidate has the same
training seed both ways. Prints both ways' wall time and candidates per minute, and the ratio.

Why: the protocol's rate target compares candidates per minute across methods that train
different candidates: Keras Tuner samples the space at random (median 3.2 MFLOPs in runs y
and z), nasboard's evolutionary strategies converge on the seed CNN's family (6.9-7.9). This
measures what a worker brings on identical work, apart from what a strategy chooses to train.
A benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import wait
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import search_quality as sq
from bench.trainers import Job, configure_process


def load_trials(spec: str, every: int, limit: int) -> list[dict[str, Any]]:
    """``FILE:METHOD``'s useful trials in index order, every ``every``-th, at most ``limit``."""
    path, method = spec.rsplit(":", 1)
    trials = json.loads(Path(path).read_text())["trials"][method]
    useful = sorted((t for t in trials if t["useful"]), key=lambda t: t["index"])
    return useful[::every][:limit]


def protocol(threads: int, workers: int, seed: int) -> sq.Protocol:
    """The search-quality protocol (its CLI's defaults) with no deadline to speak of."""
    from backend.datasets.builtin import get_info, load

    info = get_info("fashion-mnist")
    assert info is not None
    return sq.Protocol(
        dataset="fashion-mnist",
        data=load("fashion-mnist"),
        input_shape=tuple(info.input_shape),  # type: ignore[arg-type]
        num_classes=info.num_classes,
        budget_s=1e9,
        epochs=2,
        final_epochs=8,
        batch_size=128,
        epoch_cap_s=50.0,
        seed=seed,
        population=8,
        flops_factor=None,
        threads=threads,
        workers=workers,
    )


def nasboard_way(p: sq.Protocol, genomes: list[dict[str, Any]]) -> sq.MethodResult:
    """The candidates in ``p.workers`` processes, each taking the next one when free; every
    candidate seeded as Keras Tuner's trial of the same position is, and its model saved (Keras
    Tuner's loop writes its checkpoints)."""
    res = sq.MethodResult("nasboard workers")
    trainer = sq._trainer(p, res)
    try:
        start = time.monotonic()
        # keep=True: each scored model is saved as .keras, as the worker saves every candidate's
        jobs = [
            Job(g, p.seed * 100_003 + i, i, start, start + p.budget_s, keep=True)
            for i, g in enumerate(genomes)
        ]
        futures = [trainer.submit(job) for job in jobs]
        for fut in futures:  # progress, one line per candidate as the protocol prints them
            fut.add_done_callback(lambda f: sq._say_trial(p, res.method, f.result()[0], "replay"))
        wait(futures)
        res.wall_s = time.monotonic() - start
        res.trials = [f.result()[0] for f in futures]
    finally:
        trainer.close()
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", required=True, help="FILE:METHOD of a search_quality JSON")
    ap.add_argument("--every", type=int, default=1, help="take every K-th useful trial")
    ap.add_argument("--limit", type=int, default=12, help="at most this many")
    ap.add_argument("--threads", type=int, default=2, help="TensorFlow threads in all")
    ap.add_argument("--workers", type=int, default=2, help="nasboard's worker processes")
    ap.add_argument("--seed", type=int, default=2, help="the training seeds' base")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)

    configure_process(args.threads)
    from bench.final_noise import machine

    picked = load_trials(args.trials, args.every, args.limit)
    genomes = [t["genome"] for t in picked]
    p = sq.PROTOCOL = protocol(args.threads, args.workers, args.seed)
    flops = [sq._cost(g, p)[1] or 0 for g in genomes]
    print(
        f"same_candidates: {machine()}\n{len(genomes)} candidates of {args.trials} "
        f"(median {statistics.median(flops) / 1e6:.1f} MFLOPs); Keras Tuner's loop on "
        f"{args.threads} threads, then nasboard's {args.workers} worker processes",
        flush=True,
    )
    ways = [sq.run_keras_tuner(p, replay=genomes), nasboard_way(p, genomes)]
    kt, nb = ways
    print(f"\n{'way':24s} {'useful':>6s} {'wall s':>8s} {'cand/min':>9s}")
    for res in ways:
        print(f"{res.method:24s} {res.useful:6d} {res.wall_s:8.1f} {res.per_minute:9.2f}")
    ratio = nb.per_minute / kt.per_minute if kt.per_minute else float("nan")
    print(f"\nnasboard's workers / Keras Tuner's loop, candidates per minute: {ratio:.2f}x")
    print(f"\n{'#':>3s} {'MFLOPs':>7s} {'KT s':>7s} {'KT val':>7s} {'nb s':>7s} {'nb val':>7s}")
    for i, (f, a, b) in enumerate(zip(flops, kt.trials, nb.trials, strict=True)):
        print(
            f"{i:3d} {f / 1e6:7.1f} {a.ended_s - a.started_s:7.1f} {sq._fmt(a.val_accuracy):>7s}"
            f" {b.ended_s - b.started_s:7.1f} {sq._fmt(b.val_accuracy):>7s}"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "trials": args.trials,
                    "indices": [t["index"] for t in picked],
                    "ways": [r.summary() for r in ways],
                    "ratio": ratio,
                    "rows": {r.method: [asdict(t) for t in r.trials] for r in ways},
                },
                indent=1,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
