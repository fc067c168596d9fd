"""Would a judgement inside the first epoch lift the rate? The rule replayed with a sub-epoch rung.

    .venv/bin/python -m bench.rung_replay --curves docs/figures/subepoch_curves_*.json \\
        --reports docs/figures/search_quality_*.json [--min-peers 5,3] [--quantile 0.5] \\
        [--json out.json]

``bench/subepoch_curves.py`` scored every recorded candidate of some runs after a few hundred
steps of its first epoch (``--at``), with its training seed. This replays the median-stopping
rule (``backend.search.early_stop``, with the chance floor of 10 classes) on those candidates
in the order the runs started them, judging each candidate once at a rung (``steps`` into the
first epoch: its validation accuracy against every candidate's that reached the rung before it)
and after its first epoch as today, or after its first epoch only (``rung -``: today's rule on
the same curves, the check against the run). The runs' recorded epoch times set when each point
is reached and what a stop saves, the curves' measured shares set the rest:

- a rung after ``s`` steps is reached after the share of the first epoch that ``s`` steps took
  in the curves' training (training seconds to the rung over the epoch's), and scoring it costs
  its share of that epoch as well (the curves' cheapest scoring of that candidate: the first
  one also traces the prediction function, which a worker's scoring shares with its epoch-end
  validation); every candidate pays it, stopped or not, once a rung is on;
- a candidate stopped at the rung costs the rung's share of its first epoch plus the scoring; at
  its first epoch, that epoch; a candidate trained in full, both epochs (an epoch the run did
  not train, as it stopped the candidate, is estimated at the first's length).

It prints how well each rung's value orders the curves' candidates as their 2-epoch score does
(Spearman's rho, each training once), then for each run, rule and rung how many candidates are
stopped where, the training seconds against the run as recorded, the rate that projects
(recorded over replayed seconds: the same candidates in fewer seconds; a projection, not a run:
the saved seconds would buy later proposals, which differ, and which more peers would judge)
and that rate against Keras Tuner's in the run, and whether the candidate ranked first by its
2-epoch score, or one of the top three, is stopped.

A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from backend.search.early_stop import EarlyStopRule, is_hopeless
from bench.early_stop_replay import method_trials, rules_for

#: The epochs a protocol candidate trains (the rung is judged inside the first).
EPOCHS = 2


@dataclass
class RungReplay:
    run: str
    method: str
    min_peers: int
    rung_steps: int | None
    candidates: int
    stopped_at_rung: int
    stopped_at_epoch: int
    recorded_s: float
    replayed_s: float
    run_ratio_to_kt: float | None
    best_stopped: bool
    top3_stopped: int

    @property
    def rate_factor(self) -> float:
        return self.recorded_s / self.replayed_s if self.replayed_s else float("nan")

    @property
    def projected_ratio_to_kt(self) -> float | None:
        return None if self.run_ratio_to_kt is None else self.run_ratio_to_kt * self.rate_factor


@dataclass
class Candidate:
    """One recorded trial with its curve: when it started, its recorded epoch seconds and the
    values and shares the curves measured."""

    index: int
    started_s: float
    epoch_s: list[float]  # as recorded; a second epoch the run did not train is estimated
    curve: list[float]  # 2-epoch validation accuracy from the curves
    rungs: dict[int, tuple[float, float]]  # steps -> (value, share of epoch 1 to reach it)
    scoring_share: float  # of epoch 1, for scoring the validation split once


def candidates_of(run_trials: list[dict[str, Any]], curves: dict[int, Any]) -> list[Candidate]:
    """The run's trials that the curves trained in full."""
    out = []
    for trial in run_trials:
        c = curves.get(trial["index"])
        if c is None or len(c["val_curve"]) < EPOCHS or not trial.get("epoch_s"):
            continue
        epoch_study = (float(c["in_epochs_s"]) - float(c["probe_eval_s"])) / EPOCHS
        scoring = min(float(p["eval_s"]) for p in c["points"]) / epoch_study
        times = [float(s) for s in trial["epoch_s"]]
        times += [times[0]] * (EPOCHS - len(times))
        out.append(
            Candidate(
                index=int(trial["index"]),
                started_s=float(trial["started_s"]),
                epoch_s=times,
                curve=[float(v) for v in c["val_curve"]],
                rungs={
                    int(p["steps"]): (
                        float(p["val_accuracy"]),
                        min(1.0, float(p["train_s"]) / epoch_study),
                    )
                    for p in c["points"]
                },
                scoring_share=scoring,
            )
        )
    return out


def replay(
    run: str,
    method: str,
    cands: list[Candidate],
    recorded_s: float,
    rule: EarlyStopRule,
    rung: int | None,
    ratio_to_kt: float | None,
    completed_only: bool = False,
) -> RungReplay:
    """The rule on one run's candidates, judging at ``rung`` steps (None: after epoch 1 only)
    against every candidate that reached the point before, still training or done (the worker
    since 2026-12-07); ``completed_only``: against those that were done by then (the worker
    before)."""
    events: list[tuple[float, int, Candidate]] = []  # (when, 0 rung / 1 epoch 1, candidate)
    for c in cands:
        e1 = c.epoch_s[0]
        over = c.scoring_share * e1 if rung is not None else 0.0
        if rung is not None:
            events.append((c.started_s + c.rungs[rung][1] * e1, 0, c))
        events.append((c.started_s + e1 + over, 1, c))
    events.sort(key=lambda e: (e[0], e[1]))
    peers: dict[int, list[float]] = {0: [], 1: []}
    done: list[tuple[float, int, float]] = []  # (when it ended, point, its value there)
    stopped: dict[int, int] = {}  # candidate index -> 0 (at the rung) or 1 (after epoch 1)
    for when, point, c in events:
        if c.index in stopped:
            continue
        value = c.rungs[rung][0] if point == 0 and rung is not None else c.curve[0]
        if completed_only:
            judged_by = [v for end, at, v in done if at == point and end <= when]
        else:
            judged_by = peers[point]
        if is_hopeless(value, point, EPOCHS, judged_by, rule):
            stopped[c.index] = point
        peers[point].append(value)
        if c.index in stopped or point == 1:  # it ends now (stopped) or at its last epoch
            over = c.scoring_share * c.epoch_s[0] if rung is not None else 0.0
            end = when + (over if point == 0 else 0.0)
            if c.index not in stopped:
                end = c.started_s + sum(c.epoch_s) + over
            if rung is not None:
                done.append((end, 0, c.rungs[rung][0]))
            if point == 1:
                done.append((end, 1, value))
    replayed = 0.0
    for c in cands:
        e1 = c.epoch_s[0]
        over = c.scoring_share * e1 if rung is not None else 0.0
        at = stopped.get(c.index)
        if at == 0 and rung is not None:
            replayed += c.rungs[rung][1] * e1 + over
        elif at == 1:
            replayed += e1 + over
        else:
            replayed += sum(c.epoch_s) + over
    ranked = sorted(cands, key=lambda c: c.curve[-1], reverse=True)
    return RungReplay(
        run=run,
        method=method,
        min_peers=rule.min_peers,
        rung_steps=rung,
        candidates=len(cands),
        stopped_at_rung=sum(1 for v in stopped.values() if v == 0),
        stopped_at_epoch=sum(1 for v in stopped.values() if v == 1),
        recorded_s=recorded_s,
        replayed_s=replayed,
        run_ratio_to_kt=ratio_to_kt,
        best_stopped=bool(ranked) and ranked[0].index in stopped,
        top3_stopped=sum(1 for c in ranked[:3] if c.index in stopped),
    )


def ratio_to_keras_tuner(report: dict[str, Any], method: str) -> float | None:
    """The method's evaluated-per-minute over Keras Tuner RandomSearch's in the same run."""
    rates = {m["method"]: m.get("evaluated_per_min") for m in report["methods"]}
    ours, theirs = rates.get(method), rates.get("keras-tuner-random")
    return ours / theirs if ours and theirs else None


def rank_agreement(entries: list[dict[str, Any]], steps: list[int]) -> dict[str, float]:
    """Spearman's rho of each rung's value (and the first epoch's) with the 2-epoch score, over
    every trained candidate of the curves: how well an early look orders them."""
    from scipy.stats import spearmanr

    full = [e for e in entries if len(e["val_curve"]) >= EPOCHS]
    last = [e["val_curve"][EPOCHS - 1] for e in full]
    out: dict[str, float] = {}
    for s in steps:
        values = [next(p["val_accuracy"] for p in e["points"] if p["steps"] == s) for e in full]
        out[f"{s} steps"] = float(spearmanr(values, last).statistic)
    out["epoch 1"] = float(spearmanr([e["val_curve"][0] for e in full], last).statistic)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--curves", nargs="+", type=Path, required=True, help="subepoch_curves --json")
    ap.add_argument("--reports", nargs="+", type=Path, required=True, help="their runs' reports")
    ap.add_argument("--min-peers", default="5,3")
    ap.add_argument("--quantile", type=float, default=0.5)
    ap.add_argument(
        "--completed-only",
        action="store_true",
        help="peers: the candidates done by then (the worker before 2026-12-07), not all that "
        "reached the point",
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    rules = rules_for(args.min_peers, args.quantile)
    curves: dict[tuple[str, str], dict[int, Any]] = {}
    steps: set[int] = set()
    agreement: dict[str, dict[str, float]] = {}
    for path in args.curves:
        data = json.loads(path.read_text())
        steps |= set(data["at"])
        trained = {f"{e['key']}": e for e in data["trials"].values()}  # each training once
        agreement[path.name] = rank_agreement(list(trained.values()), data["at"])
        print(
            f"# {path.name}: {len(trained)} trainings; Spearman with the 2-epoch score: "
            + ", ".join(f"{k} {v:+.2f}" for k, v in agreement[path.name].items())
        )
        for entry in data["trials"].values():
            curves.setdefault((entry["run"], entry["method"]), {})[entry["index"]] = entry
    rows: list[RungReplay] = []
    print(
        f"{'run':<38} {'method':<9} {'peers':>5} {'rung':>5} {'cands':>5} {'@rung':>5} "
        f"{'@ep1':>4} {'recorded s':>10} {'replayed s':>10} {'rate x':>6} {'vs KT':>11} "
        f"{'best cut':>8} {'top3 cut':>8}"
    )
    for run, report, method, trials in method_trials(args.reports):
        mine = curves.get((run, method))
        if not mine:
            continue
        cands = candidates_of(trials, mine)
        recorded = sum(float(s) for t in trials for s in (t.get("epoch_s") or []))
        ratio = ratio_to_keras_tuner(report, method)
        for rule in rules:
            for rung in [None, *sorted(steps)]:
                row = replay(run, method, cands, recorded, rule, rung, ratio, args.completed_only)
                rows.append(row)
                kt = (
                    f"{ratio:.2f}->{row.projected_ratio_to_kt:.2f}"
                    if ratio is not None and row.projected_ratio_to_kt is not None
                    else "-"
                )
                print(
                    f"{run[:38]:<38} {method[:9]:<9} {rule.min_peers:>5} "
                    f"{'-' if rung is None else rung:>5} {row.candidates:>5} "
                    f"{row.stopped_at_rung:>5} {row.stopped_at_epoch:>4} "
                    f"{row.recorded_s:>10.0f} {row.replayed_s:>10.0f} {row.rate_factor:>6.2f} "
                    f"{kt:>11} {'yes' if row.best_stopped else 'no':>8} {row.top3_stopped:>8}"
                )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rank_agreement": agreement,
                    "replays": [
                        {
                            **asdict(r),
                            "rate_factor": r.rate_factor,
                            "projected_ratio_to_kt": r.projected_ratio_to_kt,
                        }
                        for r in rows
                    ],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
