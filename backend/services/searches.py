"""Search use cases: create (commit, then enqueue), read, cancel."""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.core.logging import log
from backend.core.queue import TaskQueue
from backend.datasets.registry import dataset_info
from backend.db.base import utcnow
from backend.db.models import Search
from backend.db.models.search import CANCELLED, PAUSED, QUEUED, RUNNING, TERMINAL
from backend.db.session import Database
from backend.schemas.search import SearchCreate
from backend.search.space import PRESETS
from backend.services.access import Principal
from backend.services.datasets import dataset_visible
from backend.services.errors import Conflict, Invalid, NotFound, TooMany
from backend.services.events import SEARCH_STATUS, add_event
from backend.services.limits import check_search

logger = logging.getLogger(__name__)
RUN_SEARCH = "worker.run_search"


def resolved_config(body: SearchCreate) -> dict:
    """The request as stored: defaults filled in, so a worker never guesses."""
    config = body.model_dump(mode="json")
    if body.search_space is None:
        config["search_space"] = PRESETS["seed"].model_dump(mode="json")
    if body.final_epochs is None:
        config["final_epochs"] = max(2, 2 * body.epochs_per_candidate)
    if body.confirm_epochs is None:
        config["confirm_epochs"] = config["final_epochs"]
    return config


def stored_key(idempotency_key: str, owner_id: int | None) -> str:
    """Idempotency keys are per owner: another user's key never finds your search."""
    if owner_id is None:
        return idempotency_key
    return f"u{owner_id}:{hashlib.sha256(idempotency_key.encode()).hexdigest()}"


def create_search(
    db: Database,
    queue: TaskQueue,
    body: SearchCreate,
    idempotency_key: str | None = None,
    *,
    owner: Principal | None = None,
    settings: Settings | None = None,
) -> int:
    """Store the search, then enqueue it; returns its id (an existing one for a replayed key).

    ``owner`` (the caller) owns it and must be able to see its dataset; ``settings`` bound
    what it may ask for and how many searches the owner may have going at once."""
    owner = owner or Principal.single_user()
    if settings is not None:
        check_search(body, settings)
    if dataset_info(db, body.dataset) is None or not dataset_visible(db, body.dataset, owner):
        raise Invalid("dataset", f"unknown dataset {body.dataset!r}")
    key = stored_key(idempotency_key, owner.user_id) if idempotency_key else None
    if key:
        with db.read() as session:
            existing = session.scalar(select(Search.id).where(Search.idempotency_key == key))
        if existing is not None:
            return existing
    if settings is not None and owner.user_id is not None:
        with db.read() as session:
            active = (
                session.scalar(
                    select(func.count())
                    .select_from(Search)
                    .where(
                        Search.owner_id == owner.user_id,
                        Search.status.in_([QUEUED, RUNNING, PAUSED]),
                    )
                )
                or 0
            )
        if active >= settings.max_active_searches:
            raise TooMany(
                f"you already have {active} queued, running or paused searches (the limit is "
                f"{settings.max_active_searches}); cancel one or wait until one ends"
            )
    search = Search(
        name=body.name,
        dataset=body.dataset,
        strategy=body.strategy,
        status=QUEUED,
        config=resolved_config(body),
        idempotency_key=key,
        owner_id=owner.user_id,
    )
    try:
        with db.write() as session:
            session.add(search)
            session.flush()
            add_event(session, search.id, SEARCH_STATUS, status=QUEUED)
    except IntegrityError:
        # A concurrent request with the same key won the race.
        with db.read() as session:
            winner = session.scalar(select(Search.id).where(Search.idempotency_key == key))
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


def get_search(session: Session, search_id: int, viewer: Principal | None = None) -> Search:
    """The search, if it exists and ``viewer`` (None: internal use) may see it; else 404."""
    search = session.get(Search, search_id)
    if search is None or (viewer is not None and not viewer.can_see(search.owner_id)):
        raise NotFound(f"search {search_id} not found")
    return search


def list_searches(
    session: Session, offset: int, limit: int, viewer: Principal | None = None
) -> tuple[list[Search], int]:
    viewer = viewer or Principal.single_user()
    total = (
        session.scalar(viewer.scope(select(func.count()).select_from(Search), Search.owner_id)) or 0
    )
    stmt = viewer.scope(select(Search), Search.owner_id)
    rows = session.scalars(stmt.order_by(Search.id.desc()).offset(offset).limit(limit))
    return list(rows), total


def cancel_search(db: Database, search_id: int, viewer: Principal | None = None) -> None:
    with db.write() as session:
        search = get_search(session, search_id, viewer)
        if search.status in TERMINAL:
            raise Conflict(f"search {search_id} is already {search.status}")
        search.status = CANCELLED
        search.phase = None
        search.finished_at = utcnow()
        add_event(session, search_id, SEARCH_STATUS, status=CANCELLED)
    log(logger, "search cancelled", search=search_id)


def pause_search(db: Database, search_id: int, viewer: Principal | None = None) -> None:
    """Stop handing out candidates; those training now finish and are kept."""
    with db.write() as session:
        search = get_search(session, search_id, viewer)
        if search.status != RUNNING:
            raise Conflict(
                f"only a running search can be paused (search {search_id} is {search.status})"
            )
        search.status = PAUSED
        add_event(session, search_id, SEARCH_STATUS, status=PAUSED)
    log(logger, "search paused", search=search_id)


def resume_search(
    db: Database, queue: TaskQueue, search_id: int, viewer: Principal | None = None
) -> None:
    with db.write() as session:
        search = get_search(session, search_id, viewer)
        if search.status != PAUSED:
            raise Conflict(
                f"only a paused search can be resumed (search {search_id} is {search.status})"
            )
        search.status = RUNNING
        search.enqueued_at = utcnow()
        add_event(session, search_id, SEARCH_STATUS, status=RUNNING, phase=search.phase)
    log(logger, "search resumed", search=search_id)
    enqueue_search(queue, search_id)
