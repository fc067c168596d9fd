"""Where a confirmation picks up: its source candidate's saved model, instead of scratch.

Why: a confirmation re-ranks the search's best few by a longer training. Training them again
from scratch repeats the epochs they already had (2 of 4 in the benchmark's protocol) and
doubles what confirmation holds back from a time budget; continuing each saved model (its
weights and optimizer state, ``worker.evaluator.load_for_resume``) reaches the same number of
epochs for the epochs still missing only. This is the promotion step of successive halving.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Artifact, Candidate, EpochMetric
from backend.db.models.artifact import CANDIDATE_MODEL

#: The saved model format a confirmation resumes from (``worker.evaluator.save_keras``).
RESUMABLE_FORMAT = "keras"


@dataclass(frozen=True)
class ResumePoint:
    """The source candidate, its saved model (relative path and sha256, checked before it is
    loaded) and the epochs it trained: the confirmation trains from there on."""

    source_id: int
    path: str
    sha256: str
    epochs: int


def resume_point(session: Session, confirmation: Candidate, epochs: int) -> ResumePoint | None:
    """For a confirmation of ``epochs`` epochs: its source's saved model, or None (train from
    scratch) where there is none (a stopped source) or it already trained as many epochs.
    A source settled as a reuse points at the candidate that trained the genome."""
    if not confirmation.parent_ids:
        return None
    source = session.get(Candidate, confirmation.parent_ids[0])
    while source is not None and source.reused_from_id is not None:
        source = session.get(Candidate, source.reused_from_id)
    if source is None:
        return None
    trained = int((source.metrics or {}).get("epochs_trained") or 0)
    if not 0 < trained < epochs:
        return None
    saved = session.scalar(
        select(Artifact).where(
            Artifact.candidate_id == source.id,
            Artifact.kind == CANDIDATE_MODEL,
            Artifact.format == RESUMABLE_FORMAT,
        )
    )
    if saved is None:
        return None
    return ResumePoint(source.id, saved.path, saved.sha256, trained)


_POINT = ("train_accuracy", "train_loss", "val_accuracy", "val_loss")


def carry_curve(
    session: Session, confirmation_id: int, point: ResumePoint
) -> list[tuple[int, dict[str, float]]]:
    """Copy the source's first epochs into the confirmation's learning curve, so the curve a
    confirmation shows runs from epoch 1 like any candidate's; returns them (epoch, point)."""
    rows = session.scalars(
        select(EpochMetric)
        .where(EpochMetric.candidate_id == point.source_id, EpochMetric.epoch <= point.epochs)
        .order_by(EpochMetric.epoch)
    )
    carried: list[tuple[int, dict[str, float]]] = []
    for row in rows:
        values = {k: getattr(row, k) for k in _POINT if getattr(row, k) is not None}
        session.add(EpochMetric(candidate_id=confirmation_id, epoch=row.epoch, **values))
        carried.append((row.epoch, values))
    return carried
