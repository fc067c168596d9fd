"""The workers registry as the API shows it: alive or gone, what each trains, throughput.

Workers hold no user data, so every caller may list them; which candidate a worker trains
is shown only to those who may see that candidate's search (its owner, an admin).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.base import utcnow
from backend.db.models import Candidate, Search, Worker
from backend.db.models import candidate as cstate
from backend.schemas.worker import CurrentCandidate, WorkerPublic, WorkersPublic
from backend.services.access import Principal

# A worker is alive while its last heartbeat is younger than this many reconcile intervals.
ALIVE_INTERVALS = 3
# Gone workers stay listed this long after their last heartbeat (unless all are asked for).
KEEP_GONE = timedelta(days=1)


def alive_after(reconcile_s: float, now: datetime) -> datetime:
    return now - timedelta(seconds=ALIVE_INTERVALS * reconcile_s)


def list_workers(
    session: Session,
    principal: Principal,
    *,
    reconcile_s: float,
    include_old: bool = False,
    now: datetime | None = None,
) -> WorkersPublic:
    now = now or utcnow()
    threshold = alive_after(reconcile_s, now)
    stmt = select(Worker)
    if not include_old:
        stmt = stmt.where(Worker.heartbeat_at >= now - KEEP_GONE)
    rows = list(session.scalars(stmt.order_by(Worker.hostname, Worker.started_at, Worker.id)))
    ids = {w.current_candidate_id for w in rows if w.current_candidate_id is not None}
    current: dict[int, tuple[Candidate, int | None]] = {}
    if ids:
        found = session.execute(
            select(Candidate, Search.owner_id)
            .join(Search, Search.id == Candidate.search_id)
            .where(Candidate.id.in_(ids))
        )
        current = {c.id: (c, owner) for c, owner in found}
    items = []
    for w in rows:
        alive = w.heartbeat_at >= threshold
        items.append(_public(w, alive, _current(w, alive, current, principal), now))
    items.sort(key=lambda item: not item.alive)  # alive first, stable otherwise
    return WorkersPublic(items=items, count=len(items), alive=sum(1 for i in items if i.alive))


def _current(
    w: Worker,
    alive: bool,
    found: dict[int, tuple[Candidate, int | None]],
    principal: Principal,
) -> CurrentCandidate | None:
    """The candidate this worker trains now: it must still be running under its name (a
    worker that died mid-candidate leaves the id behind; the candidate moves on)."""
    if not alive or w.current_candidate_id is None or w.current_candidate_id not in found:
        return None
    candidate, owner_id = found[w.current_candidate_id]
    if candidate.status != cstate.RUNNING or candidate.worker != w.name:
        return None
    if not principal.can_see(owner_id):
        return None
    return CurrentCandidate(
        id=candidate.id,
        search_id=candidate.search_id,
        generation=candidate.generation,
        index=candidate.index,
    )


def _public(
    w: Worker, alive: bool, current: CurrentCandidate | None, now: datetime
) -> WorkerPublic:
    # A gone worker's rate is over the time it lived, not diluted by the time since.
    until = now if alive else max(w.heartbeat_at, w.started_at)
    elapsed_s = max((until - w.started_at).total_seconds(), 1.0)
    return WorkerPublic(
        name=w.name,
        hostname=w.hostname,
        pid=w.pid,
        alive=alive,
        device=w.device,
        concurrency=w.concurrency,
        tf_threads=w.tf_threads,
        started_at=w.started_at,
        heartbeat_at=w.heartbeat_at,
        current_candidate=current,
        candidates_done=w.candidates_done,
        busy_s=round(w.busy_s, 3),
        throughput_per_min=round(w.candidates_done / (elapsed_s / 60.0), 4),
        busy_fraction=round(min(1.0, max(0.0, w.busy_s / elapsed_s)), 4),
    )
