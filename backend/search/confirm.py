"""Confirmation: re-rank the search's best few with longer training before the final one.

Why: candidates are scored after a few epochs (a cheap proxy), but the final model trains for
many more. A short score favours architectures that learn fast, not those that end best, and
between close candidates it is mostly noise (one seed, +-0.5% on Fashion-MNIST). So once the
search phase is over, the ``top`` best distinct genomes are trained on to a longer training on
the same train/validation split (the worker resumes each one's saved model, ``worker.resume``,
so a confirmation trains only the epochs its candidate lacks; from scratch where none was
saved); the genome with the best *confirmed* validation accuracy is the one retrained for the
final model. This is the last rung of successive halving, spent only on candidates that earned
it. A confirmation as long as its candidate is instead a second training from scratch under
another seed, ranked by the mean of both scores (``confirmed_fitness``): for the same epochs,
two seeds' short scores ranked final models better than one seed's longer one. The functions
below take ``epochs`` as the epochs a confirmation *trains*.

Pure functions over plain records so the worker (database rows) and ``bench/`` (in-process
trials) share one rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")

#: Origin of a confirmation candidate (a re-training of an earlier candidate's genome).
CONFIRM_ORIGIN = "confirm"


@dataclass(frozen=True)
class Scored(Generic[K]):
    """One evaluated candidate: the caller's key, its genome hash, its score and its cost."""

    key: K
    genome_hash: str
    fitness: float | None  # None: failed
    params: int = 0
    seconds_per_epoch: float | None = None  # measured; None if unknown
    flops: int | None = None  # known before training (backend.search.cost)


def _usable(s: Scored[K]) -> bool:
    return s.fitness is not None and math.isfinite(s.fitness)


def pick_for_confirmation(scored: Sequence[Scored[K]], top: int) -> list[Scored[K]]:
    """The ``top`` best distinct genomes by fitness; ties: fewer parameters, then earlier.

    A genome evaluated twice (reused) counts once, by its best score. Fewer than two picks
    (``top`` < 2, or fewer than two usable genomes): nothing to re-rank, so ``[]``.
    """
    if top < 2:
        return []
    order = sorted(
        (s for s in scored if _usable(s)),
        key=lambda s: (-(s.fitness or 0.0), s.params),
    )
    picked: list[Scored[K]] = []
    seen: set[str] = set()
    for s in order:
        if s.genome_hash in seen:
            continue
        seen.add(s.genome_hash)
        picked.append(s)
        if len(picked) == top:
            break
    return picked if len(picked) >= 2 else []


@dataclass(frozen=True)
class Timing:
    """How long one candidate took: its epochs, the seconds inside them (training and
    validation), and its whole evaluation (``None`` where not measured)."""

    epochs: int
    in_epochs_s: float | None
    total_s: float | None


def seconds_per_epoch(timings: Sequence[Timing]) -> list[float | None]:
    """Each candidate's seconds per epoch: its epochs' own time plus the typical time a
    candidate spends outside them (building, compiling, scoring, saving: the median over the
    candidates), per epoch. Why not total / epochs: a process's first candidate also pays the
    one-time start-up (~20 s on 2 cores), which no later one pays again, and its inflated
    figure would enlarge the confirmation reserve. Without ``in_epochs_s``: total / epochs."""
    outside = sorted(
        t.total_s - t.in_epochs_s
        for t in timings
        if t.total_s is not None and t.in_epochs_s is not None and t.epochs > 0
    )
    overhead = max(0.0, outside[len(outside) // 2]) if outside else 0.0
    out: list[float | None] = []
    for t in timings:
        if t.epochs < 1:
            out.append(None)
        elif t.in_epochs_s is not None:
            out.append((t.in_epochs_s + overhead) / t.epochs)
        else:
            out.append(t.total_s / t.epochs if t.total_s else None)
    return out


def training_epochs(confirm_epochs: int, candidate_epochs: int, resume: bool = True) -> int:
    """Epochs a confirmation trains: those its candidate lacks where it resumes the
    candidate's model, else all of them (from scratch, or nothing longer to resume to)."""
    if resume and confirm_epochs > candidate_epochs:
        return confirm_epochs - candidate_epochs
    return confirm_epochs


def reserve_seconds(
    scored: Sequence[Scored[K]], top: int, epochs: int, parallel: int = 1, spare: bool = True
) -> float:
    """Seconds to hold back from a time budget so confirmation fits in it.

    Estimated from what the current top candidates measured per epoch (they are the ones
    confirmation would train), with one spare epoch each: on a shared 2-core VM the same
    genome's epochs took from 21 to 42 s within one run, and with no spare the last
    confirmation was cut by the deadline in 3 of 4 benchmark runs. ``parallel`` workers train
    them side by side, each taking the next pick as it comes free (``schedule_seconds``), so
    the slowest pick bounds it: halving the total instead reserved 51 s for picks of 22 and
    12 s an epoch on 2 workers (66 s now), and the first one's 2 epochs ended 2 s past the
    deadline (bench run ac, 2026-11-30). 0 when confirmation is off or nothing was measured yet.
    ``spare=False``: the epochs alone, what confirming takes when epochs run as measured.
    """
    picks = pick_for_confirmation(scored, top)
    per_epoch = [s.seconds_per_epoch for s in picks if s.seconds_per_epoch]
    if not picks or not per_epoch:
        return 0.0
    typical = sum(per_epoch) / len(per_epoch)
    each = [(s.seconds_per_epoch or typical) * (epochs + int(spare)) for s in picks]
    return schedule_seconds(each, parallel)


#: The most of a time budget confirmation may hold back. Why: on a 2-core VM where the seed CNN
#: takes ~40 s an epoch, confirming two genomes for 4 epochs (plus a spare each) reserved ~400 s
#: of a 600 s budget, and the search phase stopped after 2 candidates (bench run k, 2026-11-29).
#: A re-ranking that leaves almost nothing to re-rank is not worth its cost: past this share the
#: search phase keeps the whole budget and its best stands unconfirmed.
MAX_CONFIRM_SHARE = 1 / 3


def budgeted_reserve(
    scored: Sequence[Scored[K]],
    top: int,
    epochs: int,
    budget_s: float | None,
    parallel: int = 1,
) -> float:
    """``reserve_seconds``, or 0 where it exceeds ``MAX_CONFIRM_SHARE`` of ``budget_s``
    (confirmation is then skipped: ``confirmation_affordable``). No budget: no cap."""
    reserve = reserve_seconds(scored, top, epochs, parallel)
    return 0.0 if _over_share(reserve, budget_s) else reserve


def _over_share(reserve_s: float, budget_s: float | None) -> bool:
    return bool(budget_s) and reserve_s > MAX_CONFIRM_SHARE * float(budget_s or 0)


def skip_note(reserve_s: float, budget_s: float | None, remaining_s: float) -> str:
    """What a search (its final phase's reason) or a bench report says when it skips."""
    if _over_share(reserve_s, budget_s):
        return (
            f"confirmation skipped: ~{reserve_s:.0f} s, over {MAX_CONFIRM_SHARE:.0%} of the budget"
        )
    return f"confirmation skipped: ~{reserve_s:.0f} s, {remaining_s:.0f} s left"


def confirmation_affordable(
    scored: Sequence[Scored[K]],
    top: int,
    epochs: int,
    budget_s: float | None,
    parallel: int = 1,
    remaining_s: float = 0.0,
) -> bool:
    """Whether confirmation runs at all: something to re-rank and, with a time budget, its
    epochs (without the spares) within the ``remaining_s`` the search phase left: the reserve
    it held back (within ``MAX_CONFIRM_SHARE``), or more where it ended early (generations
    done, target reached). Why not "within the share" alone: the reserve moves as the best few
    change, and one that was over the share while the search ran (nothing held back) can be
    under it at the end with a minute left; confirming then ran into the deadline (bench run o,
    2026-11-29) or, in the worker, past the budget. The one rule the worker and ``bench/`` skip
    by, on the same scores as the reserve the search phase stopped by."""
    if not pick_for_confirmation(scored, top):
        return False
    if not budget_s:
        return True
    return reserve_seconds(scored, top, epochs, parallel, spare=False) <= remaining_s


def next_step_seconds(
    scored: Sequence[Scored[K]], epochs: int, count: int, parallel: int = 1
) -> float:
    """Wall time of ``count`` more candidates of ``epochs`` epochs, ``parallel`` at a time, at
    the 90th percentile of the measured seconds per epoch (the next one may be a big one).

    The search phase must stop *before* work that would run into the reserve starts: a
    candidate (or generation) started just ahead of the reserve otherwise eats into it and the
    last confirmation is cut by the budget (bench/search_quality.py saw exactly that)."""
    per_epoch = sorted(s.seconds_per_epoch for s in scored if s.seconds_per_epoch)
    if not per_epoch or count < 1:
        return 0.0
    slow = per_epoch[math.ceil(0.9 * len(per_epoch)) - 1]
    return slow * epochs * math.ceil(count / max(1, parallel))


def predict_seconds(flops: int, scored: Sequence[Scored[K]], epochs: int) -> float | None:
    """Seconds a candidate of ``flops`` FLOPs would take for ``epochs`` epochs, before it runs.

    Seconds per epoch is fitted as a + b * FLOPs (least squares, b >= 0) on the candidates
    measured so far, plus the 75th percentile of the fit's positive residuals (so a typical
    candidate is not under-estimated) and never below the fastest measured. None with fewer
    than 3 measurements: the caller falls back to ``next_step_seconds``. Why: the cost of a
    genome is known before training, so the last candidates before the confirmation reserve
    can be chosen to fit, instead of reserving for the slowest one that might come."""
    points = [
        (float(s.flops), float(s.seconds_per_epoch))
        for s in scored
        if s.flops is not None and s.seconds_per_epoch
    ]
    if len(points) < 3 or epochs < 1:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    slope = 0.0 if var == 0 else sum((x - mean_x) * (y - mean_y) for x, y in points) / var
    slope = max(0.0, slope)
    intercept = mean_y - slope * mean_x
    residuals = sorted(max(0.0, y - (intercept + slope * x)) for x, y in points)
    margin = residuals[math.ceil(0.75 * n) - 1]
    fastest = min(y for _, y in points)
    return (max(fastest, intercept + slope * flops) + margin) * epochs


def schedule_seconds(durations: Sequence[float], parallel: int = 1) -> float:
    """Wall time of these candidates on ``parallel`` workers, each taking the next one as it
    comes free (the order of the queue); 0 for none."""
    free = [0.0] * max(1, parallel)
    for d in durations:
        i = free.index(min(free))
        free[i] += d
    return max(free) if durations else 0.0


def next_work_seconds(
    flops: Sequence[int | None],
    scored: Sequence[Scored[K]],
    epochs: int,
    parallel: int = 1,
    count: int | None = None,
) -> float:
    """Wall time of the candidates about to start, by their FLOPs: each one's
    ``predict_seconds`` scheduled on ``parallel`` workers; until that is possible for all of
    them, ``count`` (default: as many) candidates at the 90th percentile (``next_step_seconds``).
    The one rule the worker (a generation) and ``bench/`` (one candidate) stop the search by."""
    predicted = [None if f is None else predict_seconds(f, scored, epochs) for f in flops]
    if predicted and all(d is not None for d in predicted):
        return schedule_seconds([d or 0.0 for d in predicted], parallel)
    n = len(flops) if count is None else count
    return next_step_seconds(scored, epochs, n, parallel=parallel)


def confirmed_fitness(
    own: float | None, own_epochs: int, source: float | None, source_epochs: int
) -> float | None:
    """A confirmation's score for re-ranking. One as long as its candidate (``confirm_epochs``
    = the candidate's epochs) is a second training of the genome under another seed, and the
    mean of the two is what it ranks by; a longer one stands alone (the candidate's shorter
    score measures something else). Why: over 24 genomes with 8-epoch finals on record, the
    mean of two seeds' 2-epoch validation accuracies ranked the finals at Spearman 0.77, one
    seed's 2-epoch score at 0.68-0.71 and one seed's 4-epoch score at 0.58, for the same
    epochs trained (``bench/early_signals.py``, docs/benchmarks.md, 2026-11-30)."""
    if own is None or source is None or own_epochs != source_epochs:
        return own
    if not (math.isfinite(own) and math.isfinite(source)):
        return own
    return (own + source) / 2


def confirmed_winner(confirmed: Sequence[Scored[K]]) -> Scored[K] | None:
    """The best confirmation by its longer-training score; ties: fewer parameters, earlier."""
    usable = [s for s in confirmed if _usable(s)]
    if not usable:
        return None
    return min(usable, key=lambda s: (-(s.fitness or 0.0), s.params))
