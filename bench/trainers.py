"""Where ``bench/search_quality.py`` trains nasboard's candidates: in its own process, one at a
time, or in N worker processes at once, as N ``nasboard worker`` processes would.

Why worker processes: on a 2-core machine two TensorFlow processes of 1 thread each train
more per second than one process of 2 threads (small convolutions do not split well over
threads), and the product's workers train candidates as separate tasks. The pool keeps each
process's dataset loaded (as a worker does) and hands models between processes the worker's
way: a scored candidate's model is saved as ``.keras`` and a confirmation loads it
(``worker.evaluator.load_for_resume``). Deadlines are ``time.monotonic()`` instants, one clock
for every process on the machine.
"""

from __future__ import annotations

import gc
import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.search_quality import Protocol, Trial

Hopeless = Callable[[int, dict[str, float]], bool]
#: The scores recorded so far at a point (0: the rung inside the first epoch; e: after epoch e).
Peers = Callable[[int], list[float]]
#: Record a candidate's score at a point, a peer of every later judgement there.
Record = Callable[[int, float], None]


def hopeless_rule(
    rule: Any, epochs: int, peers: Peers, record: Record, judge: bool = True
) -> Hopeless:
    """The worker's early-stop hook (``worker.runner.hopeless``) for ``rule`` (an
    ``EarlyStopRule``): after an epoch, the candidate's validation accuracy against that epoch's
    of every other candidate that reached it, done or still training; then its own is recorded.
    ``judge=False``: recorded only (the seed CNN: a peer, never stopped)."""
    import math

    from backend.search.early_stop import is_hopeless

    def hopeless(epoch: int, point: dict[str, float]) -> bool:
        value = point.get("val_accuracy", math.nan)
        stop = judge and is_hopeless(value, epoch, epochs, peers(epoch), rule)
        record(epoch, value)
        return stop

    return hopeless


def rung_rule(rule: Any, epochs: int, steps: int, peers: Peers, record: Record) -> Any:
    """The worker's rung (``worker.runner.hopeless_at_rung``) for ``rule``, ``steps`` into the
    first epoch: the candidate's validation accuracy there against every other candidate's at
    the same rung, then its own recorded. A ``worker.evaluator.Rung``."""
    import math

    from backend.search.early_stop import is_hopeless
    from worker.evaluator import Rung

    def hook(at: int, point: dict[str, float]) -> bool:
        value = point.get("val_accuracy", math.nan)
        stop = is_hopeless(value, 0, epochs, peers(0), rule)
        record(0, value)
        return stop

    return Rung(steps, hook)


class _Points:
    """Every candidate's scores as they are reached, ``(point, value)`` pairs in ``store`` (a
    list, or a manager's list the pool's processes share), as the workers read them from the
    database: a candidate is a peer at a point from the moment it reached it."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def peers(self, point: int) -> list[float]:
        return [v for at, v in list(self.store) if at == point]

    def record(self, point: int, value: float) -> None:
        self.store.append((point, value))


@dataclass(frozen=True)
class Job:
    """One candidate (or confirmation) to train; picklable, without the dataset."""

    genome: dict[str, Any]
    seed: int
    index: int
    start: float  # the method's start, time.monotonic()
    deadline: float
    epochs: int | None = None  # None: the protocol's
    keep: bool = False  # keep the scored model for a confirmation
    resume: Any = None  # the kept model (in process) or its .keras path (pool)
    initial_epoch: int = 0
    early_stop: bool = False  # apply the method's hopeless rule (and its rung, if any)
    peer: bool = False  # its scores are peers of the rule (a search-phase candidate)


Outcome = tuple["Trial", Any]  # the trial and its kept model (or its path), else None


class InlineTrainer:
    """Trains in this process, one candidate at a time (the bench's way until 2026-11-30)."""

    slots = 1

    def __init__(self, p: Protocol, rule: Any = None) -> None:
        """``rule``: the method's ``EarlyStopRule``, applied to the jobs that ask for it (at
        ``p.rung_steps`` inside the first epoch too, where set)."""
        self.p = p
        self.points = _Points([])
        self.rule = rule

    def submit(self, job: Job) -> Future[Outcome]:
        fut: Future[Outcome] = Future()
        fut.set_result(_train(self.p, job, *_judges(self.p, self.rule, job, self.points)))
        return fut

    def close(self) -> None:
        pass


class PoolTrainer:
    """Trains in ``workers`` spawned processes of ``threads`` TensorFlow threads each."""

    def __init__(
        self, p: Protocol, workers: int, threads: int, models_dir: Path, rule: Any = None
    ) -> None:
        """``rule``: the method's ``EarlyStopRule``; the processes then judge their candidates
        against the scores every candidate reached so far in any of them (a list that a
        manager process shares), as the workers read them from the database."""
        self.slots = workers
        self.p = replace(p, data=None)  # each process loads the dataset once, itself
        self.models_dir = models_dir
        ctx = get_context("spawn")
        self.rule = rule
        self.manager = ctx.Manager() if rule is not None else None
        self.points = None if self.manager is None else self.manager.list()
        self.pool = ProcessPoolExecutor(
            workers,
            mp_context=ctx,
            initializer=_init_process,
            initargs=(p.dataset, threads),
        )
        # Start every process (TensorFlow import, dataset load) before the clock starts, as
        # the in-process method has done both before its first candidate.
        wait([self.pool.submit(_ready, 1.0) for _ in range(workers)])

    def submit(self, job: Job) -> Future[Outcome]:
        stop = None if self.rule is None else (self.rule, self.points)
        return self.pool.submit(_train_in_process, self.p, job, self.models_dir, stop)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.manager is not None:
            self.manager.shutdown()
        shutil.rmtree(self.models_dir, ignore_errors=True)


# ----------------------------------------------------------------------------- in each process

_DATA: dict[str, Any] = {}


def configure_process(threads: int) -> None:
    """TensorFlow for a bench process that trains: ``threads`` threads and op determinism (the
    evaluator's import configures both from the environment), quiet logs. Before any other
    TensorFlow import in the process."""
    os.environ["NASBOARD_TF_THREADS"] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import warnings

    warnings.filterwarnings("ignore", message=".*shuffle=True.*")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # retracing notes: one model per candidate is the point
    from worker import evaluator  # noqa: F401  (configures TF threads and determinism)


def _init_process(dataset: str, threads: int) -> None:
    from backend.datasets.builtin import load

    configure_process(threads)
    _DATA["data"] = load(dataset)


def _ready(seconds: float) -> int:
    """Holds its process a moment so that each of the pool's processes gets one."""
    import time

    time.sleep(seconds)
    return os.getpid()


def _train_in_process(
    p: Protocol, job: Job, models_dir: Path, stop: tuple[Any, Any] | None = None
) -> Outcome:
    """``stop``: the method's early-stop rule and the shared list of the scores reached."""
    import keras

    from worker import evaluator

    p = replace(p, data=_DATA["data"])
    if job.resume is not None:
        job = replace(job, resume=evaluator.load_for_resume(Path(job.resume)))
    rule, points = stop if stop is not None else (None, None)
    trial, model = _train(p, job, *_judges(p, rule, job, _Points(points)))
    path = None
    if model is not None:
        path = models_dir / f"{job.index}.keras"
        evaluator.save_keras(model, path)
    del model, job
    keras.backend.clear_session()
    gc.collect()
    return trial, None if path is None else str(path)


def _judges(p: Protocol, rule: Any, job: Job, points: _Points) -> tuple[Hopeless | None, Any]:
    """The job's hook after each epoch and its rung inside the first: judged by ``rule`` where
    the job asks for it, its scores recorded where it is a peer (None: neither)."""
    if rule is None or not (job.early_stop or job.peer):
        return None, None
    hopeless = hopeless_rule(rule, p.epochs, points.peers, points.record, judge=job.early_stop)
    if p.rung_steps is None or not job.early_stop:
        return hopeless, None
    return hopeless, rung_rule(rule, p.epochs, p.rung_steps, points.peers, points.record)


def _train(p: Protocol, job: Job, hopeless: Hopeless | None, rung: Any = None) -> Outcome:
    from bench.search_quality import _train_nasboard

    models: dict[int, Any] | None = {} if job.keep else None
    trial = _train_nasboard(
        job.genome,
        job.seed,
        p,
        job.start,
        job.deadline,
        job.index,
        epochs=job.epochs,
        hopeless=hopeless,
        rung=rung,
        models=models,
        resume=None if job.resume is None else (job.resume, job.initial_epoch),
    )
    return trial, None if models is None else models.get(job.index)
