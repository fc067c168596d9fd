"""Turn rows into API schemas (progress and ETA are derived here, never stored twice)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db.models import Artifact, Candidate, Search
from backend.db.models.artifact import BEST_MODEL, CANDIDATE_MODEL
from backend.db.models.candidate import DONE
from backend.db.models.search import TERMINAL
from backend.schemas.candidate import CandidatePublic
from backend.schemas.search import BestSummary, Progress, SearchPublic
from backend.search.engine import BASELINE_ORIGIN


def candidates_with_models(session: Session, ids: list[int]) -> set[int]:
    """Which of these candidates have a stored model (one query for a whole page)."""
    if not ids:
        return set()
    rows = session.scalars(
        select(Artifact.candidate_id).where(
            Artifact.candidate_id.in_(ids), Artifact.kind == CANDIDATE_MODEL
        )
    )
    return {cid for cid in rows if cid is not None}


def candidate_public(c: Candidate, with_model: set[int] | None = None) -> CandidatePublic:
    return CandidatePublic(
        model_available=c.id in (with_model or set()),
        id=c.id,
        search_id=c.search_id,
        generation=c.generation,
        index=c.index,
        status=c.status,
        genome=c.genome,
        genome_hash=c.genome_hash,
        origin=c.origin,
        detail=c.detail,
        parents=list(c.parent_ids or []),
        reused_from=c.reused_from_id,
        attempts=c.attempts,
        val_accuracy=c.val_accuracy,
        metrics=c.metrics or {},
        params=c.params,
        flops=c.flops,
        error=c.error,
        worker=c.worker,
        started_at=c.started_at,
        finished_at=c.finished_at,
        duration_s=c.duration_s,
    )


def _summary(c: Candidate | None) -> BestSummary | None:
    if c is None:
        return None
    return BestSummary(
        candidate_id=c.id,
        generation=c.generation,
        index=c.index,
        val_accuracy=c.val_accuracy,
        params=c.params,
        flops=c.flops,
    )


def _progress(search: Search, done: int) -> Progress:
    total = max(search.candidates_total, done)
    fraction = done / total if total else 0.0
    if search.status in TERMINAL:
        fraction = 1.0 if search.status == "succeeded" else fraction
    elapsed = eta = None
    if search.started_at is not None:
        end = search.finished_at or datetime.now(UTC)
        elapsed = max(0.0, (end - search.started_at).total_seconds())
        if search.status not in TERMINAL and done and total > done:
            eta = elapsed / done * (total - done)
    return Progress(
        generation=search.generation,
        generations=int(search.config.get("generations", 0)),
        candidates_done=done,
        candidates_total=total,
        fraction=round(fraction, 4),
        elapsed_s=elapsed,
        eta_s=eta,
    )


def _baseline_note(search: Search, baseline: Candidate | None) -> str | None:
    """Why the seed's CNN is not among the candidates, so the page need not guess."""
    if baseline is not None:
        return None
    if not search.config.get("include_baseline", True):
        return "not requested"
    if search.engine_state is None:
        return "not proposed yet"
    return "outside this search space (its layers are not all allowed choices) or input"


def search_public(session: Session, search: Search) -> SearchPublic:
    done = session.scalar(
        select(func.count())
        .select_from(Candidate)
        .where(Candidate.search_id == search.id, Candidate.status.in_(DONE))
    )
    best = session.get(Candidate, search.best_candidate_id) if search.best_candidate_id else None
    baseline = session.scalar(
        select(Candidate).where(
            Candidate.search_id == search.id, Candidate.origin == BASELINE_ORIGIN
        )
    )
    has_model = session.scalar(
        select(func.count())
        .select_from(Artifact)
        .where(Artifact.search_id == search.id, Artifact.kind == BEST_MODEL)
    )
    return SearchPublic(
        id=search.id,
        name=search.name,
        dataset=search.dataset,
        strategy=search.strategy,
        status=search.status,  # type: ignore[arg-type]
        phase=search.phase,
        config=search.config,
        progress=_progress(search, int(done or 0)),
        best=_summary(best),
        baseline=_summary(baseline),
        final=search.final_metrics,
        model_available=bool(has_model),
        last_event_id=search.event_seq,
        baseline_note=_baseline_note(search, baseline),
        error=search.error,
        created_at=search.created_at,
        started_at=search.started_at,
        finished_at=search.finished_at,
    )
