"""Would the early stop pay off more if it judged sooner? The rule replayed on recorded curves.

    .venv/bin/python -m bench.early_stop_replay docs/figures/search_quality_*.json \\
        [--methods aging-es,evolution-es] [--min-peers 5,4,3,2] [--quantile 0.5] [--json out.json]

The median-stopping rule (``backend.search.early_stop``) judges a candidate after an epoch only
once ``min_peers`` (5) peers reached that epoch. A search that holds few candidates — on the
slower VM type ten or eleven seed-CNN-sized ones in 600 s — spends half its budget before the
rule can stop anything. This takes the trials ``bench/search_quality.py`` recorded (every
candidate's per-epoch validation accuracy and epoch times) and replays the rule for each
``min_peers`` on the same candidates after every epoch before their last, in the order those
epochs ended in the run (the peers the workers saw), with the chance floor of 10 classes:

- how many candidates it stops (``ran``: how many the run stopped, so the row with
  the run's own ``min_peers`` checks the replay against the run) and the training seconds
  that saves against the run as recorded (a candidate the run stopped but the replay would
  not has its missing epochs counted at its mean epoch time: ``est`` epochs);
- the rate that saving projects: recorded seconds over replayed seconds, i.e. how many more of
  the same candidates the same budget would have held (a projection from measured epoch times,
  not a run: later proposals would differ, as a stopped candidate is told to the engine);
- whether it stops the candidate the search ranked first (best validation accuracy after its
  last epoch) or one of the top three.

Only candidates with two or more epochs planned can be stopped (never after the last epoch).
A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from backend.search.early_stop import EarlyStopRule, chance_for, is_hopeless


@dataclass
class Replay:
    run: str
    method: str
    min_peers: int
    candidates: int
    recorded_stopped: int
    stopped: int
    recorded_s: float
    replayed_s: float
    estimated_epochs: int
    best_stopped: bool
    top3_stopped: int

    @property
    def rate_factor(self) -> float:
        return self.recorded_s / self.replayed_s if self.replayed_s else float("nan")


def _epochs_planned(trials: list[dict[str, Any]]) -> int:
    return max(len(t["val_curve"]) for t in trials)


def replay(
    run: str, method: str, trials: list[dict[str, Any]], rule: EarlyStopRule
) -> Replay | None:
    """The rule on one method's recorded candidates; None when there is nothing to judge."""
    scored = [t for t in trials if t.get("val_curve") and t.get("epoch_s")]
    if not scored:
        return None
    epochs = _epochs_planned(scored)
    if epochs < 2:
        return None
    ranked = sorted(
        (t for t in scored if len(t["val_curve"]) == epochs),
        key=lambda t: t["val_curve"][-1],
        reverse=True,
    )
    top = [id(t) for t in ranked[:3]]
    # Every (candidate, epoch before the last) it reached, in the order those epochs ended.
    ends = sorted(
        (
            (t["started_s"] + sum(t["epoch_s"][:epoch]), epoch, t)
            for t in scored
            for epoch in range(1, min(len(t["val_curve"]), epochs - 1) + 1)
        ),
        key=lambda e: (e[0], e[1]),
    )
    peers: dict[int, list[float]] = {}
    stopped_at: dict[int, int] = {}
    for _, epoch, trial in ends:
        if id(trial) in stopped_at:
            continue  # stopped at an earlier epoch: it never reached this one
        value = float(trial["val_curve"][epoch - 1])
        at_epoch = peers.setdefault(epoch, [])
        if is_hopeless(value, epoch, epochs, at_epoch, rule):
            stopped_at[id(trial)] = epoch
        at_epoch.append(value)  # the worker stores the epoch before it judges it
    recorded = replayed = 0.0
    estimated = 0
    for trial in scored:
        times = [float(s) for s in trial["epoch_s"]]
        recorded += sum(times)
        if id(trial) in stopped_at:
            replayed += sum(times[: stopped_at[id(trial)]])
        elif len(times) < epochs:  # the run stopped it, the replay would not: estimate the rest
            estimated += epochs - len(times)
            replayed += sum(times) + sum(times) / len(times) * (epochs - len(times))
        else:
            replayed += sum(times)
    stopped = set(stopped_at)
    return Replay(
        run=run,
        method=method,
        min_peers=rule.min_peers,
        candidates=len(scored),
        recorded_stopped=sum(1 for t in scored if t.get("early_stopped_at")),
        stopped=len(stopped),
        recorded_s=recorded,
        replayed_s=replayed,
        estimated_epochs=estimated,
        best_stopped=bool(top) and top[0] in stopped,
        top3_stopped=sum(1 for t in top if t in stopped),
    )


def rules_for(min_peers: str, quantile: float) -> list[EarlyStopRule]:
    """One rule per comma-separated ``min_peers``, with the chance floor of 10 classes."""
    return [
        EarlyStopRule(quantile=quantile, min_peers=int(p), chance=chance_for(10))
        for p in min_peers.split(",")
    ]


def method_trials(
    reports: list[Path],
) -> Iterator[tuple[str, dict[str, Any], str, list[dict[str, Any]]]]:
    """``(run, report, method, trials)`` for every method of every search_quality report."""
    for path in reports:
        report = json.loads(path.read_text())
        run = path.stem.removeprefix("search_quality_")
        for method, trials in report.get("trials", {}).items():
            yield run, report, method, trials


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("reports", nargs="+", type=Path, help="search_quality JSON reports")
    ap.add_argument("--methods", default="", help="comma-separated; default: every nasboard one")
    ap.add_argument("--min-peers", default="5,4,3,2")
    ap.add_argument("--quantile", type=float, default=0.5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    wanted = {m for m in args.methods.split(",") if m}
    rules = rules_for(args.min_peers, args.quantile)
    rows: list[Replay] = []
    print(
        f"{'run':<40} {'method':<14} {'peers':>5} {'cands':>5} {'ran':>3} {'stop':>4} "
        f"{'recorded s':>10} {'replayed s':>10} {'saved':>6} {'rate x':>6} {'est':>3} "
        f"{'best cut':>8} {'top3 cut':>8}"
    )
    for run, _, method, trials in method_trials(args.reports):
        if wanted and method not in wanted:
            continue
        if not wanted and method.startswith(("keras-tuner", "optuna", "baseline")):
            continue
        for rule in rules:
            row = replay(run, method, trials, rule)
            if row is None:
                continue
            rows.append(row)
            saved = 1 - row.replayed_s / row.recorded_s
            print(
                f"{run[:40]:<40} {method:<14} {row.min_peers:>5} {row.candidates:>5} "
                f"{row.recorded_stopped:>3} {row.stopped:>4} "
                f"{row.recorded_s:>10.0f} {row.replayed_s:>10.0f} "
                f"{saved:>6.1%} {row.rate_factor:>6.2f} {row.estimated_epochs:>3} "
                f"{'yes' if row.best_stopped else 'no':>8} {row.top3_stopped:>8}"
            )
    if args.json:
        args.json.write_text(
            json.dumps([{**asdict(r), "rate_factor": r.rate_factor} for r in rows], indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
