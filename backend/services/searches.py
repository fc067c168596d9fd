"""Search use cases: create (commit, then enqueue), read, cancel."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.logging import log
from backend.core.queue import TaskQueue
from backend.datasets.registry import dataset_info
from backend.db.base import utcnow
from backend.db.models import Search
from backend.db.models.search import CANCELLED, PAUSED, QUEUED, RUNNING, TERMINAL
from backend.db.session import Database
from backend.schemas.search import SearchCreate
from backend.search.space import PRESETS
from backend.services.errors import Conflict, Invalid, NotFound
from backend.services.events import SEARCH_STATUS, add_event

logger = logging.getLogger(__name__)
RUN_SEARCH = "worker.run_search"


def resolved_config(body: SearchCreate) -> dict:
    """The request as stored: defaults filled in, so a worker never guesses."""
    config = body.model_dump(mode="json")
    if body.search_space is None:
        config["search_space"] = PRESETS["seed"].model_dump(mode="json")
    if body.final_epochs is None:
        config["final_epochs"] = max(2, 2 * body.epochs_per_candidate)
    return config


def create_search(
    db: Database, queue: TaskQueue, body: SearchCreate, idempotency_key: str | None = None
) -> int:
    """Store the search, then enqueue it; returns its id (an existing one for a replayed key)."""
    if dataset_info(db, body.dataset) is None:
        raise Invalid("dataset", f"unknown dataset {body.dataset!r}")
    if idempotency_key:
        with db.read() as session:
            existing = session.scalar(
                select(Search.id).where(Search.idempotency_key == idempotency_key)
            )
        if existing is not None:
            return existing
    search = Search(
        name=body.name,
        dataset=body.dataset,
        strategy=body.strategy,
        status=QUEUED,
        config=resolved_config(body),
        idempotency_key=idempotency_key,
    )
    try:
        with db.write() as session:
            session.add(search)
            session.flush()
            add_event(session, search.id, SEARCH_STATUS, status=QUEUED)
    except IntegrityError:
        # A concurrent request with the same key won the race.
        with db.read() as session:
            winner = session.scalar(
                select(Search.id).where(Search.idempotency_key == idempotency_key)
            )
        if winner is None:
            raise
        return winner
    log(logger, "search created", search=search.id, dataset=body.dataset, strategy=body.strategy)
    enqueue_search(queue, search.id)
    return search.id


def enqueue_search(queue: TaskQueue, search_id: int) -> None:
    try:
        queue.send(RUN_SEARCH, search_id)
    except Exception as exc:  # the broker is transport only: the reconciler re-sends it later
        log(logger, "enqueue failed", logging.WARNING, search=search_id, error=str(exc))


def get_search(session: Session, search_id: int) -> Search:
    search = session.get(Search, search_id)
    if search is None:
        raise NotFound(f"search {search_id} not found")
    return search


def list_searches(session: Session, offset: int, limit: int) -> tuple[list[Search], int]:
    total = session.scalar(select(func.count()).select_from(Search)) or 0
    rows = session.scalars(select(Search).order_by(Search.id.desc()).offset(offset).limit(limit))
    return list(rows), total


def cancel_search(db: Database, search_id: int) -> None:
    with db.write() as session:
        search = get_search(session, search_id)
        if search.status in TERMINAL:
            raise Conflict(f"search {search_id} is already {search.status}")
        search.status = CANCELLED
        search.phase = None
        search.finished_at = utcnow()
        add_event(session, search_id, SEARCH_STATUS, status=CANCELLED)
    log(logger, "search cancelled", search=search_id)


def pause_search(db: Database, search_id: int) -> None:
    """Stop handing out candidates; those training now finish and are kept."""
    with db.write() as session:
        search = get_search(session, search_id)
        if search.status != RUNNING:
            raise Conflict(
                f"only a running search can be paused (search {search_id} is {search.status})"
            )
        search.status = PAUSED
        add_event(session, search_id, SEARCH_STATUS, status=PAUSED)
    log(logger, "search paused", search=search_id)


def resume_search(db: Database, queue: TaskQueue, search_id: int) -> None:
    with db.write() as session:
        search = get_search(session, search_id)
        if search.status != PAUSED:
            raise Conflict(
                f"only a paused search can be resumed (search {search_id} is {search.status})"
            )
        search.status = RUNNING
        search.enqueued_at = utcnow()
        add_event(session, search_id, SEARCH_STATUS, status=RUNNING, phase=search.phase)
    log(logger, "search resumed", search=search_id)
    enqueue_search(queue, search_id)
