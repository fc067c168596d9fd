"""Search quality: nasboard's strategies against Keras Tuner, Optuna and the seed's CNN.

    .venv/bin/python -m bench.search_quality [--budget-s 600] [--methods all] [--json out.json]
    .venv/bin/python -m bench.search_quality --dataset digits --budget-s 20 --epochs 1 \\
        --final-epochs 2                                                  # smoke run

The protocol of /work/shared/PEERS.md, every method in one run, one method at a time:

- data: Fashion-MNIST (Debian's ``dataset-fashion-mnist``) split 50k train / 10k validation by
  the fixed permutation of ``backend.datasets.builtin`` / 10k test; pixels /255;
- space: the ``seed`` preset (1-4 conv blocks: filters 16/32/64/128, kernel 3/5, stride 1/2,
  padding same/valid, relu/tanh/sigmoid, optional 2x2 max-pool; 0-2 dense 64/128/256 each with
  dropout 0/0.25/0.5; adam 1e-3/3e-4);
- candidates: ``--epochs`` (2) epochs, batch 128, scored on validation; an epoch running past
  ``--epoch-cap-s`` (50 s) stops the candidate (it is then proposed but not useful);
- ``--budget-s`` (600) of search per method; a candidate still training at the deadline is
  stopped there and is not useful (the same rule for every method);
- the best candidate (highest validation accuracy) is retrained from scratch for
  ``--final-epochs`` (8) on train+validation (60k) and scored once on the test split, by
  ``worker.evaluator.final_train`` for every method (a genome already retrained in this run is
  not retrained again: same genome, same seed, deterministic ops, same result).

Methods (``--methods``, comma separated, default all):

- ``evolution``, ``aging``, ``random``, ``nsga2``: nasboard's engine in-process
  (``Engine.ask()/tell()``) with ``worker.evaluator.train_candidate`` — what the worker does,
  minus the database. The seed CNN is candidate 0 (``include_baseline``), identical genomes are
  never proposed twice (the engine dedups by canonical hash) and, unless ``--no-cost-filter``,
  the space carries ``max_flops`` = ``--flops-factor`` x the seed CNN's FLOPs (``cost()``,
  known before training), so shapes too slow for the budget are never proposed; with
  ``--warm-start`` the rest of generation 0 are mutations of the seed CNN (``warm_start``),
  not random genomes. ``nsga2`` minimises parameters beside accuracy (the product's default
  ``objective``), ``nsga2-flops`` FLOPs (what a candidate's training costs). With
  ``--confirm-top`` N >= 2 (default 2) the best N distinct genomes are trained on from their
  candidates' models to ``--confirm-epochs`` (default 4) inside the same
  budget (``worker.resume``; ``--confirm-from-scratch``: again from scratch; the search
  phase stops early by what that will take, ``backend.search.confirm``) and the best confirmed
  one is retrained (``--confirm-epochs`` equal to ``--epochs``: each pick trains again from
  scratch under another seed and ranks by the mean of its two scores, ``confirmed_fitness``);
  the confirmations are not counted as candidates. ``--workers`` N >= 2 trains each
  generation's candidates (and the confirmations) in N processes at once, of ``--threads`` // N
  TensorFlow threads each, as N ``nasboard worker`` processes do (``bench/trainers.py``; the
  epoch cap is then N x ``--epoch-cap-s`` of wall time: the same compute per epoch as the cap
  on all threads).
- ``keras-tuner-random``: ``keras_tuner`` 1.4.8 RandomSearch (its own Tuner loop, checkpoints
  and ``model.fit`` on numpy arrays) with a HyperModel sampling the same choices;
- ``optuna-tpe``: Optuna's TPESampler, an objective sampling the same choices, ``model.fit``;
- ``baseline``: the seed's hand-designed CNN (``baseline_genome``) as one candidate, no search.

Peers' choices become the same genome JSON nasboard uses and are built by
``worker.model_builder`` (same layers, same Keras code); a choice that collapses the image
(e.g. four stride-2 valid convs) fails to build, as it would in a peer's own hypermodel.

Counts, as PEERS.md: *proposed* = candidates whose training was started (or attempted) before the
deadline; *useful* = trained every epoch with a finite loss. Candidates per minute = useful /
search wall minutes. The rate target counts candidates *evaluated*: the useful ones plus, for
the ``-es`` methods, those the median-stopping rule stopped as hopeless (scored at the epoch
they reached); the fully trained rate is printed beside it. A benchmark, not a test: it prints
figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.final_noise import machine
from bench.trainers import InlineTrainer, Job, PoolTrainer, configure_process

# Before TensorFlow is imported (worker.evaluator configures threads at import).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

NASBOARD_STRATEGIES = ("evolution", "aging", "random", "nsga2")
FLOPS_SUFFIX = "-flops"  # nsga2 minimising FLOPs (what a candidate's training costs)
# The same strategies with the median-stopping rule on (``backend.search.early_stop``); not in
# the default ``all``: name them (``--methods evolution,evolution-es``) to measure the rule.
EARLY_STOP_SUFFIX = "-es"
EARLY_STOP_METHODS = tuple(s + EARLY_STOP_SUFFIX for s in NASBOARD_STRATEGIES)
NASBOARD_METHODS = (*NASBOARD_STRATEGIES, *EARLY_STOP_METHODS, "nsga2" + FLOPS_SUFFIX)
PEERS = ("keras-tuner-random", "optuna-tpe")
ALL_METHODS = ("baseline", *NASBOARD_STRATEGIES, *PEERS)
#: The methods the final-test target must beat; a run without one of them cannot pass it.
TARGET_RIVALS = ("baseline", *PEERS)
TARGET_ACC = 0.90


# ----------------------------------------------------------------------------- records


@dataclass
class Trial:
    """One proposed candidate."""

    index: int
    genome: dict[str, Any] | None
    started_s: float  # since the method's start
    ended_s: float
    useful: bool
    val_accuracy: float | None = None
    reason: str = ""  # why not useful: slow | deadline | nonfinite | build | error
    error: str = ""  # the exception's message, when there was one
    params: int | None = None
    flops: int | None = None
    epoch_s: list[float] = field(default_factory=list)
    val_curve: list[float] = field(default_factory=list)  # validation accuracy per epoch
    # nasboard's early stop: the epoch after which the median-stopping rule ended it (reason
    # "early stop": scored at that epoch, told to the engine, not counted as useful).
    early_stopped_at: int | None = None
    # its rung inside the first epoch (``--rung-steps``): the score there, and the steps where
    # the rule stopped it there (reason "early stop" too, scored there).
    rung_val_accuracy: float | None = None
    stopped_at_rung: int | None = None

    @property
    def stopped_early(self) -> bool:
        return self.early_stopped_at is not None or self.stopped_at_rung is not None


@dataclass
class MethodResult:
    method: str
    trials: list[Trial] = field(default_factory=list)
    wall_s: float = 0.0
    final_test_accuracy: float | None = None
    final_genome: dict[str, Any] | None = None
    final_s: float | None = None
    final_reused_from: str | None = None
    notes: list[str] = field(default_factory=list)
    # nasboard's confirmation: the best few trained again for longer (not counted as candidates)
    confirmations: list[Trial] = field(default_factory=list)
    confirmed: Trial | None = None  # the confirmation that won; its genome is retrained

    @property
    def proposed(self) -> int:
        return len(self.trials)

    @property
    def useful(self) -> int:
        return sum(t.useful for t in self.trials)

    @property
    def per_minute(self) -> float:
        return self.useful / (self.wall_s / 60.0) if self.wall_s > 0 else 0.0

    @property
    def early_stopped(self) -> int:
        return sum(t.stopped_early for t in self.trials)

    @property
    def evaluated(self) -> int:
        """Candidates scored: fully trained, or stopped early as hopeless (scored at the epoch
        they reached, told to the engine). The rate target's count: a search that stops a
        hopeless candidate has evaluated it, and the issue asks for exactly that saving."""
        return self.useful + self.early_stopped

    @property
    def evaluated_per_minute(self) -> float:
        return self.evaluated / (self.wall_s / 60.0) if self.wall_s > 0 else 0.0

    @property
    def epochs_trained(self) -> int:
        return sum(len(t.epoch_s) for t in self.trials)

    def best(self) -> Trial | None:
        ok = [t for t in self.trials if t.useful and t.val_accuracy is not None]
        return max(ok, key=lambda t: (t.val_accuracy, -t.index)) if ok else None

    def chosen(self) -> Trial | None:
        """What the final training retrains: the confirmed winner, else the best candidate."""
        return self.confirmed or self.best()

    @property
    def first_at_target_s(self) -> float | None:
        hits = [
            t.ended_s
            for t in self.trials
            if t.useful and t.val_accuracy is not None and t.val_accuracy >= TARGET_ACC
        ]
        return min(hits) if hits else None

    def summary(self) -> dict[str, Any]:
        best = self.best()
        return {
            "method": self.method,
            "useful": self.useful,
            "proposed": self.proposed,
            "wall_s": round(self.wall_s, 1),
            "candidates_per_min": round(self.per_minute, 3),
            "early_stopped": self.early_stopped,
            "evaluated": self.evaluated,
            "evaluated_per_min": round(self.evaluated_per_minute, 3),
            "epochs_trained": self.epochs_trained,
            "best_val_accuracy": None if best is None else best.val_accuracy,
            "first_val_at_0.90_s": self.first_at_target_s,
            "final_test_accuracy": self.final_test_accuracy,
            "final_s": self.final_s,
            "final_reused_from": self.final_reused_from,
            "confirmed": [
                {"index": t.index, "val_accuracy": t.val_accuracy, "useful": t.useful}
                for t in self.confirmations
            ],
            "confirmed_winner": None if self.confirmed is None else self.confirmed.index,
            "notes": self.notes,
            "not_useful": _reasons(self.trials),
        }


def _reasons(trials: list[Trial]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in trials:
        if not t.useful:
            out[t.reason or "?"] = out.get(t.reason or "?", 0) + 1
    return out


# ----------------------------------------------------------------------------- limits


class Guard:
    """The per-epoch cap and the search deadline, for every method alike.

    ``epoch_started()`` at each epoch's start; ``should_stop()`` between batches. ``reason`` says
    why it stopped a candidate (``slow``: the epoch ran past the cap; ``deadline``: the search
    budget ran out).
    """

    def __init__(self, epoch_cap_s: float, deadline: float) -> None:
        self.epoch_cap_s = epoch_cap_s
        self.deadline = deadline
        self.reason = ""
        self.epoch_s: list[float] = []  # each epoch's wall time, validation included
        self.train_s: list[float] = []  # its training batches only (Keras callback only)
        self._t0 = time.monotonic()
        self._last_batch = self._t0

    def epoch_started(self) -> None:
        self._t0 = time.monotonic()

    def epoch_ended(self) -> None:
        now = time.monotonic()
        self.epoch_s.append(round(now - self._t0, 2))
        self._t0 = now

    def should_stop(self) -> bool:
        now = time.monotonic()
        if now - self._t0 > self.epoch_cap_s:
            self.reason = "slow"
        elif now > self.deadline:
            self.reason = "deadline"
        return bool(self.reason)


def keras_guard(guard: Guard) -> Any:
    """The Guard as a Keras callback (for the peers' own ``model.fit``)."""
    import keras

    class _GuardCallback(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            guard.epoch_started()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            guard.train_s.append(round(guard._last_batch - guard._t0, 3))
            guard.epoch_ended()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            guard._last_batch = time.monotonic()
            if guard.should_stop():
                self.model.stop_training = True

    return _GuardCallback()


# ----------------------------------------------------------------------------- the space


def seed_choices() -> dict[str, tuple[Any, ...]]:
    """The seed preset's choices, as plain lists the peers sample from."""
    from backend.search.space import PRESETS

    sp = PRESETS["seed"]
    return {
        "conv_blocks": tuple(range(sp.conv_blocks_min, sp.conv_blocks_max + 1)),
        "filters": sp.filters,
        "kernel": sp.kernel_sizes,
        "stride": sp.strides,
        "padding": sp.paddings,
        "activation": sp.activations,
        "pool": sp.pooling,
        "dense_layers": tuple(range(sp.dense_layers_min, sp.dense_layers_max + 1)),
        "units": sp.units,
        "dropout": sp.dropout_rates,
        "learning_rate": sp.learning_rates,
    }


def genome_from_choices(pick: Callable[[str, tuple[Any, ...]], Any]) -> dict[str, Any]:
    """A genome of the seed family from a peer's sampler (``pick(name, choices)``).

    Not repaired: a choice that collapses the image gives a genome that fails to build, as a
    peer's own hypermodel would.
    """
    from backend.search.arch import Arch, Block, Conv, Dense, Optimizer, Pool, encode
    from backend.search.space import PRESETS

    sp = PRESETS["seed"]
    ch = seed_choices()
    blocks = []
    for i in range(int(pick("conv_blocks", ch["conv_blocks"]))):
        conv = Conv(
            int(pick(f"filters_{i}", ch["filters"])),
            int(pick(f"kernel_{i}", ch["kernel"])),
            int(pick(f"stride_{i}", ch["stride"])),
            str(pick(f"padding_{i}", ch["padding"])),
            str(pick(f"activation_{i}", ch["activation"])),
        )
        kind = str(pick(f"pool_{i}", ch["pool"]))
        pool = None if kind == "none" else Pool(kind, sp.pool_size, sp.pool_strides, "valid")
        blocks.append(Block(conv, pool=pool))
    dense = [
        Dense(
            int(pick(f"units_{j}", ch["units"])),
            str(pick(f"dense_activation_{j}", ch["activation"])),
            float(pick(f"dropout_{j}", ch["dropout"])),
        )
        for j in range(int(pick("dense_layers", ch["dense_layers"])))
    ]
    lr = float(pick("learning_rate", ch["learning_rate"]))
    return encode(Arch(tuple(blocks), "flatten", tuple(dense), Optimizer("adam", lr)))


# ----------------------------------------------------------------------------- runs


@dataclass
class Protocol:
    dataset: str
    data: Any  # backend.datasets.splits.Splits
    input_shape: tuple[int, int, int]
    num_classes: int
    budget_s: float
    epochs: int
    final_epochs: int
    batch_size: int
    epoch_cap_s: float
    seed: int
    population: int
    flops_factor: float | None
    confirm_top: int = 0
    confirm_epochs: int | None = None  # None: final_epochs
    early_stop: Any = None  # backend.search.early_stop.EarlyStopRule of the -es methods
    rung_steps: int | None = None  # the -es methods judge inside the first epoch too
    warm_start: bool = False  # nasboard's generation 0: mutations of the seed CNN
    # nasboard's confirmations train each pick on from its candidate's model (worker.resume);
    # False: again from scratch, as before 2026-11-30
    confirm_resume: bool = True
    threads: int = 2  # TensorFlow threads in all (NASBOARD_TF_THREADS)
    # nasboard's candidates train in this many processes at once, threads // workers each
    workers: int = 1
    verbose: bool = True

    def say(self, msg: str) -> None:
        if self.verbose:
            print(msg, flush=True)


def _cost(genome: dict[str, Any], p: Protocol) -> tuple[int | None, int | None]:
    from backend.search.cost import cost

    try:
        return cost(genome, p.input_shape, p.num_classes)
    except ValueError:
        return None, None


def _train_nasboard(
    genome: dict[str, Any],
    seed: int,
    p: Protocol,
    start: float,
    deadline: float,
    index: int,
    epochs: int | None = None,
    hopeless: Callable[[int, dict[str, float]], bool] | None = None,
    rung: Any = None,
    models: dict[int, Any] | None = None,
    resume: tuple[Any, int] | None = None,
) -> Trial:
    """One candidate exactly as the worker trains it (``worker.evaluator.train_candidate``),
    with the worker's early-stop hook (and ``rung``, a ``worker.evaluator.Rung``) when the
    method has the rule on. ``models`` keeps the
    trained model of a scored trial by its index (the worker saves every candidate's);
    ``resume`` (model, epochs it trained) trains one of them on, as a confirmation does."""
    from worker import evaluator

    guard = Guard(p.epoch_cap_s, deadline)
    t0 = time.monotonic()
    params, flops = _cost(genome, p)
    trial = Trial(index, genome, t0 - start, t0 - start, False, params=params, flops=flops)

    def on_epoch(epoch: int, point: dict[str, float]) -> bool:
        guard.epoch_ended()
        trial.val_curve.append(point.get("val_accuracy", math.nan))
        return True

    try:
        result = evaluator.train_candidate(
            genome,
            p.data,
            p.num_classes,
            epochs=epochs or p.epochs,
            batch_size=p.batch_size,
            seed=seed,
            on_epoch=on_epoch,
            should_stop=guard.should_stop,
            hopeless=hopeless,
            rung=rung,
            resume=None if resume is None else resume[0],
            initial_epoch=0 if resume is None else resume[1],
        )
        val = result.metrics.get("val_accuracy")
        trial.val_accuracy = None if val is None or not math.isfinite(val) else float(val)
        trial.early_stopped_at = result.early_stopped_at
        trial.stopped_at_rung = result.stopped_at_rung
        if result.rung_point is not None:
            trial.rung_val_accuracy = result.rung_point.get("val_accuracy")
        trial.useful = (
            not result.stopped and trial.val_accuracy is not None and not trial.stopped_early
        )
        if result.stopped:
            trial.reason = guard.reason
        elif trial.stopped_early:
            trial.reason = "early stop"
        else:
            trial.reason = "" if trial.useful else "nonfinite"
        if models is not None and trial.val_accuracy is not None and not result.stopped:
            models[index] = result.model
    except evaluator.NonFiniteLoss:
        trial.reason = "nonfinite"
    except Exception as exc:  # a genome that does not build, an OOM...
        trial.reason = f"error: {type(exc).__name__}"
        trial.error = str(exc)[:300]
    trial.ended_s = time.monotonic() - start
    trial.epoch_s = guard.epoch_s
    return trial


def run_nasboard(
    strategy: str, p: Protocol, early_stop: Any = None, objective: str = "params"
) -> MethodResult:
    """``early_stop``: a ``backend.search.early_stop.EarlyStopRule`` (the ``-es`` methods).
    ``objective``: nsga2's second objective (``nsga2-flops``: FLOPs, else the product's
    default, parameters)."""
    from backend.search.confirm import (
        budgeted_reserve,
        confirmation_affordable,
        confirmed_fitness,
        confirmed_winner,
        next_work_seconds,
        pick_for_confirmation,
        reserve_seconds,
        skip_note,
        training_epochs,
    )
    from backend.search.cost import cost
    from backend.search.early_stop import chance_floor
    from backend.search.engine import BASELINE_ORIGIN, Engine, EngineConfig, Result
    from backend.search.space import PRESETS, baseline_genome

    space = PRESETS["seed"]
    res = MethodResult(
        strategy
        + (EARLY_STOP_SUFFIX if early_stop else "")
        + (FLOPS_SUFFIX if objective == "flops" else "")
    )
    if early_stop:
        res.notes.append(
            f"early stop below the {early_stop.quantile:g} quantile of >= "
            f"{early_stop.min_peers} peers"
            + (
                ""
                if early_stop.chance is None
                else f" or at <= {chance_floor(early_stop.chance):g}"
            )
        )
    if p.flops_factor:
        _, base_flops = cost(baseline_genome(p.input_shape), p.input_shape, p.num_classes)
        space = space.model_copy(update={"max_flops": int(base_flops * p.flops_factor)})
        res.notes.append(f"max_flops {space.max_flops:,} ({p.flops_factor} x the seed CNN)")
    config = EngineConfig(
        strategy=strategy,
        space=space,
        input_shape=p.input_shape,
        num_classes=p.num_classes,
        population_size=p.population,
        generations=10_000,  # the budget ends the search
        seed=p.seed,
        include_baseline=True,
        warm_start=p.warm_start,
        objective=objective,
    )
    if p.warm_start:
        res.notes.append("generation 0: the seed CNN and mutations of it")
    trainer = _trainer(p, res, early_stop)
    engine = Engine(config)
    start = time.monotonic()
    deadline = start + p.budget_s
    confirm_epochs = p.confirm_epochs or p.final_epochs
    # what a confirmation trains: the epochs its candidate lacks, as in the worker
    resumes = p.confirm_resume and confirm_epochs > p.epochs
    training = training_epochs(confirm_epochs, p.epochs, p.confirm_resume)
    kept: dict[int, Any] = {}  # scored trials' models (or their files), for confirmations
    if p.confirm_top:
        how = "trained on from their candidates" if resumes else "from scratch"
        if confirm_epochs == p.epochs:
            how = "a second training from scratch, another seed; ranked by the mean of both"
        res.notes.append(f"confirm the best {p.confirm_top} for {confirm_epochs} epochs ({how})")

    def reserve(scored: list[Any]) -> float:
        """What confirming the current best few would take on the trainer's slots; 0 past
        ``MAX_CONFIRM_SHARE`` of the budget (confirmation is then skipped), as in the worker."""
        return budgeted_reserve(scored, p.confirm_top, training, p.budget_s, trainer.slots)

    def search_deadline() -> float:
        """The budget less what confirming the current best few would take."""
        return deadline - reserve(_scored(res.trials))

    def fits(genome: dict[str, Any]) -> bool:
        """Whether this candidate would end before the confirmation reserve (the budget's end
        where none is held): its time predicted from its FLOPs (``predict_seconds``), else the
        90th percentile of the measured ones, as the worker decides whether to start one
        (``worker.runner._would_overrun``, since run ao; before it, with no reserve held,
        every candidate started before the deadline and the last ones were cut there)."""
        scored = _scored(res.trials)
        end = deadline - reserve(scored)
        need = next_work_seconds([_cost(genome, p)[1]], scored, p.epochs)
        return time.monotonic() + need <= end

    not_started = 0
    try:
        while time.monotonic() < search_deadline():
            proposals = engine.ask()
            # none would end in time: not asked for (the worker's ``_nothing_fits``)
            if not any(fits(prop.genome) for prop in proposals):
                break
            # a generation, its candidates started as slots come free (the worker's way)
            results: dict[int, Result] = {}
            queue = list(enumerate(proposals))
            running: dict[Future[Any], tuple[int, Any]] = {}
            started = 0
            while queue or running:
                while queue and len(running) < trainer.slots:
                    at, prop = queue.pop(0)
                    if not fits(prop.genome):  # never started: not proposed
                        results[at] = Result(prop.generation, prop.index, None, 0, 0)
                        not_started += 1
                        continue
                    started += 1
                    job = Job(
                        prop.genome,
                        # the worker's per-candidate seed (worker.runner._claim)
                        p.seed * 100_003 + prop.generation * 1009 + prop.index,
                        len(res.trials) + len(running),
                        start,
                        deadline,
                        keep=resumes and p.confirm_top > 0,
                        early_stop=early_stop is not None and prop.origin != BASELINE_ORIGIN,
                        peer=True,
                    )
                    running[trainer.submit(job)] = (at, prop)
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: running[f][0]):
                    at, prop = running.pop(fut)
                    trial, model = fut.result()
                    if model is not None:
                        kept[trial.index] = model
                    res.trials.append(trial)
                    res.trials.sort(key=lambda t: t.index)
                    _say_trial(p, res.method, trial, prop.origin)
                    # an early-stopped candidate is scored where it stopped (the worker)
                    counted = trial.useful or trial.stopped_early
                    fitness = trial.val_accuracy if counted else None
                    results[at] = Result(prop.generation, prop.index, fitness, 0, 0)
            engine.tell([results[at] for at in sorted(results)])
            if not started:  # nothing of a whole generation fits before the reserve
                break
        scored = _scored(res.trials)
        picks = pick_for_confirmation(scored, p.confirm_top)
        left = max(0.0, deadline - time.monotonic())
        if picks and not confirmation_affordable(
            scored, p.confirm_top, training, p.budget_s, trainer.slots, remaining_s=left
        ):
            need = reserve_seconds(scored, p.confirm_top, training, trainer.slots)
            res.notes.append(skip_note(need, p.budget_s, left))
            picks = []
        by_index = {t.index: t for t in res.trials}
        confirming = []
        for i, pick in enumerate(picks):
            source = by_index[pick.key]
            assert source.genome is not None
            model = kept.get(source.index)
            job = Job(
                source.genome,
                p.seed * 100_003 + (engine.generation + 1) * 1009 + i,  # the worker's rule
                source.index,
                start,
                deadline,
                epochs=confirm_epochs,
                resume=model,
                initial_epoch=0 if model is None else len(source.val_curve),
            )
            confirming.append(trainer.submit(job))
        for fut in confirming:  # the pool trains them side by side, as the workers do
            trial, _ = fut.result()
            res.confirmations.append(trial)
            _say_trial(p, res.method, trial, f"confirm x{confirm_epochs}")
    finally:
        trainer.close()
    if not_started:
        res.notes.append(
            f"{not_started} not started: predicted to end past the budget or the reserve"
        )
    # a confirmation keeps its source's index, so the winner's key names both; one as long as
    # its candidate ranks by the mean of the two trainings (confirmed_fitness), as in the worker
    sources = {t.index: t for t in res.trials}
    winner = confirmed_winner(
        [
            replace(
                s,
                fitness=confirmed_fitness(
                    s.fitness,
                    confirm_epochs,
                    sources[s.key].val_accuracy,
                    len(sources[s.key].val_curve),
                ),
            )
            for s in _scored(res.confirmations)
        ]
    )
    if winner is not None:
        res.confirmed = next(t for t in res.confirmations if t.index == winner.key)
    res.wall_s = time.monotonic() - start
    return res


def _trainer(p: Protocol, res: MethodResult, early_stop: Any = None) -> InlineTrainer | PoolTrainer:
    """This process, or ``p.workers`` processes sharing ``p.threads`` TensorFlow threads. A
    process's epochs then take longer in wall time, so the epoch cap is per share of the
    machine: ``workers`` x the cap (the same compute as one epoch at the cap on all threads).
    ``early_stop``: the -es methods' rule, applied against the candidates scored so far (the
    caller reports each with ``scored``)."""
    if p.workers <= 1:
        return InlineTrainer(p, early_stop)
    threads = max(1, p.threads // p.workers)
    cap = p.epoch_cap_s * p.workers
    res.notes.append(
        f"{p.workers} worker processes x {threads} TensorFlow thread(s); epoch cap {cap:g} s"
    )
    models_dir = Path(tempfile.mkdtemp(prefix="nasboard-bench-models-"))
    return PoolTrainer(replace(p, epoch_cap_s=cap), p.workers, threads, models_dir, early_stop)


def _scored(trials: list[Trial]) -> list[Any]:
    """Trials as ``backend.search.confirm.Scored`` (keyed by trial index), with the worker's
    seconds per epoch (``confirm.seconds_per_epoch``: a process's one-time start-up is not
    charged to its first candidate)."""
    from backend.search.confirm import Scored, Timing, seconds_per_epoch
    from backend.search.genome import genome_hash

    timings = [
        Timing(len(t.epoch_s), sum(t.epoch_s), t.ended_s - t.started_s)
        if t.epoch_s
        else Timing(0, None, None)
        for t in trials
    ]
    return [
        Scored(t.index, genome_hash(t.genome), t.val_accuracy, t.params or 0, s, t.flops)
        for t, s in zip(trials, seconds_per_epoch(timings), strict=True)
        if t.useful and t.genome is not None
    ]


def run_baseline(p: Protocol) -> MethodResult:
    from backend.search.space import baseline_genome

    res = MethodResult("baseline")
    start = time.monotonic()
    # No budget for the seed CNN: it is one candidate, however long it takes (cap included).
    trial = _train_nasboard(
        baseline_genome(p.input_shape), p.seed, p, start, start + 10 * p.budget_s + 3600, 0
    )
    res.trials.append(trial)
    _say_trial(p, "baseline", trial, "baseline")
    res.wall_s = time.monotonic() - start
    return res


def _fit_peer(genome: dict[str, Any], p: Protocol, guard: Guard, model: Any = None) -> Any:
    """The peers' training: plain ``model.fit`` on numpy arrays, with the Guard."""
    from worker.model_builder import build_model, compile_model

    if model is None:
        model = build_model(genome, p.input_shape, p.num_classes)
        compile_model(model, genome)
    return model.fit(
        p.data.x_train,
        p.data.y_train,
        batch_size=p.batch_size,
        epochs=p.epochs,
        validation_data=(p.data.x_val, p.data.y_val),
        shuffle=True,
        verbose=0,
        callbacks=[keras_guard(guard)],
    )


def _peer_trial(res: MethodResult, genome: dict[str, Any] | None, t0: float, start: float) -> Trial:
    params, flops = _cost(genome, PROTOCOL) if genome is not None else (None, None)
    trial = Trial(
        len(res.trials), genome, t0 - start, t0 - start, False, params=params, flops=flops
    )
    res.trials.append(trial)
    return trial


def _close_peer_trial(trial: Trial, history: Any, guard: Guard, p: Protocol, start: float) -> None:
    hist = getattr(history, "history", {}) or {}
    losses = hist.get("loss", [])
    vals = hist.get("val_accuracy", [])
    trial.epoch_s = guard.epoch_s
    trial.ended_s = time.monotonic() - start
    if guard.reason:
        trial.reason = guard.reason
    elif len(losses) < p.epochs or not all(math.isfinite(x) for x in losses) or not vals:
        trial.reason = "nonfinite"
    else:
        trial.val_accuracy = float(vals[-1])
        trial.useful = math.isfinite(trial.val_accuracy)
        trial.reason = "" if trial.useful else "nonfinite"


def run_keras_tuner(p: Protocol, replay: list[dict[str, Any]] | None = None) -> MethodResult:
    """Keras Tuner's RandomSearch over the seed choices; with ``replay``, its same loop over
    these genomes in this order instead (``bench/same_candidates.py``)."""
    import keras
    import keras_tuner as kt
    from keras_tuner.src import config as kt_config
    from keras_tuner.src.engine import trial as kt_trial

    kt_config.DEBUG = False  # no traceback per failed trial: we count and print them ourselves

    res = MethodResult("keras-tuner-random" if replay is None else "keras-tuner loop")
    origin = "random" if replay is None else "replay"
    searching = False
    start = time.monotonic()
    deadline = start + p.budget_s
    workdir = tempfile.mkdtemp(prefix="nasboard-kt-")

    class SeedHyperModel(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            from worker.model_builder import build_model, compile_model

            if replay is None:
                genome = genome_from_choices(lambda name, c: hp.Choice(name, list(c)))
            else:
                genome = replay[hp.Int("candidate", 0, len(replay) - 1)]
            if not searching:  # KT builds with default values to discover the space
                model = build_model(genome, p.input_shape, p.num_classes)
                return compile_model(model, genome)
            trial = _peer_trial(res, genome, time.monotonic(), start)
            # seeded like nasboard's candidates (op determinism is on: unseeded shuffles fail)
            keras.utils.set_random_seed(p.seed * 100_003 + trial.index)
            try:
                model = build_model(genome, p.input_shape, p.num_classes)
            except Exception as exc:
                trial.reason = f"build: {type(exc).__name__}"
                trial.ended_s = time.monotonic() - start
                _say_trial(p, res.method, trial, origin)
                raise kt.errors.FailedTrialError(str(exc)) from exc
            compile_model(model, genome)
            return model

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            trial = res.trials[-1]
            guard = Guard(p.epoch_cap_s, deadline)
            kwargs["callbacks"] = [*kwargs.get("callbacks", []), keras_guard(guard)]
            history = None
            try:
                history = model.fit(*args, **kwargs)
            except Exception as exc:
                trial.reason = f"error: {type(exc).__name__}"
                trial.error = str(exc)[:300]
            if history is not None:
                _close_peer_trial(trial, history, guard, p, start)
            trial.ended_s = time.monotonic() - start
            _say_trial(p, res.method, trial, origin)
            if not trial.useful:
                raise kt.errors.FailedTrialError(trial.reason)
            return history

    class BudgetOracle(kt.oracles.RandomSearchOracle):
        def populate_space(self, trial_id: str) -> dict[str, Any]:
            if time.monotonic() >= deadline or (
                replay is not None and len(res.trials) >= len(replay)
            ):
                return {"status": kt_trial.TrialStatus.STOPPED, "values": None}
            if replay is not None:  # the next genome of the list (a trial appends at build)
                return {
                    "status": kt_trial.TrialStatus.RUNNING,
                    "values": {"candidate": len(res.trials)},
                }
            return super().populate_space(trial_id)

    oracle = BudgetOracle(
        objective=kt.Objective("val_accuracy", "max"),
        max_trials=100_000,
        seed=p.seed,
        max_consecutive_failed_trials=100_000,
    )
    tuner = kt.Tuner(
        oracle=oracle,
        hypermodel=SeedHyperModel(),
        directory=workdir,
        project_name="seed",
        overwrite=True,
    )
    searching = True
    start = time.monotonic()
    deadline = start + p.budget_s
    try:
        tuner.search(
            p.data.x_train,
            p.data.y_train,
            batch_size=p.batch_size,
            epochs=p.epochs,
            validation_data=(p.data.x_val, p.data.y_val),
            verbose=0,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        keras.backend.clear_session()
    res.wall_s = time.monotonic() - start
    return res


def run_optuna(p: Protocol) -> MethodResult:
    import keras
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failed trials are ours to count
    res = MethodResult("optuna-tpe")
    start = time.monotonic()
    deadline = start + p.budget_s

    def objective(ot: Any) -> float:
        from worker.model_builder import build_model, compile_model

        genome = genome_from_choices(
            lambda name, choices: ot.suggest_categorical(name, list(choices))
        )
        trial = _peer_trial(res, genome, time.monotonic(), start)
        keras.utils.set_random_seed(p.seed * 100_003 + trial.index)  # as in run_keras_tuner
        guard = Guard(p.epoch_cap_s, deadline)
        try:
            model = build_model(genome, p.input_shape, p.num_classes)
        except Exception as exc:
            trial.reason = f"build: {type(exc).__name__}"
            trial.ended_s = time.monotonic() - start
            _say_trial(p, res.method, trial, "tpe")
            raise
        compile_model(model, genome)
        try:
            history = _fit_peer(genome, p, guard, model)
            _close_peer_trial(trial, history, guard, p, start)
        except Exception as exc:
            trial.reason = f"error: {type(exc).__name__}"
            trial.error = str(exc)[:300]
        trial.ended_s = time.monotonic() - start
        _say_trial(p, res.method, trial, "tpe")
        if not trial.useful:
            raise RuntimeError(trial.reason)
        assert trial.val_accuracy is not None
        return trial.val_accuracy

    def stop_at_deadline(study: Any, _trial: Any) -> None:
        if time.monotonic() >= deadline:
            study.stop()

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=p.seed)
    )
    study.optimize(objective, callbacks=[stop_at_deadline], catch=(Exception,), gc_after_trial=True)
    res.wall_s = time.monotonic() - start
    return res


def _say_trial(p: Protocol, method: str, t: Trial, origin: str) -> None:
    acc = "-" if t.val_accuracy is None else f"{t.val_accuracy:.4f}"
    flops = "?" if t.flops is None else f"{t.flops / 1e6:.1f}M"
    state = "ok" if t.useful else ("rung stop" if t.stopped_at_rung is not None else t.reason)
    p.say(
        f"  [{method}] #{t.index} {origin:<18} {state:<10} val {acc}  flops {flops:>7}"
        f"  epochs {t.epoch_s}  at {t.ended_s:6.1f}s"
    )


RUNNERS: dict[str, Callable[[Protocol], MethodResult]] = {
    "baseline": run_baseline,
    "keras-tuner-random": run_keras_tuner,
    "optuna-tpe": run_optuna,
    **{s: (lambda p, s=s: run_nasboard(s, p)) for s in NASBOARD_STRATEGIES},  # type: ignore[misc]
    **{
        s + EARLY_STOP_SUFFIX: (lambda p, s=s: run_nasboard(s, p, p.early_stop))  # type: ignore[misc]
        for s in NASBOARD_STRATEGIES
    },
    "nsga2" + FLOPS_SUFFIX: lambda p: run_nasboard("nsga2", p, objective="flops"),
}

PROTOCOL: Protocol  # set by main(); the peers' hooks read it


def final(res: MethodResult, p: Protocol, done: dict[str, tuple[float, str]]) -> None:
    """Retrain the best found from scratch on train+validation; score once on test."""
    from backend.search.genome import genome_hash
    from worker import evaluator

    best = res.chosen()
    if best is None or best.genome is None:
        res.notes.append("no useful candidate: no final model")
        return
    res.final_genome = best.genome
    h = genome_hash(best.genome)
    if h in done:
        res.final_test_accuracy, res.final_reused_from = done[h]
        return
    t0 = time.monotonic()
    out = evaluator.final_train(
        best.genome,
        p.data,
        p.num_classes,
        epochs=p.final_epochs,
        batch_size=p.batch_size,
        seed=p.seed,
    )
    res.final_s = round(time.monotonic() - t0, 1)
    res.final_test_accuracy = float(out.metrics["test_accuracy"])
    done[h] = (res.final_test_accuracy, res.method)


# ----------------------------------------------------------------------------- report


def _fmt(x: float | None, spec: str = ".4f") -> str:
    return "—" if x is None else format(x, spec)


def report(results: list[MethodResult], p: Protocol) -> dict[str, Any]:
    by = {r.method: r for r in results}
    rows = [r.summary() for r in results]
    print()
    print(
        f"dataset {p.dataset}, {p.epochs}-epoch candidates, batch {p.batch_size}, "
        f"budget {p.budget_s:.0f} s/method, epoch cap {p.epoch_cap_s:.0f} s, "
        f"final {p.final_epochs} epochs on train+val"
    )
    head = (
        f"{'method':<20} {'useful/proposed':>15} {'cand/min':>9} {'best val':>9} "
        f"{'first>=0.90':>12} {'final test':>11}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        best = r.best()
        first = r.first_at_target_s
        extra = f"  (= {r.final_reused_from})" if r.final_reused_from else ""
        print(
            f"{r.method:<20} {f'{r.useful}/{r.proposed}':>15} {r.per_minute:>9.2f} "
            f"{_fmt(best.val_accuracy if best else None):>9} "
            f"{('never' if first is None else f'{first:.0f} s'):>12} "
            f"{_fmt(r.final_test_accuracy):>11}{extra}"
        )
        if r.confirmations:
            by_index = {t.index: t for t in r.trials}
            text = ", ".join(
                f"#{t.index} {_fmt(by_index[t.index].val_accuracy)} -> {_fmt(t.val_accuracy)}"
                for t in r.confirmations
            )
            won = "none" if r.confirmed is None else f"#{r.confirmed.index}"
            print(f"{'':<20}   confirmed (val, candidate -> confirmation): {text}; retrained {won}")
        reasons = _reasons(r.trials)
        if reasons or r.notes:
            print(f"{'':<20}   not useful: {reasons or 'none'}; {'; '.join(r.notes)}")
    ratios: dict[str, Any] = {}
    kt_res = by.get("keras-tuner-random")
    print()
    for s in NASBOARD_METHODS:
        if s not in by:
            continue
        mine = by[s]
        entry: dict[str, Any] = {}
        if kt_res is not None and kt_res.per_minute > 0:
            # Keras Tuner stops nothing early: its evaluated candidates are its useful ones.
            ratio = mine.evaluated_per_minute / kt_res.per_minute
            entry["cand_per_min_vs_kt_random"] = round(ratio, 3)
            entry["fully_trained_per_min_vs_kt_random"] = round(
                mine.per_minute / kt_res.per_minute, 3
            )
            verdict = "PASS" if ratio >= 1.5 else "FAIL"
            full = (
                f" ({mine.useful} of them fully trained: {mine.per_minute:.2f}/min = "
                f"{entry['fully_trained_per_min_vs_kt_random']:.2f}x)"
                if mine.early_stopped
                else ""
            )
            print(
                f"{s}: candidates evaluated/min {mine.evaluated_per_minute:.2f}{full} / KT "
                f"RandomSearch {kt_res.per_minute:.2f} = {ratio:.2f}x (target >= 1.5x: {verdict})"
            )
        deltas = {}
        for other in results:
            if other.method in NASBOARD_METHODS or other.final_test_accuracy is None:
                continue
            if mine.final_test_accuracy is None:
                continue
            deltas[other.method] = round(mine.final_test_accuracy - other.final_test_accuracy, 4)
        if deltas:
            entry["final_test_minus"] = deltas
            beats = all(d > 0 for d in deltas.values())
            # a PASS needs every peer and the baseline in the run, each with a final
            absent = [m for m in TARGET_RIVALS if m not in deltas]
            verdict = "FAIL" if not beats else "PASS" if not absent else "not judged"
            if beats and absent:
                verdict += f": no final for {', '.join(absent)} in this run"
            text = ", ".join(f"{k} {v:+.4f}" for k, v in deltas.items())
            print(
                f"{s}: final test {_fmt(mine.final_test_accuracy)} minus {text} "
                f"(target: higher than every peer and the baseline: {verdict})"
            )
        ratios[s] = entry
    early_stop_ab = _early_stop_ab(by)
    return {
        "protocol": {
            "dataset": p.dataset,
            "budget_s": p.budget_s,
            "epochs": p.epochs,
            "final_epochs": p.final_epochs,
            "batch_size": p.batch_size,
            "epoch_cap_s": p.epoch_cap_s,
            "seed": p.seed,
            "population": p.population,
            "flops_factor": p.flops_factor,
            "warm_start": p.warm_start,
            "confirm_top": p.confirm_top,
            "confirm_epochs": p.confirm_epochs or p.final_epochs,
            "confirm_resume": p.confirm_resume,
            "early_stop": None if p.early_stop is None else asdict(p.early_stop),
            "rung_steps": p.rung_steps,
            "tf_threads": os.environ.get("NASBOARD_TF_THREADS"),
            "workers": p.workers,
            "machine": machine(),
        },
        "methods": rows,
        "ratios": ratios,
        "early_stop_ab": early_stop_ab,
        "trials": {r.method: [asdict(t) for t in r.trials] for r in results},
        "final_genomes": {r.method: r.final_genome for r in results},
    }


def _early_stop_ab(by: dict[str, MethodResult]) -> dict[str, Any]:
    """Each strategy run with and without early stop in this run, side by side."""
    out: dict[str, Any] = {}
    for s in NASBOARD_STRATEGIES:
        off, on = by.get(s), by.get(s + EARLY_STOP_SUFFIX)
        if off is None or on is None:
            continue
        row = {}
        for name, r in (("off", off), ("on", on)):
            best = r.best()
            row[name] = {
                "scored_per_min": round(r.evaluated_per_minute, 3),
                "full_per_min": round(r.per_minute, 3),
                "early_stopped": r.early_stopped,
                "epochs_trained": r.epochs_trained,
                "best_val_accuracy": None if best is None else best.val_accuracy,
                "final_test_accuracy": r.final_test_accuracy,
            }
            print(
                f"early stop {name:<3} {s:<10} scored {r.evaluated} "
                f"({r.early_stopped} stopped early) = {row[name]['scored_per_min']:.2f}/min, "
                f"fully trained {r.useful} = {r.per_minute:.2f}/min, epochs {r.epochs_trained}, "
                f"best val {_fmt(row[name]['best_val_accuracy'])}, "
                f"final test {_fmt(r.final_test_accuracy)}"
            )
        out[s] = row
    return out


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "digits"])
    ap.add_argument("--methods", default="all", help=f"comma list of {', '.join(ALL_METHODS)}")
    ap.add_argument("--budget-s", type=float, default=600.0, help="search seconds per method")
    ap.add_argument("--epochs", type=int, default=2, help="epochs per candidate")
    ap.add_argument("--final-epochs", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--epoch-cap-s", type=float, default=50.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--population", type=int, default=8, help="nasboard population size")
    ap.add_argument(
        "--flops-factor",
        type=float,
        default=1.25,
        help="nasboard's max_flops as a multiple of the seed CNN's FLOPs",
    )
    ap.add_argument("--no-cost-filter", action="store_true", help="no max_flops for nasboard")
    ap.add_argument(
        "--warm-start",
        action="store_true",
        help="nasboard: generation 0 is the seed CNN and mutations of it, not random genomes",
    )
    ap.add_argument(
        "--confirm-top",
        type=int,
        default=2,
        help="nasboard: train the best N again for --confirm-epochs inside the budget (0: off)",
    )
    ap.add_argument(
        "--confirm-epochs",
        type=int,
        default=4,
        help="epochs of a confirmation (4: twice the candidates', half the final's; equal to"
        " --epochs: a second training under another seed, ranked by the mean of both)",
    )
    ap.add_argument(
        "--confirm-from-scratch",
        action="store_true",
        help="nasboard: confirmations train again from scratch instead of on from each"
        " candidate's model (the worker resumes)",
    )
    ap.add_argument(
        "--early-stop-quantile",
        type=float,
        default=0.5,
        help="the -es methods: stop below this quantile of the peers at the same epoch",
    )
    ap.add_argument(
        "--early-stop-min-peers",
        type=int,
        default=5,
        help="the -es methods: peers needed at an epoch before the rule applies",
    )
    ap.add_argument(
        "--rung-steps",
        type=int,
        default=None,
        help="the -es methods: judge once more inside the first epoch, after this many steps"
        " (the search setting early_stop_rung_steps; default: after whole epochs only)",
    )
    ap.add_argument(
        "--no-chance-cut",
        action="store_true",
        help="the -es methods: the median rule only (as before 2026-11-29 06:00 UTC)",
    )
    ap.add_argument(
        "--threads", type=int, default=2, help="TensorFlow threads (NASBOARD_TF_THREADS)"
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="nasboard: train candidates in N processes at once, --threads // N threads each"
        " (as N `nasboard worker` processes)",
    )
    ap.add_argument("--json", help="write every figure and trial here")
    ap.add_argument("--quiet", action="store_true", help="no per-candidate lines")
    args = ap.parse_args(argv)

    methods = list(ALL_METHODS) if args.methods == "all" else args.methods.split(",")
    unknown = [m for m in methods if m not in RUNNERS]
    if unknown:
        ap.error(f"unknown methods {unknown}; choose from {', '.join(RUNNERS)}")

    configure_process(args.threads)
    import keras

    from backend.datasets.builtin import get_info, load
    from backend.search.early_stop import EarlyStopRule, chance_for

    info = get_info(args.dataset)
    assert info is not None
    data = load(args.dataset)
    global PROTOCOL
    p = PROTOCOL = Protocol(
        dataset=args.dataset,
        data=data,
        input_shape=tuple(info.input_shape),  # type: ignore[arg-type]
        num_classes=info.num_classes,
        budget_s=args.budget_s,
        epochs=args.epochs,
        final_epochs=args.final_epochs,
        batch_size=args.batch_size,
        epoch_cap_s=args.epoch_cap_s,
        seed=args.seed,
        population=args.population,
        flops_factor=None if args.no_cost_filter else args.flops_factor,
        confirm_top=args.confirm_top,
        confirm_resume=not args.confirm_from_scratch,
        confirm_epochs=args.confirm_epochs,
        warm_start=args.warm_start,
        threads=args.threads,
        workers=args.workers,
        early_stop=EarlyStopRule(
            args.early_stop_quantile,
            args.early_stop_min_peers,
            chance=None if args.no_chance_cut else chance_for(info.num_classes),
        ),
        rung_steps=args.rung_steps,
        verbose=not args.quiet,
    )
    print(
        f"search_quality: {args.dataset} train {len(data.x_train)} / val {len(data.x_val)} / "
        f"test {len(data.x_test)}; methods {', '.join(methods)}; TF threads {args.threads}",
        flush=True,
    )
    results: list[MethodResult] = []
    finals: dict[str, tuple[float, str]] = {}
    for method in methods:
        p.say(f"== {method}: searching for {args.budget_s:.0f} s")
        res = RUNNERS[method](p)
        final(res, p, finals)
        p.say(
            f"== {method}: {res.useful}/{res.proposed} useful in {res.wall_s:.0f} s; final test "
            f"{_fmt(res.final_test_accuracy)}"
            + (f" (retrained in {res.final_s:.0f} s)" if res.final_s else "")
        )
        results.append(res)
        keras.backend.clear_session()
        gc.collect()
    out = report(results, p)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1, default=str)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
