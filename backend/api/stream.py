"""SSE: tail the events table after a given id; the database is the source of truth."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from backend.db.models.search import TERMINAL, Search
from backend.db.session import Database
from backend.services.events import events_after

HEARTBEAT_S = 15.0


def format_event(event_id: int, type_: str, data: dict) -> str:
    body = json.dumps(data, separators=(",", ":"), default=str)
    return f"id: {event_id}\nevent: {type_}\ndata: {body}\n\n"


def _fetch(db: Database, search_id: int, after: int) -> tuple[list[tuple[int, str, dict]], bool]:
    with db.read() as session:
        rows = events_after(session, search_id, after)
        search = session.get(Search, search_id)
        terminal = search is None or search.status in TERMINAL
        events = [
            (e.seq, e.type, {"type": e.type, "search_id": search_id, **e.payload}) for e in rows
        ]
    return events, terminal


async def event_stream(
    request: Request, db: Database, search_id: int, after: int, poll_s: float
) -> AsyncIterator[str]:
    """Yield every event after ``after`` in id order; end once the search is over and drained."""
    yield "retry: 1000\n\n"
    last = after
    idle = 0.0
    while True:
        events, terminal = await run_in_threadpool(_fetch, db, search_id, last)
        for event_id, type_, data in events:
            last = event_id
            yield format_event(event_id, type_, data)
        if events:
            idle = 0.0
            continue
        if terminal:
            yield f"event: end\ndata: {json.dumps({'last_event_id': last})}\n\n"
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(poll_s)
        idle += poll_s
        if idle >= HEARTBEAT_S:
            idle = 0.0
            yield ": keep-alive\n\n"
