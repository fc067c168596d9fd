"""What tf.data's autotuner costs the worker's candidates, and that turning it off changes nothing.

    .venv/bin/python -m bench.data_autotune [--workers 2] [--repeats 1] [--epochs 2]
        [--genomes FILE:METHOD:INDEX,...] [--json out.json]

Trains each genome as a search's candidate (``worker.evaluator.train_candidate``: Fashion-MNIST
50k/10k, batch 128, training seed 1) with ``worker.evaluator.DATA_AUTOTUNE`` off (the worker's
setting) and on (``prefetch(AUTOTUNE)``, Keras' and tf.data's default), in ``--workers``
processes of 1 TensorFlow thread at once, as that many ``nasboard worker`` processes train on
a machine with that many cores. Each process trains every genome under both settings, in
opposite orders in neighbouring processes, so both settings see the same contention. Prints
per setting the candidates' wall seconds (the whole call), the seconds from the last epoch's
end to the call's return (the *tail*: scoring is already done, so nothing but a teardown
should be there) and each epoch's seconds; the ratio of the totals; and whether every run of a
genome gave the same validation curve and weights (a checksum of all of them).

Why: between a candidate's last epoch and its result the search runs showed 0-20 s (8-13% of
the candidates' time), and a second epoch often slower than the first, which compiles. A
stack sample put the time in ``RootDataset::Iterator``'s destructor waiting for the
autotuner's model thread, which sleeps through an optimisation period that doubles to 60 s.
Keras drops an iterator at each epoch's start (it makes the next one at the previous end) and
at the end of ``fit``. A benchmark: it asserts nothing but the equality.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from bench import trainers
from bench.steps_per_execution import checksum, load_genome

RUN_Z = "docs/figures/search_quality_2026-11-30z_warm_1_3_workers2_seed2_spe.json"
DEFAULT_GENOMES = ",".join(f"{RUN_Z}:random:{i}" for i in (12, 11, 13, 14))
SETTINGS = (False, True)  # DATA_AUTOTUNE: off (the worker's), on (the default before)


def _schedule(worker: int, n_genomes: int, repeats: int) -> list[tuple[int, bool]]:
    """(genome, autotune) in the order this process trains them: every genome under both
    settings, the order of the two flipped from one genome and one process to the next."""
    jobs = []
    for _ in range(repeats):
        for g in range(n_genomes):
            first = SETTINGS[(g + worker) % 2]
            jobs += [(g, first), (g, not first)]
    return jobs


def _run(worker: int, genomes: list[tuple[str, dict]], repeats: int, epochs: int) -> list[dict]:
    import gc

    import keras

    from worker import evaluator

    rows = []
    for g, autotune in _schedule(worker, len(genomes), repeats):
        name, genome = genomes[g]
        evaluator.DATA_AUTOTUNE = autotune
        ends: list[float] = []
        t0 = time.monotonic()

        def on_epoch(
            epoch: int, point: dict[str, float], t0: float = t0, ends: list[float] = ends
        ) -> bool:
            ends.append(time.monotonic() - t0)
            return True

        result = evaluator.train_candidate(
            genome,
            trainers._DATA["data"],
            10,
            epochs=epochs,
            batch_size=128,
            seed=1,
            on_epoch=on_epoch,
        )
        wall = time.monotonic() - t0
        rows.append(
            {
                "worker": worker,
                "genome": name,
                "autotune": autotune,
                "wall_s": round(wall, 3),
                "epoch_s": [round(b - a, 3) for a, b in zip([0.0, *ends], ends, strict=False)],
                "tail_s": round(wall - ends[-1], 3),
                "val_curve": [round(h["val_accuracy"], 6) for h in result.history],
                "checksum": checksum(result.model),
            }
        )
        print(
            f"  worker {worker} {name:10s} autotune {'on ' if autotune else 'off'}: "
            f"{wall:7.2f} s, epochs {rows[-1]['epoch_s']}, tail {rows[-1]['tail_s']:.2f} s",
            flush=True,
        )
        del result
        keras.backend.clear_session()
        gc.collect()
    return rows


def _label(autotune: bool) -> str:
    return "autotune on (before)" if autotune else "autotune off (worker)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2, help="processes training at once")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--genomes", default=DEFAULT_GENOMES, help="FILE:METHOD:INDEX,...")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)

    from worker.evaluator import cpu_model

    genomes = [load_genome(s) for s in args.genomes.split(",")]
    print(
        f"CPU: {cpu_model()}; {args.workers} processes x 1 TensorFlow thread; {args.epochs} epochs"
    )
    with ProcessPoolExecutor(
        args.workers,
        mp_context=get_context("spawn"),
        initializer=trainers._init_process,  # 1 thread, the dataset loaded once, as in a search
        initargs=("fashion-mnist", 1),
    ) as pool:
        for f in [pool.submit(trainers._ready, 1.0) for _ in range(args.workers)]:
            f.result()
        futures = [
            pool.submit(_run, w, genomes, args.repeats, args.epochs) for w in range(args.workers)
        ]
        rows = [row for f in futures for row in f.result()]

    summary = {}
    print(
        f"\n{'setting':22s} {'runs':>4s} {'total s':>8s} {'median s':>9s} "
        f"{'tails s':>8s} {'max tail':>8s} {'epoch 2 / 1':>11s}"
    )
    for autotune in SETTINGS:
        mine = [r for r in rows if r["autotune"] is autotune]
        ratio = [r["epoch_s"][1] / r["epoch_s"][0] for r in mine if len(r["epoch_s"]) > 1]
        summary[_label(autotune)] = s = {
            "runs": len(mine),
            "total_s": sum(r["wall_s"] for r in mine),
            "median_s": statistics.median(r["wall_s"] for r in mine),
            "tails_s": sum(r["tail_s"] for r in mine),
            "max_tail_s": max(r["tail_s"] for r in mine),
            "epoch2_over_epoch1": statistics.median(ratio) if ratio else None,
        }
        print(
            f"{_label(autotune):22s} {s['runs']:4d} {s['total_s']:8.1f} {s['median_s']:9.2f} "
            f"{s['tails_s']:8.1f} {s['max_tail_s']:8.2f} "
            + (f"{s['epoch2_over_epoch1']:11.2f}" if ratio else f"{'-':>11s}")
        )
    off, on = (summary[_label(a)]["total_s"] for a in SETTINGS)
    print(f"\ncandidates' time, autotune on / off: {on / off:.3f}x")
    same = {
        name: len(
            {json.dumps([r["val_curve"], r["checksum"]]) for r in rows if r["genome"] == name}
        )
        == 1
        for name, _ in genomes
    }
    print(
        "same curves and weights under both settings: "
        + ", ".join(f"{n} {'yes' if ok else 'NO'}" for n, ok in same.items())
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "cpu": cpu_model(),
                    "workers": args.workers,
                    "epochs": args.epochs,
                    "summary": summary,
                    "ratio_on_over_off": on / off,
                    "same": same,
                    "rows": rows,
                },
                indent=1,
            )
        )
    return 0 if all(same.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
