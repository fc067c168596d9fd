"""GET /api/events: one live stream of search summaries for the list page.

Each search's own stream (/api/searches/{id}/events) is the resumable, gap-free log; this one
only says "this search changed, here is its summary now", so it carries no ids: a client
that reconnects reloads the list and follows again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from backend.api.auth import PrincipalDep
from backend.api.deps import DbDep, SettingsDep
from backend.db.models import Search
from backend.db.session import Database
from backend.services.access import Principal
from backend.services.presenters import search_public

router = APIRouter(tags=["searches"])
TICK_S = 0.5
HEARTBEAT_TICKS = 30


def _changes(db: Database, seen: dict[int, int], viewer: Principal) -> list[str]:
    with db.read() as session:
        stmt = viewer.scope(select(Search.id, Search.event_seq), Search.owner_id)
        current: dict[int, int] = {sid: seq for sid, seq in session.execute(stmt)}
        changed = [sid for sid, seq in current.items() if seen.get(sid) != seq]
        out = []
        for sid in changed:
            search = session.get(Search, sid)
            if search is not None:
                out.append(search_public(session, search).model_dump_json())
        for sid in set(seen) - set(current):
            out.append(json.dumps({"id": sid, "deleted": True}))
    seen.clear()
    seen.update(current)
    return out


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def all_searches(
    request: Request, db: DbDep, settings: SettingsDep, principal: PrincipalDep
) -> StreamingResponse:
    """Server-Sent Events named ``search``: a search's summary each time it changes (the
    caller's searches; an admin's stream carries all)."""

    async def stream() -> AsyncIterator[str]:
        seen: dict[int, int] = {}
        await run_in_threadpool(
            _changes, db, seen, principal
        )  # the baseline: only later changes are sent
        yield "retry: 2000\n\n"
        ticks = 0
        while not await request.is_disconnected():
            for data in await run_in_threadpool(_changes, db, seen, principal):
                yield f"event: search\ndata: {data}\n\n"
            await asyncio.sleep(TICK_S)
            ticks += 1
            if ticks % HEARTBEAT_TICKS == 0:
                yield ": keep-alive\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )
