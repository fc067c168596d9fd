"""The final training under a lease: one worker at a time retrains a search's best genome.

A finalize task can be delivered more than once (the reconciler re-sends a search whose task
looks lost; a resumed search is sent again). Two workers training the same final at once
would race on ``best.keras`` and its exports, and the loser's error could fail a search the
other one is about to finish. So the first worker takes a lease (token plus expiry) on the
search row; a second delivery finds it held and returns; the holder renews it while it
trains; only the holder may record epochs, finish the search or fail it. A worker that dies
stops renewing, and the next delivery after expiry takes the final over.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.core.logging import log
from backend.db.base import utcnow
from backend.db.models import Candidate, Search
from backend.db.models import search as sstate
from backend.db.models.artifact import BEST_MODEL
from backend.db.session import Database
from backend.search.engine import BASELINE_ORIGIN
from backend.services import events as ev
from worker.runner import finish_search, lock_search, store_artifact

logger = logging.getLogger("nasboard.final")


@dataclass
class FinalJob:
    search_id: int
    token: str
    genome: dict[str, Any]
    dataset: str
    epochs: int
    batch_size: int
    seed: int
    best_candidate_id: int


def begin_final(db: Database, search_id: int) -> FinalJob | None:
    """Take the final's lease, or None: nothing to train, or another worker holds it."""
    with db.write() as session:
        search = lock_search(session, search_id)
        if search is None or search.status != sstate.RUNNING or search.phase != sstate.PHASE_FINAL:
            return None
        if search.final_lease_held(utcnow()):
            log(logger, "final training already taken", search=search_id)
            return None
        best = (
            session.get(Candidate, search.best_candidate_id) if search.best_candidate_id else None
        )
        if best is None:
            return None
        token = uuid.uuid4().hex
        search.final_lease_token = token
        _renew(search)
        cfg = search.config
        return FinalJob(
            search_id=search_id,
            token=token,
            genome=best.genome,
            dataset=search.dataset,
            epochs=int(cfg["final_epochs"]),
            batch_size=int(cfg["batch_size"]),
            seed=int(cfg["seed"]),
            best_candidate_id=best.id,
        )


def _renew(search: Search) -> None:
    now = utcnow()
    search.final_lease_expires_at = now + timedelta(seconds=get_settings().lease_s)
    search.enqueued_at = now  # a sign of life: the reconciler leaves the search alone


def _held(session: Session, job: FinalJob) -> Search | None:
    """The search, locked, while this job still holds the lease and the search runs."""
    search = lock_search(session, job.search_id)
    if (
        search is None
        or search.final_lease_token != job.token
        or search.status != sstate.RUNNING
        or search.phase != sstate.PHASE_FINAL
    ):
        return None
    return search


def heartbeat(db: Database, job: FinalJob) -> bool:
    """Renew the lease; False once it was lost or the search stopped (training stops)."""
    with db.write() as session:
        search = _held(session, job)
        if search is None:
            return False
        _renew(search)
        return True


def record_epoch(db: Database, job: FinalJob, epoch: int, point: dict[str, float]) -> bool:
    """Store one final epoch as an event and renew the lease; False when training should stop."""
    with db.write() as session:
        search = _held(session, job)
        if search is None:
            return False
        ev.add_event(
            session, job.search_id, ev.FINAL_EPOCH, epoch=epoch, epochs=job.epochs, **point
        )
        _renew(search)
        return True


def finish(
    db: Database, job: FinalJob, metrics: dict[str, Any], history: list, model_path: str
) -> bool:
    """Register the final model and succeed the search; False if the lease was lost."""
    with db.write() as session:
        search = _held(session, job)
        if search is None:
            log(logger, "final training lost its lease", search=job.search_id)
            return False
        store_artifact(session, db, search.id, None, BEST_MODEL, model_path)
        baseline = session.scalar(
            select(Candidate).where(
                Candidate.search_id == search.id, Candidate.origin == BASELINE_ORIGIN
            )
        )
        search.final_metrics = {
            **metrics,
            "history": history,
            "candidate_id": job.best_candidate_id,
            "baseline_val_accuracy": baseline.val_accuracy if baseline else None,
            "finished_at": datetime.now(UTC).isoformat(),
        }
        finish_search(session, search, sstate.SUCCEEDED)
        return True


def fail(db: Database, job: FinalJob, error: str) -> bool:
    """Fail the search for an error of this final training, only while it holds the lease:
    a worker that lost it must not fail a search another worker is finishing."""
    with db.write() as session:
        search = _held(session, job)
        if search is None:
            return False
        finish_search(session, search, sstate.FAILED, error)
        return True


def release(db: Database, job: FinalJob) -> bool:
    """Give the lease up when training stopped (paused, cancelled). True when the search is
    running its final phase again (resumed while this training stopped): its start saw the
    lease held and sent no finalize, so the caller must send one."""
    with db.write() as session:
        search = lock_search(session, job.search_id)
        if search is None or search.final_lease_token != job.token:
            return False
        search.drop_final_lease()
        return search.status == sstate.RUNNING and search.phase == sstate.PHASE_FINAL
