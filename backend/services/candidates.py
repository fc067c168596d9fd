"""Candidate queries: server-side sort, filter and pagination; per-generation statistics."""

from __future__ import annotations

from statistics import fmean
from typing import Any, NamedTuple

from sqlalchemy import asc, case, desc, func, select
from sqlalchemy.orm import Session

from backend.db.models import Candidate, EpochMetric, Search
from backend.db.models.candidate import SCORED
from backend.schemas.candidate import GenerationStats
from backend.search.confirm import CONFIRM_ORIGIN
from backend.services.access import Principal
from backend.services.errors import NotFound

SORTABLE = {
    "id": Candidate.id,
    "generation": Candidate.generation,
    "index": Candidate.index,
    "val_accuracy": Candidate.val_accuracy,
    "params": Candidate.params,
    "flops": Candidate.flops,
    "duration_s": Candidate.duration_s,
}

# What ``?fields=summary`` reads: no genome, metrics or text columns.
SUMMARY_COLUMNS = (
    Candidate.id,
    Candidate.generation,
    Candidate.index,
    Candidate.status,
    Candidate.origin,
    Candidate.val_accuracy,
    Candidate.params,
    Candidate.flops,
    Candidate.duration_s,
)


class Page(NamedTuple):
    offset: int
    limit: int
    sort: str
    order: str
    status: str | None
    generation: int | None


def _page(session: Session, search_id: int, what: Any, page: Page) -> tuple[Any, int]:
    where = [Candidate.search_id == search_id]
    if page.status:
        where.append(Candidate.status == page.status)
    if page.generation is not None:
        where.append(Candidate.generation == page.generation)
    total = session.scalar(select(func.count()).select_from(Candidate).where(*where)) or 0
    column = SORTABLE[page.sort]
    direction = desc if page.order == "desc" else asc
    stmt = (
        select(*what)
        .where(*where)
        .order_by(direction(column).nulls_last(), Candidate.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    return session.execute(stmt), total


def list_candidates(
    session: Session,
    search_id: int,
    *,
    offset: int,
    limit: int,
    sort: str,
    order: str,
    status: str | None,
    generation: int | None,
) -> tuple[list[Candidate], int]:
    page = Page(offset, limit, sort, order, status, generation)
    result, total = _page(session, search_id, (Candidate,), page)
    return list(result.scalars()), total


def list_summaries(
    session: Session, search_id: int, page: Page
) -> tuple[list[dict[str, Any]], int]:
    """Like ``list_candidates``, as plain dicts of ``SUMMARY_COLUMNS`` (no ORM objects: a
    chart of thousands of candidates reads them in one cheap query)."""
    result, total = _page(session, search_id, SUMMARY_COLUMNS, page)
    return [dict(row._mapping) for row in result], total


def get_candidate(
    session: Session, candidate_id: int, viewer: Principal | None = None
) -> Candidate:
    """The candidate, if it exists and ``viewer`` (None: internal use) may see its search."""
    candidate = session.get(Candidate, candidate_id)
    if candidate is not None and viewer is not None and not viewer.is_admin:
        owner = session.scalar(select(Search.owner_id).where(Search.id == candidate.search_id))
        if not viewer.can_see(owner):
            candidate = None
    if candidate is None:
        raise NotFound(f"candidate {candidate_id} not found")
    return candidate


def epochs_of(session: Session, candidate_id: int) -> list[EpochMetric]:
    stmt = (
        select(EpochMetric)
        .where(EpochMetric.candidate_id == candidate_id)
        .order_by(EpochMetric.epoch)
    )
    return list(session.scalars(stmt))


def generation_stats(session: Session, search_id: int) -> list[GenerationStats]:
    """Per-generation best/mean/worst, aggregated by the database in one grouped query (the
    detail page asks for it on every load; 5,000 candidates' metrics are not parsed here)."""
    scored = Candidate.status.in_(SCORED)
    acc = case((scored, Candidate.val_accuracy))
    loss = case((scored, Candidate.metrics["val_loss"].as_float()))
    rows = session.execute(
        select(
            Candidate.generation,
            func.count(),
            func.sum(case((scored, 1), else_=0)),
            func.max(acc),
            func.avg(acc),
            func.min(acc),
            func.min(loss),
            func.avg(loss),
            func.max(loss),
        )
        # confirmations (longer re-trainings of the best few) are not a generation of search
        .where(Candidate.search_id == search_id, Candidate.origin != CONFIRM_ORIGIN)
        .group_by(Candidate.generation)
        .order_by(Candidate.generation)
    ).all()
    return [
        GenerationStats(
            generation=gen,
            count=count,
            completed=int(completed or 0),
            best_val_accuracy=best,
            mean_val_accuracy=float(mean) if mean is not None else None,
            worst_val_accuracy=worst,
            best_val_loss=best_loss,
            mean_val_loss=float(mean_loss) if mean_loss is not None else None,
            worst_val_loss=worst_loss,
        )
        for gen, count, completed, best, mean, worst, best_loss, mean_loss, worst_loss in rows
    ]


def stats_for(generation: int, items: list[tuple[str, float | None, dict]]) -> GenerationStats:
    accs = [a for s, a, _ in items if s in SCORED and a is not None]
    losses = [m["val_loss"] for s, _, m in items if s in SCORED and m.get("val_loss") is not None]
    return GenerationStats(
        generation=generation,
        count=len(items),
        completed=sum(1 for s, _, _ in items if s in SCORED),
        best_val_accuracy=max(accs) if accs else None,
        mean_val_accuracy=fmean(accs) if accs else None,
        worst_val_accuracy=min(accs) if accs else None,
        best_val_loss=min(losses) if losses else None,
        mean_val_loss=fmean(losses) if losses else None,
        worst_val_loss=max(losses) if losses else None,
    )
