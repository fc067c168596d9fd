"""/api/candidates/{id}: one candidate, its learning curve, architecture graph and model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from backend.api.auth import PrincipalDep
from backend.api.deps import CandidateId, DbDep, SessionDep, SettingsDep
from backend.api.errors import CONFLICT
from backend.api.files import artifact_response
from backend.datasets.registry import dataset_info
from backend.schemas.candidate import CandidateDetail, EpochPublic
from backend.search.graph import describe
from backend.services import artifacts, candidates, searches
from backend.services.errors import Conflict, NotFound
from backend.services.presenters import candidate_public, candidates_with_models

router = APIRouter(prefix="/candidates", tags=["candidates"])


@router.get("/{candidate_id}", response_model=CandidateDetail)
def get_candidate(
    candidate_id: CandidateId, session: SessionDep, principal: PrincipalDep
) -> CandidateDetail:
    candidate = candidates.get_candidate(session, candidate_id, principal)
    epochs = [
        EpochPublic(
            epoch=e.epoch,
            train_accuracy=e.train_accuracy,
            train_loss=e.train_loss,
            val_accuracy=e.val_accuracy,
            val_loss=e.val_loss,
        )
        for e in candidates.epochs_of(session, candidate_id)
    ]
    with_model = candidates_with_models(session, [candidate.id])
    return CandidateDetail(**candidate_public(candidate, with_model).model_dump(), epochs=epochs)


@router.get("/{candidate_id}/graph", responses=CONFLICT)
def get_graph(
    candidate_id: CandidateId, session: SessionDep, db: DbDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Nodes (type, parameters, output shape, parameter count) and edges, for drawing."""
    candidate = candidates.get_candidate(session, candidate_id, principal)
    search = searches.get_search(session, candidate.search_id)
    info = dataset_info(db, search.dataset)
    if info is None:
        raise NotFound(f"dataset {search.dataset!r} of search {search.id} no longer exists")
    try:
        return describe(candidate.genome, info.input_shape, info.num_classes)
    except (ValueError, KeyError, TypeError) as exc:  # a stored genome that cannot be drawn
        raise Conflict(
            f"the architecture of candidate {candidate_id} cannot be drawn: {exc}"
        ) from exc


@router.get("/{candidate_id}/model", response_class=FileResponse, responses=CONFLICT)
def download_model(
    candidate_id: CandidateId,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    request: Request,
    format: artifacts.ModelFormat = "keras",
) -> Response:
    candidate = candidates.get_candidate(session, candidate_id, principal)
    artifact = artifacts.candidate_model(session, candidate_id, format)
    stem = f"nasboard-search{candidate.search_id}-g{candidate.generation}-c{candidate.index}"
    return artifact_response(settings, artifact, stem, request)
