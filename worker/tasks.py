"""Thin Celery tasks: take ids, call the runner, enqueue what it says comes next."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select

from backend.core.config import get_settings
from backend.core.logging import log
from backend.core.queue import QUEUE
from backend.datasets.registry import dataset_info
from backend.db.models import Search
from backend.db.models import search as sstate
from backend.db.session import Database, get_database
from worker import final_phase, runner
from worker.celery_app import app

logger = logging.getLogger("nasboard.tasks")

RUN_SEARCH = "worker.run_search"
EVALUATE = "worker.evaluate_candidate"
FINALIZE = "worker.finalize_search"

_T = TypeVar("_T")


def _db() -> Database:
    return get_database(get_settings().resolved_database_url)


def send_start(search_id: int) -> None:
    app.send_task(RUN_SEARCH, args=[search_id], queue=QUEUE)


def send_evaluate(candidate_id: int) -> None:
    app.send_task(EVALUATE, args=[candidate_id], queue=QUEUE)


def send_finalize(search_id: int) -> None:
    app.send_task(FINALIZE, args=[search_id], queue=QUEUE)


def dispatch(nxt: runner.Next, search_id: int | None = None) -> None:
    for candidate_id in nxt.evaluate:
        send_evaluate(candidate_id)
    if nxt.finalize and search_id is not None:
        send_finalize(search_id)


@app.task(name=RUN_SEARCH)
def run_search(search_id: int) -> None:
    """Start or resume a search from what the database holds."""
    db = _db()
    try:
        dispatch(runner.start_search(db, search_id), search_id)
    except Exception as exc:
        log(logger, "search could not start", logging.ERROR, search=search_id, error=str(exc))
        runner.fail_search(db, search_id, f"could not start: {exc}")


@app.task(name=EVALUATE)
def evaluate_candidate(candidate_id: int) -> None:
    # TensorFlow's import (seconds, once per process) happens before the claim, so it is not
    # charged to the first candidate's lease and duration. A broken install still fails
    # inside the claim (in _train), where the failure is recorded and retries are capped.
    with contextlib.suppress(ImportError):
        from worker import evaluator  # noqa: F401

    db = _db()
    taken, nxt = runner.claim(db, candidate_id)
    if taken is None:
        dispatch(nxt, _search_of(db, candidate_id))
        return
    try:
        nxt = _train(db, taken)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        log(
            logger,
            "training error",
            logging.WARNING,
            search=taken.search_id,
            candidate=candidate_id,
            error=reason,
            trace=traceback.format_exc(limit=3),
        )
        nxt = runner.fail(db, taken, reason)
    dispatch(nxt, taken.search_id)


def _search_of(db: Database, candidate_id: int) -> int | None:
    from backend.db.models import Candidate

    with db.read() as session:
        return session.scalar(select(Candidate.search_id).where(Candidate.id == candidate_id))


def _train(db: Database, taken: runner.Claim) -> runner.Next:
    from backend.search.cost import cost
    from worker import evaluator, faults
    from worker.datasets import get_splits
    from worker.heartbeat import Heartbeat

    faults.check(taken.generation, taken.index)

    info = dataset_info(db, taken.dataset)
    if info is None:
        raise LookupError(f"dataset {taken.dataset!r} is not available")
    data = get_splits(taken.dataset)
    log(
        logger,
        "candidate training",
        search=taken.search_id,
        candidate=taken.candidate_id,
        attempt=taken.attempt,
        epochs=taken.epochs,
    )
    # evaluator_s: the training work alone (build + fit + evaluate + save), without the time
    # spent in our hooks (per-epoch database writes, stop polls): bench/scaling.py reads it to
    # tell training from orchestration.
    hooks_s = 0.0

    def timed(fn: Callable[..., _T]) -> Callable[..., _T]:
        def call(*args: Any) -> _T:
            nonlocal hooks_s
            t0 = time.perf_counter()
            try:
                return fn(*args)
            finally:
                hooks_s += time.perf_counter() - t0

        return call

    started = time.perf_counter()
    resume = _resume_model(db, taken)
    with Heartbeat(lambda: runner.heartbeat(db, taken), get_settings().heartbeat_s) as beat:
        result = evaluator.train_candidate(
            taken.genome,
            data,
            info.num_classes,
            epochs=taken.epochs,
            batch_size=taken.batch_size,
            seed=taken.seed,
            on_epoch=timed(lambda epoch, point: runner.record_epoch(db, taken, epoch, point)),
            should_stop=timed(lambda: not beat.alive or runner.search_stopped(db, taken.search_id)),
            hopeless=timed(
                lambda epoch, point: runner.hopeless(db, taken, epoch, point, info.num_classes)
            ),
            rung=None
            if taken.rung_steps is None
            else evaluator.Rung(
                taken.rung_steps,
                timed(
                    lambda steps, point: runner.hopeless_at_rung(
                        db, taken, steps, point, info.num_classes
                    )
                ),
            ),
            mixed_precision=taken.mixed_precision,
            jit_compile=taken.jit_compile,
            resume=resume,
            initial_epoch=taken.resume.epochs if resume is not None and taken.resume else 0,
        )
    _, flops = cost(taken.genome, info.input_shape, info.num_classes)
    params = int(result.model.count_params())
    rel = f"artifacts/search_{taken.search_id}/candidate_{taken.candidate_id}.keras"
    model_path = None
    if not result.stopped:
        evaluator.save_keras(result.model, get_settings().data_dir / rel)
        model_path = rel
    metrics: dict[str, Any] = dict(result.metrics)
    metrics["evaluator_s"] = round(time.perf_counter() - started - hooks_s, 4)
    # Where it trained (the worker's name is the candidate's `worker`): the device, and the
    # accelerator options that were on.
    metrics["device"] = evaluator.device_description()
    if taken.mixed_precision:
        metrics["mixed_precision"] = True
    if taken.jit_compile:
        # Whether XLA actually ran: deterministic workers keep it off (see compile_model).
        metrics["jit_compile"] = bool(result.model.jit_compile)
    return runner.complete(db, taken, metrics, params, flops, model_path, result.stopped)


def _resume_model(db: Database, taken: runner.Claim) -> Any:
    """The model a confirmation trains on from (``worker.resume``), its source's curve copied
    to it; None (train from scratch) when there is none, or the saved file is gone or no
    longer the one recorded (its sha256): nothing unverified is loaded."""
    from backend.services.artifacts import sha256_of
    from worker import evaluator

    point = taken.resume
    if point is None:
        return None
    path = get_settings().data_dir / point.path
    if not path.is_file() or sha256_of(path) != point.sha256:
        log(
            logger,
            "confirmation from scratch: saved model missing or changed",
            logging.WARNING,
            search=taken.search_id,
            candidate=taken.candidate_id,
            source=point.source_id,
        )
        return None
    model = evaluator.load_for_resume(path)
    if not runner.resume_confirmation(db, taken):
        return None
    log(
        logger,
        "confirmation resumes its source",
        search=taken.search_id,
        candidate=taken.candidate_id,
        source=point.source_id,
        from_epoch=point.epochs,
        epochs=taken.epochs,
    )
    return model


@app.task(name=FINALIZE)
def finalize_search(search_id: int) -> None:
    """Retrain the best genome on train+validation and score it once on the test split;
    then export it in every format with its model card, and finish the search."""
    from worker import evaluator, export
    from worker.datasets import checksum, get_splits
    from worker.heartbeat import Heartbeat

    db = _db()
    job = final_phase.begin_final(db, search_id)
    if job is None:
        return
    try:
        info = dataset_info(db, job.dataset)
        if info is None:
            raise LookupError(f"dataset {job.dataset!r} is not available")
        log(
            logger,
            "final training",
            search=search_id,
            candidate=job.best_candidate_id,
            epochs=job.epochs,
        )
        splits = get_splits(job.dataset)
        rel = f"artifacts/search_{search_id}/best.keras"
        data_dir = get_settings().data_dir
        beat_s = get_settings().heartbeat_s
        # One lease renewal through training, saving and exporting: none of them may outlast it.
        with Heartbeat(lambda: final_phase.heartbeat(db, job), beat_s) as beat:
            result = evaluator.final_train(
                job.genome,
                splits,
                info.num_classes,
                epochs=job.epochs,
                batch_size=job.batch_size,
                seed=job.seed,
                on_epoch=lambda epoch, point: final_phase.record_epoch(db, job, epoch, point),
                should_stop=lambda: not beat.alive,
            )
            # Still the holder? Training also stops when an epoch finds the lease lost; a worker
            # that lost it must not overwrite the files of the one that took it over.
            holding = beat.alive and final_phase.heartbeat(db, job)
            if holding:
                evaluator.save_keras(result.model, data_dir / rel)
                # SavedModel, TFLite and the model card land beside best.keras; finish's
                # store_artifact registers them with it, so a succeeded search has all of them.
                export.export_best(
                    db,
                    search_id,
                    job.best_candidate_id,
                    info,
                    checksum(job.dataset),
                    result.model,
                    result.metrics,
                    splits,
                    rel,
                    data_dir,
                )
        if not (holding and beat.alive):
            log(logger, "final training stopped", search=search_id)
            if final_phase.release(db, job):
                send_finalize(search_id)
            return
        final_phase.finish(db, job, result.metrics, result.history, rel)
    except Exception as exc:
        log(logger, "final training failed", logging.ERROR, search=search_id, error=str(exc))
        final_phase.fail(db, job, f"final training failed: {exc}")


def resume_unfinished() -> None:
    """At worker start: resume every unfinished search, then keep reconciling."""
    from worker.reconciler import start_thread

    db = _db()
    with db.read() as session:
        ids = list(
            session.scalars(
                select(Search.id).where(Search.status.in_([sstate.QUEUED, sstate.RUNNING]))
            )
        )
    for search_id in ids:
        send_start(search_id)
    if ids:
        log(logger, "resumed unfinished searches", searches=ids, pid=os.getpid())
    start_thread(db)
