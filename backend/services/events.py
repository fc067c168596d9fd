"""Writing and reading the event log that the SSE stream tails."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.db.models import Event, Search

SEARCH_STATUS = "search_status"
CANDIDATE_STARTED = "candidate_started"
EPOCH = "epoch"
CANDIDATE_FINISHED = "candidate_finished"
GENERATION_FINISHED = "generation_finished"
FINAL_EPOCH = "final_epoch"
SEARCH_FINISHED = "search_finished"


def add_event(session: Session, search_id: int, type_: str, **payload: Any) -> Event:
    """Append an event in the caller's transaction, so it commits with the change it reports.

    The sequence number comes from an UPDATE of the search row, whose lock is held until
    commit: a concurrent writer for the same search waits, so seq order is commit order.
    """
    seq = session.execute(
        update(Search)
        .where(Search.id == search_id)
        .values(event_seq=Search.event_seq + 1)
        .returning(Search.event_seq)
    ).scalar_one()
    event = Event(search_id=search_id, seq=seq, type=type_, payload=payload)
    session.add(event)
    return event


def events_after(session: Session, search_id: int, after_id: int, limit: int = 500) -> list[Event]:
    stmt = (
        select(Event)
        .where(Event.search_id == search_id, Event.seq > after_id)
        .order_by(Event.seq)
        .limit(limit)
    )
    return list(session.scalars(stmt))
