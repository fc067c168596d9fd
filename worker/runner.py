"""Drive a search: ask the engine, evaluate candidates, persist results, close generations.

Every step reads what it needs from the database and writes its outcome in one transaction,
so any worker can pick up any step and a redelivered task resumes instead of starting over.
Tasks (worker.tasks) stay thin and only call these functions.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from backend.core.config import Settings, get_settings
from backend.core.logging import log
from backend.datasets.info import DatasetInfo
from backend.datasets.registry import dataset_info
from backend.db.base import utcnow
from backend.db.models import Artifact, Candidate, EpochMetric, Search, Worker
from backend.db.models import candidate as cstate
from backend.db.models import search as sstate
from backend.db.models.artifact import BEST_MODEL, CANDIDATE_MODEL
from backend.db.session import Database
from backend.search.confirm import (
    CONFIRM_ORIGIN,
    Scored,
    Timing,
    budgeted_reserve,
    confirmation_affordable,
    confirmed_fitness,
    confirmed_winner,
    next_work_seconds,
    pick_for_confirmation,
    reserve_seconds,
    seconds_per_epoch,
    skip_note,
    training_epochs,
)
from backend.search.cost import cost
from backend.search.early_stop import (
    EarlyStopRule,
    chance_floor,
    chance_for,
    is_hopeless,
    stop_threshold,
)
from backend.search.engine import BASELINE_ORIGIN, Engine, EngineConfig, Proposal, Result
from backend.search.genome import genome_hash
from backend.search.space import SearchSpace
from backend.services import events as ev
from backend.services.artifacts import sha256_of
from backend.services.candidates import stats_for
from backend.services.workers import alive_after
from worker.resume import ResumePoint, carry_curve, resume_point

logger = logging.getLogger("nasboard.runner")


def _settings() -> Settings:
    return get_settings()


@dataclass
class Next:
    """What the caller must enqueue after a step committed."""

    evaluate: list[int] = field(default_factory=list)
    finalize: bool = False


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def lock_search(session: Session, search_id: int) -> Search | None:
    """Row lock on PostgreSQL; SQLite writers already hold the database lock (BEGIN IMMEDIATE)."""
    return session.scalar(select(Search).where(Search.id == search_id).with_for_update())


def engine_config(search: Search, info: DatasetInfo) -> EngineConfig:
    cfg = search.config
    return EngineConfig(
        strategy=cfg["strategy"],
        space=SearchSpace.model_validate(cfg["search_space"]),
        input_shape=tuple(info.input_shape),  # type: ignore[arg-type]
        num_classes=info.num_classes,
        population_size=cfg["population_size"],
        generations=cfg["generations"],
        seed=cfg["seed"],
        crossover_prob=cfg["crossover_prob"],
        mutation_rate=cfg["mutation_rate"],
        tournament_size=cfg["tournament_size"],
        elitism=cfg["elitism"],
        objective=cfg["objective"],
        include_baseline=cfg["include_baseline"],
        warm_start=cfg.get("warm_start", False),  # searches stored before it existed: off
    )


def _info(db: Database, search: Search) -> DatasetInfo:
    info = dataset_info(db, search.dataset)
    if info is None:
        raise LookupError(f"dataset {search.dataset!r} is not available")
    return info


def _insert_proposals(
    session: Session, search: Search, proposals: list[Proposal]
) -> list[Candidate]:
    """Store a generation's proposals; parents map from (generation, index) to candidate ids."""
    wanted = {p for prop in proposals for p in prop.parents}
    ids: dict[tuple[int, int], int] = {}
    if wanted:
        rows = session.execute(
            select(Candidate.generation, Candidate.index, Candidate.id).where(
                Candidate.search_id == search.id
            )
        )
        ids = {(g, i): cid for g, i, cid in rows if (g, i) in wanted}
    created = []
    for prop in proposals:
        candidate = Candidate(
            search_id=search.id,
            generation=prop.generation,
            index=prop.index,
            status=cstate.PENDING,
            genome=prop.genome,
            genome_hash=genome_hash(prop.genome),
            origin=prop.origin,
            detail=prop.detail,
            parent_ids=[ids[p] for p in prop.parents if p in ids],
            metrics={},
        )
        session.add(candidate)
        created.append(candidate)
    session.flush()
    return created


def _dispatch_pending(session: Session, search: Search) -> list[int]:
    """The current generation's pending candidates, stamped as sent (the caller sends them
    after commit; should that fail, the reconciler sends them again later)."""
    stmt = select(Candidate).where(
        Candidate.search_id == search.id,
        Candidate.generation == search.generation,
        Candidate.status == cstate.PENDING,
    )
    now = utcnow()
    pending = list(session.scalars(stmt.order_by(Candidate.index)))
    for candidate in pending:
        candidate.enqueued_at = now
    return [c.id for c in pending]


def start_search(db: Database, search_id: int) -> Next:
    """Start a queued search or resume a running one from what is stored."""
    nxt = _start(db, search_id)
    if not nxt.evaluate and not nxt.finalize:
        # A worker may have died between storing a result and closing its generation.
        return advance(db, search_id)
    return nxt


def _start(db: Database, search_id: int) -> Next:
    with db.write() as session:
        search = lock_search(session, search_id)
        if search is None or search.status in sstate.TERMINAL or search.status == sstate.PAUSED:
            return Next()
        search.enqueued_at = utcnow()
        if search.status == sstate.QUEUED:
            search.status = sstate.RUNNING
            search.phase = sstate.PHASE_SEARCH
            search.started_at = utcnow()
            ev.add_event(session, search.id, ev.SEARCH_STATUS, status=sstate.RUNNING)
            log(logger, "search started", search=search.id, strategy=search.strategy)
        if search.phase == sstate.PHASE_FINAL:
            # A worker holding the final's lease is training it: another delivery would only
            # find it taken (worker.final_phase).
            return Next(finalize=not search.final_lease_held(utcnow()))
        if search.engine_state is None:
            engine = Engine(engine_config(search, _info(db, search)))
            proposals = engine.ask()
            _insert_proposals(session, search, proposals)
            search.engine_state = engine.state_dict()
            search.generation = proposals[0].generation if proposals else 0
            search.candidates_total = engine.expected_total()
        return Next(evaluate=_dispatch_pending(session, search))


@dataclass
class Claim:
    candidate_id: int
    search_id: int
    token: str
    attempt: int
    generation: int
    index: int
    genome: dict[str, Any]
    seed: int
    dataset: str
    epochs: int
    batch_size: int
    # Per-search accelerator options (SearchCreate); absent from older searches' configs.
    mixed_precision: bool = False
    jit_compile: bool = False
    # The search's median-stopping rule, for the candidates it applies to (None: never stop).
    early_stop: EarlyStopRule | None = None
    # Steps into the first epoch at which the rule judges it once more (None: no rung).
    rung_steps: int | None = None
    # A confirmation's source model to train on from (worker.resume); None: from scratch.
    resume: ResumePoint | None = None
    # Why the early stop stopped it, once it did (``_judged_hopeless``): merged into its
    # metrics by ``complete``, so the page can say what it was held against.
    stop_reason: dict[str, Any] = field(default_factory=dict)


def _over_budget(search: Search, reserve_s: float = 0.0) -> bool:
    """Past the time budget, less ``reserve_s`` held back for confirmation."""
    left = _budget_left_s(search)
    return left is not None and left <= reserve_s


def _budget_left_s(search: Search) -> float | None:
    """Seconds of the time budget still to spend; None without a budget (or not started)."""
    budget = search.config.get("time_budget_s")
    if not budget or search.started_at is None:
        return None
    return float(budget) - (utcnow() - search.started_at).total_seconds()


def claim(db: Database, candidate_id: int) -> tuple[Claim | None, Next]:
    """Take a lease on a candidate, or settle it without training (done, reused, given up)."""
    taken, settled_search = _claim(db, candidate_id)
    if settled_search is not None:
        return None, advance(db, settled_search)
    return taken, Next()


def _claim(db: Database, candidate_id: int) -> tuple[Claim | None, int | None]:
    with db.write() as session:
        # SKIP LOCKED: a row another worker is claiming right now is its business, not ours.
        candidate = session.scalar(
            select(Candidate).where(Candidate.id == candidate_id).with_for_update(skip_locked=True)
        )
        if candidate is None:
            return None, None
        search = session.get(Search, candidate.search_id)
        assert search is not None
        now = utcnow()
        if candidate.status in cstate.DONE:
            return None, candidate.search_id
        if (
            candidate.status == cstate.RUNNING
            and candidate.lease_expires_at is not None
            and candidate.lease_expires_at > now
        ):
            return None, None  # a duplicate delivery while another worker holds the lease
        if search.status == sstate.PAUSED:
            return None, None  # stays pending; resume sends it again
        # Confirmations were budgeted for (a reserve held back from the search phase).
        confirming = candidate.origin == CONFIRM_ORIGIN
        if search.status != sstate.RUNNING or (_over_budget(search) and not confirming):
            reason = "search over its time budget" if search.status == sstate.RUNNING else None
            _settle(session, candidate, cstate.CANCELLED, error=reason or f"search {search.status}")
            return None, search.id
        # A confirmation re-trains a known genome on purpose (longer): never a reuse.
        twin = (
            None
            if confirming
            else session.scalar(
                select(Candidate).where(
                    Candidate.search_id == candidate.search_id,
                    Candidate.genome_hash == candidate.genome_hash,
                    Candidate.status == cstate.COMPLETED,
                    Candidate.origin != CONFIRM_ORIGIN,
                    Candidate.id != candidate.id,
                )
            )
        )
        if twin is not None:
            candidate.val_accuracy = twin.val_accuracy
            candidate.metrics = dict(twin.metrics)
            candidate.params, candidate.flops = twin.params, twin.flops
            candidate.reused_from_id = twin.id
            _settle(session, candidate, cstate.REUSED)
            return None, search.id
        late = None if confirming else _would_overrun(db, session, search, candidate)
        if late is not None:
            _settle(session, candidate, cstate.CANCELLED, error=late)
            log(logger, "candidate not started", search=search.id, candidate=candidate.id, why=late)
            return None, search.id
        if candidate.attempts >= _settings().max_attempts:
            error = f"gave up after {candidate.attempts} attempts: {candidate.error or 'unknown'}"
            _settle(session, candidate, cstate.FAILED, error=error)
            return None, search.id
        candidate.attempts += 1
        candidate.status = cstate.RUNNING
        candidate.lease_token = uuid.uuid4().hex
        candidate.lease_expires_at = now + timedelta(seconds=_settings().lease_s)
        candidate.heartbeat_at = now
        candidate.started_at = now
        candidate.worker = worker_name()
        _worker_took(session, candidate.id, now)
        # A retry starts its learning curve afresh (its rung's score too: see _record_rung).
        session.execute(delete(EpochMetric).where(EpochMetric.candidate_id == candidate.id))
        if candidate.metrics and set(candidate.metrics) & set(_RUNG_KEYS):
            candidate.metrics = {k: v for k, v in candidate.metrics.items() if k not in _RUNG_KEYS}
        ev.add_event(
            session,
            search.id,
            ev.CANDIDATE_STARTED,
            candidate_id=candidate.id,
            generation=candidate.generation,
            index=candidate.index,
            origin=candidate.origin,
            attempt=candidate.attempts,
        )
        cfg = search.config
        return (
            Claim(
                candidate_id=candidate.id,
                search_id=search.id,
                token=candidate.lease_token,
                attempt=candidate.attempts,
                generation=candidate.generation,
                index=candidate.index,
                genome=candidate.genome,
                seed=int(cfg["seed"]) * 100_003 + candidate.generation * 1009 + candidate.index,
                dataset=search.dataset,
                epochs=_epochs(cfg, confirming),
                batch_size=int(cfg["batch_size"]),
                mixed_precision=bool(cfg.get("mixed_precision", False)),
                jit_compile=bool(cfg.get("jit_compile", False)),
                early_stop=_early_stop_rule(cfg, candidate),
                rung_steps=_rung_steps(cfg, candidate),
                resume=resume_point(session, candidate, _epochs(cfg, True)) if confirming else None,
            ),
            None,
        )


#: Candidates a prediction of seconds is fitted on (``_predicted_s``).
PREDICT_FROM = 200


def _would_overrun(
    db: Database, session: Session, search: Search, candidate: Candidate
) -> str | None:
    """Why this candidate is not started, where the time budget's rest is shorter than its
    training is predicted to take (``next_work_seconds``: from its FLOPs and what the search's
    candidates measured); None where it fits, or nothing says otherwise. Why: one started
    anyway is stopped at the budget's end and its training is lost; on a 2-core VM where a
    candidate takes ~100 s that was 2 of a search's 10 and 16% of its workers' time (bench run
    am, 2026-12-01), and the search ended no sooner for it."""
    left = _budget_left_s(search)
    if left is None:
        return None
    info = _info(db, search)
    shape = tuple(info.input_shape)
    need = _predicted_s(session, search, [candidate.genome], shape, info.num_classes)[0]
    if need <= left:
        return None
    return f"not started: ~{need:.0f} s predicted, {max(0.0, left):.0f} s of the time budget left"


def _nothing_fits(session: Session, search: Search, engine: Engine) -> bool:
    """Whether no candidate of the next generation is predicted to end within the time
    budget's rest: it would only be queued and not started (``_would_overrun``)."""
    left = _budget_left_s(search)
    if left is None:
        return False
    shape, classes = engine.config.input_shape, engine.config.num_classes
    genomes = [p.genome for p in engine.ask()]
    return min(_predicted_s(session, search, genomes, shape, classes), default=0.0) > left


def _predicted_s(
    session: Session,
    search: Search,
    genomes: list[dict[str, Any]],
    shape: tuple[int, ...],
    classes: int,
) -> list[float]:
    """Each candidate's predicted seconds from its FLOPs (``next_work_seconds``; 0 while
    nothing was measured), fitted on the latest ``PREDICT_FROM`` measured: every claim asks,
    and the recent ones say how fast the workers are now."""
    scored = _scored(session, search, confirmations=False, recent=PREDICT_FROM)
    epochs = _epochs(search.config, False)
    return [next_work_seconds([cost(g, shape, classes)[1]], scored, epochs) for g in genomes]


def _epochs(cfg: dict[str, Any], confirming: bool) -> int:
    if confirming:
        return int(cfg.get("confirm_epochs") or cfg["final_epochs"])
    return int(cfg["epochs_per_candidate"])


def _confirm_training_epochs(cfg: dict[str, Any]) -> int:
    """Epochs a confirmation trains: it resumes the source's saved model (``worker.resume``)."""
    return training_epochs(_epochs(cfg, True), _epochs(cfg, False))


def resume_confirmation(db: Database, claim_: Claim) -> bool:
    """Before a confirmation trains on from its source's model: give it the source's first
    epochs as its own (``worker.resume.carry_curve``), and to the live stream as epoch events
    like those it trains. False when the lease is lost."""
    if claim_.resume is None:
        return False
    with db.write() as session:
        candidate = session.get(Candidate, claim_.candidate_id)
        if candidate is None or candidate.lease_token != claim_.token:
            return False
        for epoch, point in carry_curve(session, candidate.id, claim_.resume):
            _epoch_event(session, candidate, claim_, epoch, point)
        return True


def _worker_took(session: Session, candidate_id: int, now: datetime) -> None:
    """This process's registry row (``worker.registry``) names the candidate it now trains;
    in the claim's transaction. No row (not registered): nothing to update."""
    session.execute(
        update(Worker)
        .where(Worker.name == worker_name())
        .values(current_candidate_id=candidate_id, heartbeat_at=now)
    )


def _worker_released(session: Session, *, done: bool, busy_s: float) -> None:
    """The candidate this process trained left its hands (a result, a failure): count it
    when its result was accepted, and add the training time, in that same transaction."""
    values: dict[str, Any] = {"current_candidate_id": None, "heartbeat_at": utcnow()}
    if done:
        values["candidates_done"] = Worker.candidates_done + 1
    if busy_s > 0:
        values["busy_s"] = Worker.busy_s + busy_s
    session.execute(update(Worker).where(Worker.name == worker_name()).values(**values))


def _settle(session: Session, candidate: Candidate, status: str, error: str | None = None) -> None:
    """Close a candidate (any terminal status) and report it, in the caller's transaction."""
    candidate.status = status
    candidate.error = error
    candidate.finished_at = utcnow()
    candidate.lease_token = None
    candidate.lease_expires_at = None
    if candidate.started_at is not None and status in (cstate.COMPLETED, cstate.FAILED):
        candidate.duration_s = (candidate.finished_at - candidate.started_at).total_seconds()
    early_stopped_at = (candidate.metrics or {}).get("early_stopped_at")
    stopped_at_rung = (candidate.metrics or {}).get("stopped_at_rung")
    ev.add_event(
        session,
        candidate.search_id,
        ev.CANDIDATE_FINISHED,
        candidate_id=candidate.id,
        generation=candidate.generation,
        index=candidate.index,
        status=status,
        val_accuracy=candidate.val_accuracy,
        val_loss=(candidate.metrics or {}).get("val_loss"),
        params=candidate.params,
        flops=candidate.flops,
        origin=candidate.origin,
        error=error,
        early_stopped_at=early_stopped_at,
        stopped_at_rung=stopped_at_rung,
    )
    log(
        logger,
        "candidate finished",
        search=candidate.search_id,
        candidate=candidate.id,
        generation=candidate.generation,
        index=candidate.index,
        status=status,
        val_accuracy=candidate.val_accuracy,
        error=error,
        early_stopped_at=early_stopped_at,
        stopped_at_rung=stopped_at_rung,
    )


def _renew_lease(candidate: Candidate) -> None:
    now = utcnow()
    candidate.heartbeat_at = now
    candidate.lease_expires_at = now + timedelta(seconds=_settings().lease_s)


def record_epoch(db: Database, claim_: Claim, epoch: int, point: dict[str, float]) -> bool:
    """Store one epoch and extend the lease; False when training should stop (lease lost or
    search no longer running)."""
    with db.write() as session:
        candidate = session.get(Candidate, claim_.candidate_id)
        search = session.get(Search, claim_.search_id)
        if candidate is None or search is None or candidate.lease_token != claim_.token:
            return False
        _renew_lease(candidate)
        session.add(EpochMetric(candidate_id=candidate.id, epoch=epoch, **point))
        _epoch_event(session, candidate, claim_, epoch, point)
        over = _over_budget(search) and candidate.origin != CONFIRM_ORIGIN
        return search.status in sstate.ACTIVE and not over


def _epoch_event(
    session: Session, candidate: Candidate, claim_: Claim, epoch: int, point: dict[str, float]
) -> None:
    """One point of a candidate's learning curve on the live stream (trained or carried)."""
    ev.add_event(
        session,
        claim_.search_id,
        ev.EPOCH,
        candidate_id=candidate.id,
        generation=candidate.generation,
        index=candidate.index,
        epoch=epoch,
        epochs=claim_.epochs,
        **point,
    )


def _early_stop_rule(cfg: dict[str, Any], candidate: Candidate) -> EarlyStopRule | None:
    """The rule, unless the search has it off or this is the reference CNN or a confirmation
    (those are trained in full on purpose)."""
    if not cfg.get("early_stop") or candidate.origin in (CONFIRM_ORIGIN, BASELINE_ORIGIN):
        return None
    return EarlyStopRule(
        quantile=float(cfg.get("early_stop_quantile", 0.5)),
        min_peers=int(cfg.get("early_stop_min_peers", 5)),
    )


def _rung_steps(cfg: dict[str, Any], candidate: Candidate) -> int | None:
    """The search's rung inside the first epoch, where its rule applies to this candidate."""
    steps = cfg.get("early_stop_rung_steps")
    if steps is None or _early_stop_rule(cfg, candidate) is None:
        return None
    return int(steps)


#: Whose scores are peers: candidates training now or done training. Why not the done ones
#: only (Optuna's and Vizier's median rules): a score at an epoch or a rung is final once
#: recorded, and with N workers the N - 1 others in flight were left out, so the first
#: min_peers + N candidates could not be judged at all (ASHA judges a rung against every trial
#: that reached it, Li et al. 2020). Not a reuse (its twin's score again), not a failure, not a
#: confirmation (trained in full on purpose).
_PEER_STATUSES = (cstate.RUNNING, cstate.COMPLETED)

#: The metrics a candidate's rung writes as soon as it is scored there (``hopeless_at_rung``).
_RUNG_KEYS = ("rung_steps", "rung_val_accuracy")


def _peer_of(claim_: Claim) -> Any:
    """The filter for ``claim_``'s peers: the search's other candidates in ``_PEER_STATUSES``."""
    return (
        (Candidate.search_id == claim_.search_id)
        & Candidate.status.in_(_PEER_STATUSES)
        & (Candidate.origin != CONFIRM_ORIGIN)
        & (Candidate.id != claim_.candidate_id)
    )


def hopeless(
    db: Database, claim_: Claim, epoch: int, point: dict[str, float], num_classes: int
) -> bool:
    """Whether the candidate should stop after ``epoch``: no better than guessing among
    ``num_classes``, or below the median-stopping rule's threshold over the search's other
    candidates that reached this epoch, done or still training (``_PEER_STATUSES``)."""
    if claim_.early_stop is None or epoch >= claim_.epochs:
        return False
    with db.read() as session:
        peers = session.scalars(
            select(EpochMetric.val_accuracy)
            .join(Candidate, Candidate.id == EpochMetric.candidate_id)
            .where(
                _peer_of(claim_),
                EpochMetric.epoch == epoch,
                EpochMetric.val_accuracy.is_not(None),
            )
        ).all()
    values = [float(p) for p in peers if p is not None]  # the query excludes NULLs already
    return _judged_hopeless(claim_, point, values, num_classes, epoch=epoch)


def hopeless_at_rung(
    db: Database, claim_: Claim, steps: int, point: dict[str, float], num_classes: int
) -> bool:
    """Whether the candidate should stop at its rung, ``steps`` into its first epoch (the
    search's ``rung_steps`` rounded up to the worker's steps per call): the same rule as
    ``hopeless``, over the search's other candidates scored at the same rung, done or still
    training. Its own score there is recorded at once (``metrics["rung_val_accuracy"]``), a
    peer for the rungs that come after it while it trains on."""
    if claim_.early_stop is None or claim_.rung_steps is None:
        return False
    with db.write() as session:
        rows = session.scalars(select(Candidate.metrics).where(_peer_of(claim_))).all()
        values = [
            float(m["rung_val_accuracy"])
            for m in rows
            if m
            and m.get("rung_steps") == float(claim_.rung_steps)
            and m.get("rung_val_accuracy") is not None
        ]
        _record_rung(session, claim_, point)
    return _judged_hopeless(claim_, point, values, num_classes, rung_steps=steps)


def _record_rung(session: Session, claim_: Claim, point: dict[str, float]) -> None:
    """The candidate's score at its rung, in its metrics while it trains (the evaluator's
    final metrics carry the same keys); only under a live lease."""
    candidate = session.get(Candidate, claim_.candidate_id)
    value = point.get("val_accuracy")
    if candidate is None or candidate.lease_token != claim_.token or value is None:
        return
    assert claim_.rung_steps is not None
    candidate.metrics = {
        **(candidate.metrics or {}),
        "rung_steps": float(claim_.rung_steps),
        "rung_val_accuracy": float(value),
    }


def _judged_hopeless(
    claim_: Claim,
    point: dict[str, float],
    peers: list[float],
    num_classes: int,
    *,
    epoch: int = 0,
    rung_steps: int | None = None,
) -> bool:
    """Apply the claim's rule (with the chance cut of ``num_classes``) after ``epoch`` (0: at
    the rung of ``rung_steps``, inside the first) and log a stop: which candidate, where, why."""
    assert claim_.early_stop is not None
    chance = chance_for(num_classes)
    rule = replace(claim_.early_stop, chance=chance)
    value = point.get("val_accuracy", math.nan)
    stop = is_hopeless(value, epoch, claim_.epochs, peers, rule)
    if stop:
        why = {
            "early_stop_reason": "peers" if value > chance_floor(chance) else "chance",
            "early_stop_threshold": stop_threshold(peers, rule),
            "early_stop_peers": len(peers),
        }
        claim_.stop_reason.update(why)
        log(
            logger,
            "candidate stopped early: hopeless",
            search=claim_.search_id,
            candidate=claim_.candidate_id,
            epoch=epoch,
            rung_steps=rung_steps,
            val_accuracy=value,
            reason=why["early_stop_reason"],
            threshold=why["early_stop_threshold"],
            peers=len(peers),
        )
    return stop


def heartbeat(db: Database, claim_: Claim) -> bool:
    """Renew the lease while training; False once it was lost or the search stopped."""
    with db.write() as session:
        candidate = session.get(Candidate, claim_.candidate_id)
        if candidate is None or candidate.lease_token != claim_.token:
            return False
        _renew_lease(candidate)
        status = session.scalar(select(Search.status).where(Search.id == claim_.search_id))
    return status in sstate.ACTIVE


def search_stopped(db: Database, search_id: int) -> bool:
    with db.read() as session:
        status = session.scalar(select(Search.status).where(Search.id == search_id))
    return status not in sstate.ACTIVE


def complete(
    db: Database,
    claim_: Claim,
    metrics: dict[str, Any],
    params: int,
    flops: int,
    model_path: str | None,
    stopped: bool,
) -> Next:
    """Accept a result only with a live lease: candidate, metrics, artifact and event at once
    (and this worker's totals: a completed candidate counted, its evaluator time added)."""
    with db.write() as session:
        candidate = session.scalar(
            select(Candidate).where(Candidate.id == claim_.candidate_id).with_for_update()
        )
        accepted = candidate is not None and candidate.lease_token == claim_.token
        busy_s = float(metrics.get("evaluator_s") or 0.0)
        _worker_released(session, done=accepted and not stopped, busy_s=busy_s)
        if candidate is None or not accepted:
            log(
                logger,
                "result discarded: lease lost",
                search=claim_.search_id,
                candidate=claim_.candidate_id,
            )
            return Next()
        candidate.metrics = {**metrics, **claim_.stop_reason}
        candidate.val_accuracy = metrics.get("val_accuracy")
        candidate.params, candidate.flops = params, flops
        if stopped:
            _settle(session, candidate, cstate.CANCELLED, error="stopped: search no longer running")
        else:
            _settle(session, candidate, cstate.COMPLETED)
            if candidate.origin != CONFIRM_ORIGIN:  # confirmations are ranked among themselves
                _update_best(session, claim_.search_id, candidate)
            if model_path is not None:
                store_artifact(
                    session, db, claim_.search_id, candidate.id, CANDIDATE_MODEL, model_path
                )
    return advance(db, claim_.search_id)


def _update_best(session: Session, search_id: int, candidate: Candidate) -> None:
    """Keep the search's best-so-far current as results arrive, not only per generation."""
    search = session.get(Search, search_id)
    if search is None or candidate.val_accuracy is None:
        return
    if search.best_val_accuracy is None or candidate.val_accuracy > search.best_val_accuracy:
        search.best_candidate_id = candidate.id
        search.best_val_accuracy = candidate.val_accuracy


def fail(db: Database, claim_: Claim, error: str) -> Next:
    """Record a failed attempt; retry below the cap (the cap lives here, not in the broker)."""
    with db.write() as session:
        candidate = session.scalar(
            select(Candidate).where(Candidate.id == claim_.candidate_id).with_for_update()
        )
        _worker_released(session, done=False, busy_s=0.0)
        if candidate is None or candidate.lease_token != claim_.token:
            return Next()
        log(
            logger,
            "candidate attempt failed",
            logging.WARNING,
            search=claim_.search_id,
            candidate=candidate.id,
            attempt=candidate.attempts,
            error=error,
        )
        if candidate.attempts < _settings().max_attempts:
            candidate.status = cstate.PENDING
            candidate.error = error
            candidate.lease_token = None
            candidate.lease_expires_at = None
            return Next(evaluate=[candidate.id])
        _settle(
            session, candidate, cstate.FAILED, error=f"failed {candidate.attempts} times: {error}"
        )
    return advance(db, claim_.search_id)


def store_artifact(
    session: Session,
    db: Database,
    search_id: int,
    candidate_id: int | None,
    kind: str,
    rel_path: str,
    fmt: str | None = None,
) -> None:
    """Upsert the artifact row of ``rel_path`` (its format read from the suffix).

    For a best model's ``.keras``, the other formats and the model card the worker exported
    beside it (``worker.export``) are registered too, in the same transaction.
    """
    from backend.core.config import get_settings
    from backend.services.artifacts import BEST_EXTRAS, format_of, sibling

    fmt = fmt or format_of(rel_path)
    data_dir = get_settings().data_dir
    path = data_dir / rel_path
    existing = session.scalar(
        select(Artifact).where(
            Artifact.search_id == search_id,
            Artifact.candidate_id == candidate_id
            if candidate_id is not None
            else Artifact.candidate_id.is_(None),
            Artifact.kind == kind,
            Artifact.format == fmt,
        )
    )
    artifact = existing or Artifact(
        search_id=search_id, candidate_id=candidate_id, kind=kind, format=fmt
    )
    artifact.path = rel_path
    artifact.sha256 = sha256_of(path)
    artifact.size = path.stat().st_size
    session.add(artifact)
    if kind == BEST_MODEL and fmt == "keras":
        for extra in BEST_EXTRAS:
            extra_rel = sibling(rel_path, extra)
            if (data_dir / extra_rel).is_file():
                store_artifact(session, db, search_id, None, kind, extra_rel, extra)


def _best(session: Session, search_id: int) -> Candidate | None:
    stmt = (
        select(Candidate)
        .where(
            Candidate.search_id == search_id,
            Candidate.status.in_(cstate.SCORED),
            Candidate.val_accuracy.is_not(None),
            Candidate.origin != CONFIRM_ORIGIN,
        )
        .order_by(Candidate.val_accuracy.desc(), Candidate.params.asc(), Candidate.id.asc())
        .limit(1)
    )
    return session.scalar(stmt)


def advance(db: Database, search_id: int) -> Next:
    """Close the current generation once all its candidates are done, then ask for the next."""
    with db.write() as session:
        search = lock_search(session, search_id)
        if search is None or search.status not in sstate.ACTIVE:
            return Next()
        if search.phase == sstate.PHASE_CONFIRM:
            return _close_confirmation(session, search)
        if search.phase != sstate.PHASE_SEARCH:
            return Next()
        gen = search.generation
        rows = list(
            session.scalars(
                select(Candidate)
                .where(Candidate.search_id == search_id, Candidate.generation == gen)
                .order_by(Candidate.index)
            )
        )
        if any(c.status not in cstate.DONE for c in rows):
            return Next()
        stats = stats_for(gen, [(c.status, c.val_accuracy, c.metrics or {}) for c in rows])
        ev.add_event(session, search_id, ev.GENERATION_FINISHED, **stats.model_dump())
        best = _best(session, search_id)
        if best is not None:
            search.best_candidate_id = best.id
            search.best_val_accuracy = best.val_accuracy
        engine = Engine(engine_config(search, _info(db, search)), search.engine_state)
        engine.tell(
            [
                Result(
                    generation=c.generation,
                    index=c.index,
                    fitness=c.val_accuracy if c.status in cstate.SCORED else None,
                    params=int(c.params or 0),
                    flops=int(c.flops or 0),
                )
                for c in rows
            ]
        )
        log(
            logger,
            "generation finished",
            search=search_id,
            generation=gen,
            best_val_accuracy=stats.best_val_accuracy,
            completed=stats.completed,
            count=stats.count,
        )
        failed = sum(1 for c in rows if c.status == cstate.FAILED)
        if rows and failed / len(rows) > _settings().max_failed_fraction:
            finish_search(
                session,
                search,
                sstate.FAILED,
                f"{failed} of {len(rows)} candidates failed in generation {gen}",
            )
            return Next()
        target = search.config.get("target_accuracy")
        reason = None
        if engine.finished:
            reason = "generations done"
        elif target is not None and best is not None and (best.val_accuracy or 0) >= target:
            reason = f"target accuracy {target} reached"
        elif _over_budget(search, _confirm_reserve(session, search, engine)) or _nothing_fits(
            session, search, engine
        ):
            reason = "time budget spent"
        if reason is not None:
            search.engine_state = engine.state_dict()
            return _enter_confirm(session, search, reason) or _enter_final(session, search, reason)
        proposals = engine.ask()
        _insert_proposals(session, search, proposals)
        search.engine_state = engine.state_dict()
        search.generation = proposals[0].generation if proposals else gen + 1
        if search.status == sstate.PAUSED:
            return Next()
        return Next(evaluate=_dispatch_pending(session, search))


def _scored(
    session: Session, search: Search, *, confirmations: bool, recent: int | None = None
) -> list[Scored[int]]:
    """The search's scored candidates (or its confirmations) for ``backend.search.confirm``;
    ``recent``: only the latest so many."""
    origin = Candidate.origin == CONFIRM_ORIGIN
    query = (
        select(Candidate)
        .where(
            Candidate.search_id == search.id,
            Candidate.status.in_(cstate.SCORED),
            Candidate.val_accuracy.is_not(None),
            origin if confirmations else ~origin,
        )
        .order_by(Candidate.id.desc())
        .limit(recent)
    )
    cands = sorted(session.scalars(query), key=lambda c: c.id)
    per_epoch = seconds_per_epoch([_timing(c.metrics or {}) for c in cands])
    return [
        Scored(c.id, c.genome_hash, c.val_accuracy, int(c.params or 0), s, c.flops)
        for c, s in zip(cands, per_epoch, strict=True)
    ]


def _paired(session: Session, confirmed: list[Scored[int]], epochs: int) -> list[Scored[int]]:
    """Confirmations scored for re-ranking (``confirmed_fitness``): one as long as its source
    candidate by the mean of the two trainings, a longer one by its own score."""
    out = []
    for s in confirmed:
        row = session.get(Candidate, s.key)
        source = session.get(Candidate, row.parent_ids[0]) if row and row.parent_ids else None
        if source is None:
            out.append(s)
            continue
        reached = int((source.metrics or {}).get("epochs_trained") or 0)
        fitness = confirmed_fitness(s.fitness, epochs, source.val_accuracy, reached)
        out.append(replace(s, fitness=fitness))
    return out


def _timing(m: dict[str, Any]) -> Timing:
    """A candidate's measured times from its metrics (``worker.tasks``, ``worker.evaluator``)."""
    inside, total = m.get("in_epochs_s"), m.get("evaluator_s")
    return Timing(
        int(m.get("epochs_trained") or 0),
        None if inside is None else float(inside),
        float(total) if total else None,
    )


def _confirm_reserve(session: Session, search: Search, engine: Engine) -> float:
    """Seconds before the budget's end at which the search phase stops, so confirmation fits:
    confirming the current best few, plus the next generation, which would otherwise start just
    ahead of the reserve and eat into it. The next generation's time is predicted from its own
    proposals' FLOPs (``predict_seconds``; asking is idempotent) and, until enough candidates
    were measured for that, taken at the 90th percentile of what was measured per epoch."""
    cfg = search.config
    top = int(cfg.get("confirm_top") or 0)
    if top < 2 or not cfg.get("time_budget_s"):
        return 0.0
    scored = _scored(session, search, confirmations=False)
    parallel = _live_workers(session)
    reserve = budgeted_reserve(
        scored, top, _confirm_training_epochs(cfg), cfg["time_budget_s"], parallel
    )
    if not reserve:
        return 0.0
    shape, classes = engine.config.input_shape, engine.config.num_classes
    flops = [cost(p.genome, shape, classes)[1] for p in engine.ask()]
    population = int(cfg["population_size"])
    return reserve + next_work_seconds(
        flops, scored, _epochs(cfg, False), parallel, count=population
    )


def _live_workers(session: Session) -> int:
    """Workers alive by the registry's rule (``services.workers.alive_after``: the registry
    stamps them every reconcile interval): they train confirmations in parallel."""
    since = alive_after(_settings().reconcile_s, utcnow())
    count = session.scalar(
        select(func.count()).select_from(Worker).where(Worker.heartbeat_at >= since)
    )
    return max(1, int(count or 0))


def _enter_confirm(session: Session, search: Search, reason: str) -> Next | None:
    """Queue the best few genomes for longer training; None when confirmation is off. Where
    its epochs do not fit in the time budget's rest (``confirmation_affordable``: a reserve over
    ``MAX_CONFIRM_SHARE`` was never held back) it is skipped, and the search phase's best goes
    to final training, the reason saying so."""
    cfg = search.config
    top, epochs = int(cfg.get("confirm_top") or 0), _epochs(cfg, True)
    scored = _scored(session, search, confirmations=False)
    picks = pick_for_confirmation(scored, top)
    if not picks:
        return None
    parallel = _live_workers(session)
    budget, left = cfg.get("time_budget_s"), _budget_left_s(search)
    training = _confirm_training_epochs(cfg)
    if not confirmation_affordable(scored, top, training, budget, parallel, max(0.0, left or 0.0)):
        need = reserve_seconds(scored, top, training, parallel)
        log(
            logger,
            "confirmation skipped",
            search=search.id,
            reserve_s=round(need, 1),
            budget_s=budget,
            left_s=None if left is None else round(left, 1),
        )
        note = skip_note(need, budget, max(0.0, left or 0.0))
        return _enter_final(session, search, f"{reason}; {note}")
    gen = search.generation + 1
    for index, pick in enumerate(picks):
        source = session.get(Candidate, pick.key)
        assert source is not None
        session.add(
            Candidate(
                search_id=search.id,
                generation=gen,
                index=index,
                status=cstate.PENDING,
                genome=source.genome,
                genome_hash=source.genome_hash,
                origin=CONFIRM_ORIGIN,
                detail=f"#{source.id} trained on to {epochs} epochs",
                parent_ids=[source.id],
                metrics={},
            )
        )
    session.flush()
    search.generation = gen
    search.candidates_total = (search.candidates_total or 0) + len(picks)
    _enter_phase(
        session,
        search,
        sstate.PHASE_CONFIRM,
        reason,
        "search confirming its best candidates",
        confirming=[p.key for p in picks],
        epochs=epochs,
    )
    if search.status == sstate.PAUSED:
        return Next()
    return Next(evaluate=_dispatch_pending(session, search))


def _close_confirmation(session: Session, search: Search) -> Next:
    """Once every confirmation is done, the best confirmed genome goes to final training."""
    rows = list(
        session.scalars(
            select(Candidate).where(
                Candidate.search_id == search.id, Candidate.generation == search.generation
            )
        )
    )
    if any(c.status not in cstate.DONE for c in rows):
        return Next()
    epochs = _epochs(search.config, True)
    confirmed = _scored(session, search, confirmations=True)
    winner = confirmed_winner(_paired(session, confirmed, epochs))
    if winner is not None:
        row = session.get(Candidate, winner.key)
        search.best_candidate_id = winner.key
        search.best_val_accuracy = row.val_accuracy if row else winner.fitness
        reason = f"confirmed: #{winner.key} after {epochs} epochs"
        if row is not None and winner.fitness != row.val_accuracy:
            reason += f", mean of 2 trainings {winner.fitness:.4f}"
    else:  # every confirmation failed: the search phase's best stands
        best = _best(session, search.id)
        search.best_candidate_id = best.id if best else None
        search.best_val_accuracy = best.val_accuracy if best else None
        reason = "confirmation failed: the search phase's best"
    log(logger, "confirmation finished", search=search.id, best=search.best_candidate_id)
    return _enter_final(session, search, reason)


def _enter_final(session: Session, search: Search, reason: str) -> Next:
    if search.best_candidate_id is None:
        finish_search(session, search, sstate.FAILED, "no candidate trained successfully")
        return Next()
    _enter_phase(session, search, sstate.PHASE_FINAL, reason, "search entering final training")
    return Next(finalize=True)


def _enter_phase(
    session: Session, search: Search, phase: str, reason: str, message: str, **detail: Any
) -> None:
    """Move a running search to its next phase: stored, announced to clients, logged."""
    search.phase = phase
    search.enqueued_at = utcnow()
    ev.add_event(
        session,
        search.id,
        ev.SEARCH_STATUS,
        status=search.status,
        phase=phase,
        reason=reason,
        **detail,
    )
    log(logger, message, search=search.id, reason=reason, **detail)


def finish_search(session: Session, search: Search, status: str, error: str | None = None) -> None:
    """End a search (succeeded, failed or cancelled) with its events and log line, in the
    caller's transaction; any final-training lease goes with it."""
    search.status = status
    search.phase = None
    search.drop_final_lease()
    search.error = error
    search.finished_at = utcnow()
    ev.add_event(session, search.id, ev.SEARCH_STATUS, status=status, error=error)
    ev.add_event(
        session,
        search.id,
        ev.SEARCH_FINISHED,
        status=status,
        best_candidate_id=search.best_candidate_id,
        best_val_accuracy=search.best_val_accuracy,
        final=search.final_metrics,
        error=error,
    )
    log(
        logger,
        "search finished",
        search=search.id,
        status=status,
        error=error,
        best_val_accuracy=search.best_val_accuracy,
    )


def fail_search(db: Database, search_id: int, error: str) -> None:
    with db.write() as session:
        search = lock_search(session, search_id)
        if search is not None and search.status not in sstate.TERMINAL:
            finish_search(session, search, sstate.FAILED, error)


@dataclass
class Reconciled:
    evaluate: list[int] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    finalize: list[int] = field(default_factory=list)


def reconcile(db: Database) -> Reconciled:
    """Find work whose task vanished (killed worker, restarted broker) and hand it out again.

    Re-sending is safe: claims are idempotent, so a duplicate delivery is a no-op.
    """
    settings = _settings()
    now = utcnow()
    stale = now - timedelta(seconds=settings.resend_after_s)
    out = Reconciled()
    with db.write() as session:
        expired = session.scalars(
            select(Candidate)
            .join(Search, Search.id == Candidate.search_id)
            .where(
                Candidate.status == cstate.RUNNING,
                Candidate.lease_expires_at < now,
                Search.status.in_(sstate.ACTIVE),
            )
            .with_for_update(of=Candidate, skip_locked=True)
        )
        for candidate in expired:
            log(
                logger,
                "lease expired: candidate handed out again",
                logging.WARNING,
                search=candidate.search_id,
                candidate=candidate.id,
                worker=candidate.worker,
                attempt=candidate.attempts,
            )
            candidate.status = cstate.PENDING
            candidate.error = f"lease expired (worker {candidate.worker} lost)"
            candidate.lease_token = None
            candidate.lease_expires_at = None
            candidate.enqueued_at = None
        session.flush()
        lost = session.scalars(
            select(Candidate)
            .join(Search, Search.id == Candidate.search_id)
            .where(
                Candidate.status == cstate.PENDING,
                Candidate.generation == Search.generation,
                Search.status == sstate.RUNNING,
                (Candidate.enqueued_at.is_(None)) | (Candidate.enqueued_at < stale),
            )
        )
        for candidate in lost:
            candidate.enqueued_at = now
            out.evaluate.append(candidate.id)
        searches = session.scalars(
            select(Search).where(
                Search.status.in_([sstate.QUEUED, sstate.RUNNING]),
                (Search.enqueued_at.is_(None)) | (Search.enqueued_at < stale),
            )
        )
        for search in searches:
            search.enqueued_at = now
            if search.phase == sstate.PHASE_FINAL:
                out.finalize.append(search.id)
            else:
                out.start.append(search.id)
    if out.evaluate or out.start or out.finalize:
        log(logger, "reconciled", evaluate=out.evaluate, start=out.start, finalize=out.finalize)
    return out
