"""Which 2-epoch signal ranks genomes the way their 8-epoch finals do?

    .venv/bin/python -m bench.early_signals --finals docs/figures/final_noise_*.json \\
        --reports docs/figures/search_quality_*.json [--seeds 1,2] [--epochs 2] [--workers 2] \\
        [--schedule constant|cosine] [--merge earlier.json ...] [--compare val_acc@2:val_acc@4/1] \\
        [--json out.json]

The search scores a candidate by its validation accuracy after 2 epochs and ships the genome
whose 8-epoch final (60k, test once) is what the issue ranks by. This takes every genome whose
final test accuracy is on record (``bench/final_noise.py`` outputs: the mean over their training
seeds; ``bench/search_quality.py`` reports: each method's one final), trains each as a search
candidate (``worker.evaluator.train_candidate``: 2 epochs on the 50k, batch 128) under the
training seeds given, and prints how well each early signal, after each epoch (``val_acc@2``),
orders the genomes by their finals (Spearman and Kendall rank correlations of the signal averaged
over the seeds and of each seed alone, and the final of the genome the signal ranks first):

- ``val_acc``: validation accuracy (what the search ranks by);
- ``val_loss``: validation loss (lower is better);
- ``train_acc``, ``train_loss``: the epoch's running training accuracy and loss;
- ``tse``: the sum of the epochs' mean training losses so far (lower is better): the
  training-speed estimate of Ru et al., "Speedy Performance Estimation for Neural Architecture
  Search" (NeurIPS 2021), who found it ranks architectures by their final accuracy better than
  an early validation accuracy does.

``--schedule cosine`` trains the candidates with the learning rate annealed to zero over their
epochs (``train_candidate(cosine_decay=True)``) instead of the genome's constant rate; its
signals are named ``cos:val_acc@2`` and sit beside the constant ones of merged outputs, so a
short annealed training's ranking can be compared with a truncated one's.

``--merge`` adds the trainings of earlier outputs (e.g. seeds 1-2 for 2 epochs, then seed 1 for
4 epochs: same seed, same first epochs), so that one report compares, say, the mean of two
seeds' 2-epoch scores with one seed's 4-epoch score: what a confirmation could spend its extra
epochs on. ``--compare a:b`` bootstraps the difference of two signals' rank correlations
over the genomes (how sure the better one is better).

Finals depend on the machine (``bench.final_noise.machine``): pass only outputs measured on
this machine's type. A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

Genome = dict[str, Any]
Trained = dict[str, dict[int, list[dict[str, float]]]]  # genome hash -> seed -> history

#: schedule -> (the JSON field its trainings are stored under, the prefix of its signals)
SCHEDULES: dict[str, tuple[str, str]] = {
    "constant": ("trained", ""),
    "cosine": ("trained_cosine", "cos:"),
}

#: signal name -> (history key, sign): the genome with the larger sign * value ranks higher.
SIGNALS: dict[str, tuple[str, float]] = {
    "val_acc": ("val_accuracy", 1.0),
    "val_loss": ("val_loss", -1.0),
    "train_acc": ("train_accuracy", 1.0),
    "train_loss": ("train_loss", -1.0),
    "tse": ("train_loss", -1.0),  # summed over the epochs, not the last one
}


def known_finals(finals: list[Path], reports: list[Path]) -> dict[str, dict[str, Any]]:
    """``{genome hash: {"genome", "labels", "scores": {seed: test accuracy}}}`` on record."""
    from backend.search.genome import genome_hash

    out: dict[str, dict[str, Any]] = {}

    def add(label: str, genome: Genome, seed: int, test: float) -> None:
        entry = out.setdefault(genome_hash(genome), {"genome": genome, "labels": [], "scores": {}})
        if label not in entry["labels"]:
            entry["labels"].append(label)
        entry["scores"][seed] = test

    for path in finals:
        old = json.loads(path.read_text())
        for label, genome in old["genomes"].items():
            for seed, test in zip(old["seeds"], old["scores"][label], strict=True):
                add(label, genome, int(seed), float(test))
    for path in reports:
        report = json.loads(path.read_text())
        run = path.stem.removeprefix("search_quality_")
        seed = int(report["protocol"]["seed"])
        tests = {m["method"]: m.get("final_test_accuracy") for m in report["methods"]}
        for method, genome in report.get("final_genomes", {}).items():
            if genome is not None and tests.get(method) is not None:
                add(f"{run}:{method}", genome, seed, float(tests[method]))
    return out


def _train(job: tuple[str, Genome, int, int, bool]) -> tuple[str, int, list[dict[str, float]]]:
    """One candidate's training in a pool process (``bench.trainers``' initializer set up
    TensorFlow and loaded the dataset once): ``(hash, seed, per-epoch history)``."""
    key, genome, seed, epochs, cosine = job
    from bench.trainers import _DATA
    from worker.evaluator import train_candidate

    result = train_candidate(
        genome, _DATA["data"], 10, epochs=epochs, batch_size=128, seed=seed, cosine_decay=cosine
    )
    return key, seed, result.history


def signal(history: list[dict[str, float]], name: str, epoch: int) -> float:
    """The signal ``name`` after ``epoch`` epochs of one training, signed so that larger ranks
    higher."""
    key, sign = SIGNALS[name]
    if name == "tse":
        return sign * sum(point[key] for point in history[:epoch])
    return sign * history[epoch - 1][key]


def rank_figures(finals: list[float], values: list[float]) -> dict[str, float]:
    """Spearman's rho and Kendall's tau of one signal against the finals."""
    from scipy.stats import kendalltau, spearmanr

    return {
        "spearman": float(spearmanr(values, finals).statistic),
        "kendall": float(kendalltau(values, finals).statistic),
    }


def analyse(entries: dict[str, dict[str, Any]], runs: dict[str, Trained]) -> dict[str, Any]:
    """Per schedule, signal and epoch (``val_acc@2``, ``cos:val_acc@2``): rank correlations
    with the finals' means, of the signal averaged over the training seeds that reached that
    epoch for every genome and of each seed alone, and the final of the genome the averaged
    signal ranks first. Only genomes trained under every schedule on hand count, so that all
    signals rank the same genomes."""
    present = [t for t in runs.values() if t]
    keys = [k for k in entries if present and all(t.get(k) for t in present)]
    finals = [statistics.fmean(entries[k]["scores"].values()) for k in keys]
    out: dict[str, Any] = {}
    for schedule, trained in runs.items():
        if trained:
            out |= _analyse_schedule(entries, trained, keys, finals, SCHEDULES[schedule][1])
    out["finals"] = finals
    return out


def _analyse_schedule(
    entries: dict[str, dict[str, Any]],
    trained: Trained,
    keys: list[str],
    finals: list[float],
    prefix: str,
) -> dict[str, Any]:
    longest = max(len(h) for k in keys for h in trained[k].values())
    out: dict[str, Any] = {}
    for epoch in range(1, longest + 1):
        seeds = sorted(
            s
            for s in {s for k in keys for s in trained[k]}
            if all(len(trained[k].get(s, [])) >= epoch for k in keys)
        )
        if not seeds:
            continue
        for name in SIGNALS:
            values = {s: [signal(trained[k][s], name, epoch) for k in keys] for s in seeds}
            mean = [statistics.fmean(values[s][i] for s in seeds) for i in range(len(keys))]
            top = max(range(len(keys)), key=lambda i: mean[i])
            out[f"{prefix}{name}@{epoch}"] = {
                **rank_figures(finals, mean),
                "seeds": seeds,
                "per_seed": {str(s): rank_figures(finals, values[s]) for s in seeds},
                "top_genome": entries[keys[top]]["labels"][0],
                "top_final": finals[top],
                "best_final": max(finals),
                # how far apart two seeds' scores of one genome are: the noise of one score
                "seed_spread": statistics.fmean(
                    abs(values[seeds[0]][i] - values[seeds[1]][i]) for i in range(len(keys))
                )
                if len(seeds) > 1
                else None,
                "values": mean,
                "values_per_seed": {str(s): values[s] for s in seeds},
            }
    return out


def compare(figures: dict[str, Any], a: str, b: str, rounds: int = 5000) -> dict[str, float]:
    """How sure is it that signal ``a`` ranks the finals better than ``b``? Bootstrap over the
    genomes (``rounds`` resamples, fixed seed) of Spearman(a) - Spearman(b) on the same
    resample: its median, 5th and 95th percentiles, and the share of resamples where ``a`` is
    not better. A signal is ``val_acc@2`` (averaged over its seeds) or ``val_acc@2/1`` (seed 1)."""
    import numpy as np
    from scipy.stats import spearmanr

    def values(spec: str) -> np.ndarray:
        name, _, seed = spec.partition("/")
        f = figures[name]
        return np.array(f["values_per_seed"][seed] if seed else f["values"])

    finals, va, vb = np.array(figures["finals"]), values(a), values(b)
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(rounds):
        i = rng.integers(0, len(finals), len(finals))
        diffs.append(spearmanr(va[i], finals[i]).statistic - spearmanr(vb[i], finals[i]).statistic)
    d = np.array(diffs)
    d = d[np.isfinite(d)]
    return {
        "median": float(np.median(d)),
        "p5": float(np.percentile(d, 5)),
        "p95": float(np.percentile(d, 95)),
        "share_not_better": float(np.mean(d <= 0)),
    }


def split_pair(pair: str) -> tuple[str, str]:
    """``"cos:val_acc@2:val_acc@4/1"`` -> ``("cos:val_acc@2", "val_acc@4/1")``: the colon that
    separates two signals is the one after an epoch (a schedule's prefix has one too)."""
    match = re.fullmatch(r"(.+?@\d+(?:/\d+)?):(.+@\d+(?:/\d+)?)", pair)
    if match is None:
        raise SystemExit(f"--compare {pair!r}: expected signal:signal, e.g. val_acc@2:val_acc@4/1")
    return match[1], match[2]


def merge_trained(runs: dict[str, Trained], paths: list[Path], here: str) -> None:
    """Add the trainings of earlier ``--json`` outputs (this machine's only), per schedule: a
    genome and seed this run trained for fewer epochs, or not at all, takes the longer history
    (op determinism: the same seed's first epochs are the same; not so under the cosine
    schedule, whose rate depends on the length: merge cosine outputs of one ``--epochs`` only)."""
    from bench.final_noise import same_figures

    for path in paths:
        old = json.loads(path.read_text())
        if not same_figures(old.get("machine"), here):
            print(f"# --merge {path}: not used, measured on {old.get('machine')}")
            continue
        for key, entry in old["genomes"].items():
            for schedule, (field, _) in SCHEDULES.items():
                trained = runs[schedule]
                for seed, history in entry.get(field, {}).items():
                    mine = trained.setdefault(key, {}).get(int(seed), [])
                    if len(history) > len(mine):
                        trained[key][int(seed)] = history


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--finals", nargs="*", type=Path, default=[], help="final_noise --json")
    ap.add_argument("--reports", nargs="*", type=Path, default=[], help="search_quality --json")
    ap.add_argument("--seeds", default="1,2", help="training seeds; empty: train nothing")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="processes sharing --threads")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--schedule", choices=tuple(SCHEDULES), default="constant")
    ap.add_argument("--merge", nargs="*", type=Path, default=[], help="earlier --json outputs")
    ap.add_argument(
        "--compare",
        default="",
        help="comma list of a:b signal pairs to bootstrap, e.g. val_acc@2:val_acc@4/1",
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    pairs = {pair: split_pair(pair) for pair in filter(None, args.compare.split(","))}

    from bench.final_noise import machine
    from bench.trainers import configure_process

    configure_process(args.threads)
    here = machine()
    entries = known_finals(args.finals, args.reports)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    runs: dict[str, Trained] = {schedule: {} for schedule in SCHEDULES}
    merge_trained(runs, args.merge, here)
    runs = {s: {k: v for k, v in t.items() if k in entries} for s, t in runs.items()}
    _train_all(entries, runs[args.schedule], seeds, args)
    figures = analyse(entries, runs)
    width = max(len(name) for name in figures)
    print(
        f"\n{here}\n{'signal':<{width}} {'seeds':>5} {'spearman':>8} {'kendall':>8}  "
        f"{'per seed (spearman), |d| = mean gap between seeds':<52}"
        "  final of its top genome (best on record)"
    )
    for name, f in figures.items():
        if name == "finals":
            continue
        seeds_txt = " ".join(f"{v['spearman']:+.2f}" for v in f["per_seed"].values())
        if f["seed_spread"] is not None:
            seeds_txt += f" (|d| {f['seed_spread']:.4f})"
        print(
            f"{name:<{width}} {len(f['seeds']):>5} {f['spearman']:+8.3f} {f['kendall']:+8.3f}  "
            f"{seeds_txt:<52}  {f['top_final']:.4f} ({f['best_final']:.4f})  {f['top_genome']}"
        )
    comparisons = {}
    for pair, (a, b) in pairs.items():
        missing = [x.partition("/")[0] for x in (a, b) if x.partition("/")[0] not in figures]
        if missing:
            print(f"--compare {pair}: no figures for {', '.join(missing)}")
            continue
        c = comparisons[pair] = compare(figures, a, b)
        print(
            f"{a} - {b}: Spearman difference, bootstrap over genomes: median {c['median']:+.3f},"
            f" 90% [{c['p5']:+.3f}, {c['p95']:+.3f}], not better in {c['share_not_better']:.1%}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": here,
                    "figures": figures,
                    "comparisons": comparisons,
                    "genomes": {
                        k: entries[k]
                        | {field: runs[s].get(k, {}) for s, (field, _) in SCHEDULES.items()}
                        for k in entries
                    },
                },
                indent=1,
                default=str,
            )
        )
    return 0


def _train_all(
    entries: dict[str, dict[str, Any]],
    trained: Trained,
    seeds: list[int],
    args: argparse.Namespace,
) -> None:
    """Train every genome on record under ``seeds`` for ``args.epochs`` (those ``--merge``
    already holds for as many epochs are skipped), printing each as it ends."""
    from bench.trainers import _init_process

    per_process = max(1, args.threads // args.workers)
    jobs = [
        (k, e["genome"], s, args.epochs, args.schedule == "cosine")
        for k, e in entries.items()
        for s in seeds
        if len(trained.get(k, {}).get(s, [])) < args.epochs
    ]
    print(
        f"# {len(entries)} genomes with finals on record; {len(jobs)} trainings of "
        f"{args.epochs} epochs ({args.schedule} learning rate) in {args.workers} processes of "
        f"{per_process} thread(s)"
    )
    t0 = time.monotonic()
    with ProcessPoolExecutor(
        args.workers,
        mp_context=get_context("spawn"),
        initializer=_init_process,
        initargs=("fashion-mnist", per_process),
    ) as pool:
        for i, (key, seed, history) in enumerate(pool.map(_train, jobs), 1):
            trained.setdefault(key, {})[seed] = history
            e = entries[key]
            last = history[-1]
            print(
                f"[{i}/{len(jobs)} {time.monotonic() - t0:5.0f}s] seed {seed}  final "
                f"{statistics.fmean(e['scores'].values()):.4f} ({len(e['scores'])} seeds)  "
                f"val_acc {last['val_accuracy']:.4f}  val_loss {last['val_loss']:.4f}  "
                f"train_acc {last['train_accuracy']:.4f}  "
                f"tse {sum(p['train_loss'] for p in history):.4f}  {e['labels'][0]}",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
