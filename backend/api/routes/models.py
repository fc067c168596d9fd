"""A search's model card: JSON, or a readable page (the worker wrote it; nothing is loaded)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from backend.api.auth import PrincipalDep
from backend.api.deps import SearchId, SessionDep, SettingsDep
from backend.api.errors import CONFLICT
from backend.services import artifacts, searches
from backend.services.model_card import read_card, render_html

router = APIRouter(prefix="/searches", tags=["models"])
CARD_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


@router.get(
    "/{search_id}/model-card",
    responses={200: {"content": {"application/json": {}, "text/html": {}}}, **CONFLICT},
)
def get_model_card(
    search_id: SearchId,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    request: Request,
    format: Literal["json", "html"] = "json",
) -> Any:
    """Genome, layers, test metrics (accuracy, F1, confusion matrix), dataset checksum, seed,
    training settings, exports and versions of the search's best model."""
    search = searches.get_search(session, search_id, principal)
    artifact = artifacts.model_card(session, search)
    etag = f'"{artifact.sha256}{"-html" if format == "html" else ""}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    card = read_card(settings, artifact)
    if format == "html":
        # The card's page has its own inline <style> and no script at all.
        return HTMLResponse(
            render_html(card), headers={"ETag": etag, "Content-Security-Policy": CARD_CSP}
        )
    return JSONResponse(card, headers={"ETag": etag})
