"""Replay a search run's measured candidates in proposal order and costliest first.

    .venv/bin/python -m bench.dispatch_order docs/figures/search_quality_RUN.json [...]
        [--slots 2]

For each nasboard method of a ``bench/search_quality.py --workers N`` run: its generations
(inferred from the trials' start times: a generation's first candidates start once every
earlier one has ended), each candidate's measured seconds, and the time the generations take
on ``--slots`` workers when started in proposal order (how the run ran; the replay should
match its search phase) and when started by descending FLOPs (Graham's longest-processing-
time-first rule, with FLOPs as the forecast of a candidate's time), and by the measured seconds
themselves (a perfect forecast: the most ordering could save). Prints each and the saving.

Why: a generation ends with its last candidate and the next is proposed only then; the order
a generation goes out in decides how long the workers wait at that barrier. A replay, not a
new run: a candidate's seconds depend a little on what runs beside it, which this keeps as
measured. Found (docs/benchmarks.md): on generations of 8 on 2 workers FLOPs-first changes the
search phase by -5.6% to +5.1%, and even the measured seconds as forecast by -1.0% to +5.0%:
the barrier costs little, so the worker keeps proposal order.
"""

from __future__ import annotations

import argparse
import heapq
import json
from pathlib import Path
from typing import Any

from bench.search_quality import NASBOARD_METHODS


def generations(trials: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The trials grouped by generation, from their start and end times."""
    out: list[list[dict[str, Any]]] = []
    last_end = -1.0
    for t in sorted(trials, key=lambda t: (t["started_s"], t["index"])):
        if not out or t["started_s"] >= last_end - 0.5:
            out.append([])
        out[-1].append(t)
        last_end = max(last_end, t["ended_s"])
    return out


def makespan(seconds: list[float], slots: int) -> float:
    """The time ``seconds`` of work take when started in this order on ``slots`` workers."""
    free = [0.0] * slots
    for s in seconds:
        heapq.heappush(free, heapq.heappop(free) + s)
    return max(free, default=0.0)


def replay(trials: list[dict[str, Any]], slots: int) -> tuple[float, float, float, float, int]:
    """(measured search phase, replay in proposal order, costliest first by FLOPs, longest
    first by the measured seconds themselves (what a perfect forecast would give), generations)."""
    gens = generations(trials)
    fifo = lpt = ideal = 0.0
    for gen in gens:
        ordered = sorted(gen, key=lambda t: t["index"])
        fifo += makespan([t["ended_s"] - t["started_s"] for t in ordered], slots)
        costly = sorted(ordered, key=lambda t: -(t.get("flops") or 0))  # stable: ties in order
        lpt += makespan([t["ended_s"] - t["started_s"] for t in costly], slots)
        seconds = sorted((t["ended_s"] - t["started_s"] for t in ordered), reverse=True)
        ideal += makespan(seconds, slots)
    measured = max((t["ended_s"] for t in trials), default=0.0)
    return measured, fifo, lpt, ideal, len(gens)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="bench/search_quality.py --json outputs")
    ap.add_argument("--slots", type=int, default=2, help="the run's --workers")
    args = ap.parse_args(argv)
    print(
        f"{'run':58s} {'method':12s} {'cands':>5s} {'gens':>4s} {'measured':>9s} "
        f"{'in order':>9s} {'FLOPs 1st':>10s} {'saving':>7s} {'perfect':>8s} {'saving':>7s}"
    )
    for path in args.runs:
        data = json.loads(Path(path).read_text())
        for method, trials in data["trials"].items():
            if method not in NASBOARD_METHODS or not trials:
                continue
            measured, fifo, lpt, ideal, gens = replay(trials, args.slots)
            print(
                f"{Path(path).stem:58s} {method:12s} {len(trials):5d} {gens:4d} {measured:8.0f}s "
                f"{fifo:8.0f}s {lpt:9.0f}s {100 * (fifo - lpt) / fifo:6.1f}% "
                f"{ideal:7.0f}s {100 * (fifo - ideal) / fifo:6.1f}%"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
