"""GET /api/workers: the training processes, alive or recently gone, and what they do."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.api.auth import PrincipalDep
from backend.api.deps import SessionDep, SettingsDep
from backend.schemas.worker import WorkersPublic
from backend.services import workers

router = APIRouter(prefix="/workers", tags=["workers"])


@router.get("", response_model=WorkersPublic)
def list_workers(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    include_old: Annotated[
        bool, Query(description="also workers gone for more than a day")
    ] = False,
) -> WorkersPublic:
    """Every worker process: alive ones first. Anyone signed in may list them (they hold no
    user data); a candidate id is shown only to who may see its search."""
    return workers.list_workers(
        session, principal, reconcile_s=settings.reconcile_s, include_old=include_old
    )
