"""/api/searches: submit, list, inspect, cancel, and download the best model."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, StreamingResponse

from backend.api.auth import PrincipalDep
from backend.api.deps import (
    MAX_INT,
    DbDep,
    Offset,
    QueueDep,
    SearchId,
    SessionDep,
    SettingsDep,
)
from backend.api.errors import CONFLICT, LIMITED
from backend.api.files import artifact_response
from backend.api.stream import event_stream
from backend.schemas.candidate import (
    CandidatesPublic,
    CandidateSummariesPublic,
    GenerationStats,
)
from backend.schemas.search import SearchCreate, SearchesPublic, SearchPublic
from backend.services import artifacts, candidates, searches
from backend.services.presenters import candidate_public, candidates_with_models, search_public

router = APIRouter(prefix="/searches", tags=["searches"])
FULL_LIMIT, SUMMARY_LIMIT = 500, 5000  # candidates per page: with genomes, or summaries


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=SearchPublic, responses=LIMITED
)
def create_search(
    body: SearchCreate,
    db: DbDep,
    principal: PrincipalDep,
    queue: QueueDep,
    response: Response,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> SearchPublic:
    search_id = searches.create_search(
        db, queue, body, idempotency_key, owner=principal, settings=settings
    )
    response.headers["Location"] = f"/api/searches/{search_id}"
    with db.read() as session:
        return search_public(session, searches.get_search(session, search_id, principal))


@router.get("", response_model=SearchesPublic)
def list_searches(
    session: SessionDep,
    principal: PrincipalDep,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SearchesPublic:
    rows, total = searches.list_searches(session, offset, limit, principal)
    return SearchesPublic(items=[search_public(session, s) for s in rows], count=total)


@router.get("/{search_id}", response_model=SearchPublic)
def get_search(search_id: SearchId, session: SessionDep, principal: PrincipalDep) -> SearchPublic:
    return search_public(session, searches.get_search(session, search_id, principal))


@router.post("/{search_id}/cancel", response_model=SearchPublic, responses=CONFLICT)
def cancel_search(search_id: SearchId, db: DbDep, principal: PrincipalDep) -> SearchPublic:
    searches.cancel_search(db, search_id, principal)
    with db.read() as session:
        return search_public(session, searches.get_search(session, search_id, principal))


@router.post("/{search_id}/pause", response_model=SearchPublic, responses=CONFLICT)
def pause_search(search_id: SearchId, db: DbDep, principal: PrincipalDep) -> SearchPublic:
    """Stop handing out candidates; those training now finish. 409 unless running."""
    searches.pause_search(db, search_id, principal)
    with db.read() as session:
        return search_public(session, searches.get_search(session, search_id, principal))


@router.post("/{search_id}/resume", response_model=SearchPublic, responses=CONFLICT)
def resume_search(
    search_id: SearchId, db: DbDep, queue: QueueDep, principal: PrincipalDep
) -> SearchPublic:
    """Continue a paused search from what is stored. 409 unless paused."""
    searches.resume_search(db, queue, search_id, principal)
    with db.read() as session:
        return search_public(session, searches.get_search(session, search_id, principal))


@router.get("/{search_id}/candidates", response_model=CandidatesPublic | CandidateSummariesPublic)
def list_candidates(
    search_id: SearchId,
    session: SessionDep,
    principal: PrincipalDep,
    offset: Offset = 0,
    limit: Annotated[
        int, Query(ge=1, le=SUMMARY_LIMIT, description=f"At most {FULL_LIMIT} unless summary")
    ] = 100,
    sort: Literal[
        "id", "generation", "index", "val_accuracy", "params", "flops", "duration_s"
    ] = "id",
    order: Literal["asc", "desc"] = "asc",
    status_: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    generation: Annotated[int | None, Query(ge=0, le=MAX_INT)] = None,
    fields: Annotated[
        Literal["full", "summary"],
        Query(description="summary: only what charts need (no genome, metrics, lineage)"),
    ] = "full",
) -> CandidatesPublic | Response:
    if fields == "full" and limit > FULL_LIMIT:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "limit"),
                    "msg": f"Input should be less than or equal to {FULL_LIMIT} "
                    "(or ask for fields=summary)",
                    "type": "less_than_equal",
                    "input": limit,
                }
            ]
        )
    searches.get_search(session, search_id, principal)
    page = candidates.Page(offset, limit, sort, order, status_, generation)
    if fields == "summary":
        items, total = candidates.list_summaries(session, search_id, page)
        body = CandidateSummariesPublic.model_validate({"items": items, "count": total})
        # Already validated: skip FastAPI's second pass over the response union (thousands of
        # items would be tried against CandidatesPublic first).
        return Response(body.model_dump_json(), media_type="application/json")
    rows, total = candidates.list_candidates(session, search_id, **page._asdict())
    with_model = candidates_with_models(session, [c.id for c in rows])
    return CandidatesPublic(items=[candidate_public(c, with_model) for c in rows], count=total)


@router.get("/{search_id}/generations", response_model=list[GenerationStats])
def generation_stats(
    search_id: SearchId, session: SessionDep, principal: PrincipalDep
) -> list[GenerationStats]:
    searches.get_search(session, search_id, principal)
    return candidates.generation_stats(session, search_id)


@router.get(
    "/{search_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    search_id: SearchId,
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_INT, description="Resume after this event id")
    ] = None,
) -> StreamingResponse:
    """Server-Sent Events; each has an ``id:``, so a client resumes with ``Last-Event-ID``."""
    with db.read() as session:
        searches.get_search(session, search_id, principal)
    start = after if after is not None else _parse_last_id(last_event_id)
    return StreamingResponse(
        event_stream(request, db, search_id, start, settings.event_poll_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _parse_last_id(value: str | None) -> int:
    try:
        return min(max(0, int(value)), MAX_INT) if value else 0
    except ValueError:
        return 0


@router.get("/{search_id}/model", response_class=FileResponse, responses=CONFLICT)
def download_model(
    search_id: SearchId,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    request: Request,
    format: artifacts.ModelFormat = "keras",
) -> Response:
    search = searches.get_search(session, search_id, principal)
    artifact = artifacts.best_model(session, search, format)
    return artifact_response(settings, artifact, f"nasboard-search{search_id}-best", request)
