"""Model files: where they are stored and how downloads find them."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Artifact, Search
from backend.db.models.artifact import BEST_MODEL, CANDIDATE_MODEL
from backend.services.errors import Conflict, NotFound

FORMATS = {"keras": ".keras"}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def best_model(session: Session, search: Search, fmt: str) -> Artifact:
    if fmt not in FORMATS:
        raise NotFound(f"unknown model format {fmt!r}")
    artifact = session.scalar(
        select(Artifact).where(
            Artifact.search_id == search.id, Artifact.kind == BEST_MODEL, Artifact.format == fmt
        )
    )
    if artifact is None:
        raise Conflict(
            f"search {search.id} has no final model yet (status {search.status}"
            f"{', phase ' + search.phase if search.phase else ''}); it is saved when the search "
            "succeeds"
        )
    return artifact


def candidate_model(session: Session, candidate_id: int, fmt: str) -> Artifact:
    if fmt not in FORMATS:
        raise NotFound(f"unknown model format {fmt!r}")
    artifact = session.scalar(
        select(Artifact).where(
            Artifact.candidate_id == candidate_id,
            Artifact.kind == CANDIDATE_MODEL,
            Artifact.format == fmt,
        )
    )
    if artifact is None:
        raise Conflict(f"candidate {candidate_id} has no stored model (not trained successfully)")
    return artifact
