"""Model files: where they are stored, which formats exist, and how downloads find them.

The best model of a search is exported by the worker after its final training, in every
format below, beside ``best.keras`` (``best.savedmodel.zip``, ``best.tflite``) with its model
card (``best.card.json``); candidates keep the ``.keras`` written at training time. The API
only serves these files: it never loads a model.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Artifact, Search
from backend.db.models.artifact import BEST_MODEL, CANDIDATE_MODEL
from backend.services.errors import Conflict, NotFound

# Format -> file suffix (also the suffix of the server-chosen download name).
FORMATS = {
    "keras": ".keras",
    "savedmodel": ".savedmodel.zip",
    "tflite": ".tflite",
    "card": ".card.json",
}
MODEL_FORMATS = ("keras", "savedmodel", "tflite")
ModelFormat = Literal["keras", "savedmodel", "tflite"]
# Exported beside the best model's .keras, registered with it in one transaction.
BEST_EXTRAS = ("savedmodel", "tflite", "card")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tmp_beside(target: Path) -> Path:
    """A temporary name beside ``target`` that no other writer uses (write, then replace):
    two processes writing the same file never rename each other's half-written one."""
    return target.with_name(f".{target.stem}.{uuid.uuid4().hex}.tmp{target.suffix}")


def format_of(rel_path: str) -> str:
    """The format a stored file's name says (longest suffix first)."""
    for fmt, suffix in sorted(FORMATS.items(), key=lambda item: -len(item[1])):
        if rel_path.endswith(suffix):
            return fmt
    raise ValueError(f"{rel_path!r} has no known model file suffix")


def sibling(keras_rel_path: str, fmt: str) -> str:
    """``artifacts/search_3/best.keras`` -> ``artifacts/search_3/best.tflite`` (for tflite)."""
    if not keras_rel_path.endswith(FORMATS["keras"]):
        raise ValueError(f"{keras_rel_path!r} is not a .keras path")
    return keras_rel_path[: -len(FORMATS["keras"])] + FORMATS[fmt]


def _check_format(fmt: str) -> None:
    if fmt not in MODEL_FORMATS:
        raise NotFound(f"unknown model format {fmt!r}; one of {', '.join(MODEL_FORMATS)}")


def _best_artifact(session: Session, search_id: int, fmt: str) -> Artifact | None:
    return session.scalar(
        select(Artifact).where(
            Artifact.search_id == search_id,
            Artifact.candidate_id.is_(None),
            Artifact.kind == BEST_MODEL,
            Artifact.format == fmt,
        )
    )


def _no_final(search: Search, what: str) -> Conflict:
    return Conflict(
        f"search {search.id} has no {what} yet (status {search.status}"
        f"{', phase ' + search.phase if search.phase else ''}); it is saved when the search "
        "succeeds"
    )


def best_model(session: Session, search: Search, fmt: str) -> Artifact:
    _check_format(fmt)
    artifact = _best_artifact(session, search.id, fmt)
    if artifact is None:
        if fmt != "keras" and _best_artifact(session, search.id, "keras") is not None:
            raise Conflict(
                f"search {search.id}'s best model was not exported as {fmt} (the export failed "
                "or predates it); see its model card's 'exports'"
            )
        raise _no_final(search, "final model")
    return artifact


def model_card(session: Session, search: Search) -> Artifact:
    artifact = _best_artifact(session, search.id, "card")
    if artifact is None:
        raise _no_final(search, "model card")
    return artifact


def candidate_model(session: Session, candidate_id: int, fmt: str) -> Artifact:
    _check_format(fmt)
    artifact = session.scalar(
        select(Artifact).where(
            Artifact.candidate_id == candidate_id,
            Artifact.kind == CANDIDATE_MODEL,
            Artifact.format == fmt,
        )
    )
    if artifact is None:
        if fmt != "keras":
            raise Conflict(
                f"candidate models are stored as .keras only; {fmt} is exported for a search's "
                "best model after its final training (GET /api/searches/{id}/model"
                f"?format={fmt})"
            )
        raise Conflict(f"candidate {candidate_id} has no stored model (not trained successfully)")
    return artifact
