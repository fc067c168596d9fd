"""Is a final test accuracy above the seed CNN's more than training noise? Finals over seeds.

    .venv/bin/python -m bench.final_noise docs/figures/search_quality_2026-11-28b.json ... \\
        [--seeds 1,2,3,4] [--methods aging,nsga2] [--json out.json] [--known earlier.json] \\
        [--variants conv2-128,...] [--schedule constant|cosine]

``bench/search_quality.py`` retrains each method's best genome once (one training seed) for 8
epochs on the 60k and scores it on the test split; the target compares those single figures with
the seed CNN's. This takes the final genomes its JSON reports wrote, plus the seed CNN, and
repeats exactly that final (``worker.evaluator.final_train``, same epochs and batch) under several
training seeds, so the difference between a found genome and the seed CNN can be read against the
spread that the seed alone causes. Every genome sees the same seeds (paired differences).
``--variants`` adds hand-written genomes of ``bench/learning_curves.py``; ``--schedule cosine``
anneals each final's learning rate to zero (the protocol's final keeps it constant), to see
whether a schedule opens room above the seed CNN.

A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

Genome = dict[str, Any]


def finals_from_reports(paths: list[Path], methods: set[str] | None) -> dict[str, Genome]:
    """``{label: genome}`` of the distinct final genomes in search_quality JSON reports.

    A genome several methods (or runs) retrained appears once, labelled by all of them.
    """
    from backend.search.genome import genome_hash

    labels: dict[str, list[str]] = {}
    genomes: dict[str, Genome] = {}
    for path in paths:
        report = json.loads(path.read_text())
        run = path.stem.removeprefix("search_quality_")
        for method, genome in report.get("final_genomes", {}).items():
            if genome is None or (methods and not {method, f"{run}:{method}"} & methods):
                continue
            h = genome_hash(genome)
            genomes.setdefault(h, genome)
            labels.setdefault(h, []).append(f"{run}:{method}")
    return {" ".join(labels[h]): genomes[h] for h in genomes}


def with_variants(found: dict[str, Genome], extra: dict[str, Genome]) -> dict[str, Genome]:
    """``found`` plus the hand-written ``extra`` genomes, a genome already in ``found`` merged
    into its entry (labels joined) so that it is trained once, not once per label."""
    from backend.search.genome import genome_hash

    merged = dict(found)
    for name, genome in extra.items():
        h = genome_hash(genome)
        same = next((k for k, g in merged.items() if genome_hash(g) == h), None)
        if same is None:
            merged[name] = genome
        else:
            merged[f"{same} {name}"] = merged.pop(same)
    return merged


def machine() -> str:
    """The processor, its vector extensions and the TensorFlow version: what a final's figures
    depend on besides the genome and the seed. Two 2-core "AMD EPYC" VMs of this workplace
    (the faster one, and a slower one without AVX-512) train the seed CNN's seed-1 final to
    0.9185 and 0.9205."""
    import tensorflow as tf

    from worker.evaluator import cpu_model

    flags: set[str] = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.partition(":")[2].split())
                break
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "amx_tile") if f in flags]
    return f"{cpu_model()} [{' '.join(isa)}] tensorflow {tf.__version__}"


#: Machine types (``machine()``) measured to train bit-identical figures: the Intel type's finals
#: equal the faster AMD type's (the seed CNN's seeds 1-4, Keras Tuner's; docs/benchmarks.md), and
#: the seed CNN's 2-epoch candidate (seed 1, one thread) gives the same validation loss to the
#: last bit on both (2026-11-30).
SAME_FIGURES: tuple[frozenset[str], ...] = (
    frozenset(
        {
            "AMD EPYC [avx2 fma avx512f avx512_vnni] tensorflow 2.21.0",
            "Intel(R) Xeon(R) Processor [avx2 fma avx512f avx512_vnni amx_tile] tensorflow 2.21.0",
        }
    ),
)


def same_figures(recorded: str | None, here: str) -> bool:
    """Whether figures recorded on machine type ``recorded`` hold on ``here``."""
    return recorded == here or any({recorded, here} <= group for group in SAME_FIGURES)


def known_scores(
    paths: list[Path], here: str, schedule: str = "constant", epochs: int = 8
) -> dict[tuple[str, int], float]:
    """``{(genome hash, seed): test accuracy}`` from earlier ``--json`` outputs of this script.

    A final is deterministic for a genome, a seed, a schedule and a length on one machine (op
    determinism), so a figure measured before is reused rather than trained again; that also
    merges runs. Outputs of another machine (``here``, ``same_figures``; older outputs did not
    record theirs), schedule or length (older ones: constant, 8 epochs) are skipped, and the run
    says so.
    """
    from backend.search.genome import genome_hash

    known: dict[tuple[str, int], float] = {}
    for path in paths:
        old = json.loads(path.read_text())
        setting = (old.get("machine"), old.get("schedule", "constant"), old.get("final_epochs", 8))
        if not same_figures(setting[0], here) or setting[1:] != (schedule, epochs):
            print(f"# --known {path}: not reused, measured with {setting}")
            continue
        for label, genome in old["genomes"].items():
            h = genome_hash(genome)
            known.update(zip(((h, s) for s in old["seeds"]), old["scores"][label], strict=True))
    return known


def paired_summary(scores: list[float], base: list[float]) -> dict[str, float]:
    """Mean, sample sd, the mean paired difference to the baseline (same seeds) and its t.

    t = mean difference / its standard error: the difference in units of the seeds' noise.
    """
    diffs = [a - b for a, b in zip(scores, base, strict=True)]
    diff_mean = statistics.fmean(diffs)
    diff_sd = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
    return {
        "mean": statistics.fmean(scores),
        "sd": statistics.stdev(scores) if len(scores) > 1 else 0.0,
        "diff_mean": diff_mean,
        "diff_sd": diff_sd,
        "wins": float(sum(d > 0 for d in diffs)),
        "t": diff_mean / (diff_sd / len(diffs) ** 0.5) if diff_sd else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("reports", nargs="*", type=Path, help="search_quality --json reports")
    ap.add_argument(
        "--methods", help="comma list of method or run:method (run: the report's date part)"
    )
    ap.add_argument("--seeds", default="1,2,3,4", help="training seeds, comma list")
    ap.add_argument(
        "--variants", help="comma list of bench/learning_curves.py genomes to retrain as well"
    )
    ap.add_argument(
        "--schedule",
        choices=("constant", "cosine"),
        default="constant",
        help="the final's learning rate: constant (the protocol) or annealed to zero",
    )
    ap.add_argument("--final-epochs", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write every figure here")
    ap.add_argument(
        "--known",
        type=Path,
        action="append",
        default=[],
        help="an earlier --json of this script: its finals (same machine) are reused, not rerun",
    )
    args = ap.parse_args(argv)
    os.environ["NASBOARD_TF_THREADS"] = str(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]

    from backend.datasets.builtin import load_fashion_mnist
    from backend.search.cost import cost
    from backend.search.genome import genome_hash
    from backend.search.space import baseline_genome
    from bench.learning_curves import variants
    from worker.evaluator import final_train

    shape = (28, 28, 1)
    base = baseline_genome(shape)
    wanted = set(args.methods.split(",")) if args.methods else None
    found = finals_from_reports(args.reports, wanted)
    hand = variants(base)
    names = args.variants.split(",") if args.variants else []
    for name in names:
        if name not in hand:
            ap.error(f"unknown variant {name!r}; choose from {', '.join(hand)}")
    found = with_variants(found, {name: hand[name] for name in names})
    base_hash = genome_hash(base)
    table = {"seed CNN": base} | {k: g for k, g in found.items() if genome_hash(g) != base_hash}
    base_flops = cost(base, shape, 10)[1]
    data = None  # loaded on the first final to train: reused figures need none
    here = machine()
    known = known_scores(args.known, here, args.schedule, args.final_epochs)
    runs = len(table) * len(seeds)
    print(
        f"# {len(table)} genomes x seeds {seeds}: {runs} finals of {args.final_epochs} epochs, "
        f"{args.schedule} learning rate, on {here}"
    )
    scores: dict[str, list[float]] = {}
    done = 0
    for label, genome in table.items():
        scores[label] = []
        h = genome_hash(genome)
        for seed in seeds:
            done += 1
            if (h, seed) in known:
                scores[label].append(known[h, seed])
                print(f"[{done}/{runs}] {label}  seed {seed}: test {known[h, seed]:.4f} (known)")
                continue
            start = time.perf_counter()
            data = data or load_fashion_mnist()
            out = final_train(
                genome,
                data,
                10,
                epochs=args.final_epochs,
                batch_size=args.batch_size,
                seed=seed,
                cosine_decay=args.schedule == "cosine",
            )
            acc = float(out.metrics["test_accuracy"])
            scores[label].append(acc)
            print(
                f"[{done}/{runs}] {label}  seed {seed}: test {acc:.4f} "
                f"({time.perf_counter() - start:.0f} s)",
                flush=True,
            )

    summary = {k: paired_summary(v, scores["seed CNN"]) for k, v in scores.items()}
    print(
        f"\n{'genome':<60} {'FLOPs x':>7} {'mean':>7} {'sd':>7} "
        f"{'- seed CNN':>15} {'t':>5} {'wins':>5}"
    )
    for label, s in summary.items():
        flops = cost(table[label], shape, 10)[1] / base_flops
        print(
            f"{label[:60]:<60} {flops:>7.2f} {s['mean']:>7.4f} {s['sd']:>7.4f} "
            f"{s['diff_mean']:>+8.4f}±{s['diff_sd']:.4f} {s['t']:>5.1f} "
            f"{int(s['wins']):>2}/{len(seeds)}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "seeds": seeds,
                    "machine": here,
                    "schedule": args.schedule,
                    "final_epochs": args.final_epochs,
                    "scores": scores,
                    "summary": summary,
                    "genomes": table,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
