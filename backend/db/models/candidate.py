"""One architecture evaluation: its genome, lineage, lease and outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, JSONType, utcnow
from backend.db.types import UTCDateTime

PENDING, RUNNING, COMPLETED, FAILED, REUSED, CANCELLED = (
    "pending",
    "running",
    "completed",
    "failed",
    "reused",
    "cancelled",
)
# A candidate in one of these states counts towards closing its generation.
DONE = frozenset({COMPLETED, FAILED, REUSED, CANCELLED})
# These carry metrics the engine can use.
SCORED = frozenset({COMPLETED, REUSED})


class Candidate(Base):
    __tablename__ = "candidates"
    __table_args__ = (
        UniqueConstraint("search_id", "generation", "index"),
        Index("ix_candidates_search_val", "search_id", "val_accuracy"),
        Index("ix_candidates_search_hash", "search_id", "genome_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    search_id: Mapped[int] = mapped_column(
        ForeignKey("searches.id", ondelete="CASCADE"), index=True
    )
    generation: Mapped[int] = mapped_column(Integer)
    index: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    genome: Mapped[dict[str, Any]] = mapped_column(JSONType)
    genome_hash: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(32), default="random")
    detail: Mapped[str] = mapped_column(Text, default="")
    parent_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    reused_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("candidates.id", ondelete="SET NULL"), nullable=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When its evaluation task was last sent; the reconciler re-sends stale pending work.
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lease_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    val_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    params: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    flops: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
