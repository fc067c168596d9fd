"""A search: what the user asked for, where the engine stands, and how it ended."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, JSONType, utcnow
from backend.db.types import UTCDateTime

QUEUED, RUNNING, PAUSED = "queued", "running", "paused"
SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})
# States in which a candidate already training may go on (a pause lets it finish).
ACTIVE = frozenset({RUNNING, PAUSED})
STATUSES = (QUEUED, RUNNING, PAUSED, SUCCEEDED, FAILED, CANCELLED)

# Phases of a running search: evolving candidates, optionally confirming the best few with
# longer training (backend.search.confirm), then the final training of the best.
PHASE_SEARCH, PHASE_CONFIRM, PHASE_FINAL = "search", "confirm", "final"


class Search(Base):
    __tablename__ = "searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    dataset: Mapped[str] = mapped_column(String(100))
    strategy: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=QUEUED, index=True)
    phase: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The validated request (search space included) exactly as accepted.
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # The engine's JSON state after its last ask(): population, generation, rng state.
    engine_state: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    candidates_total: Mapped[int] = mapped_column(Integer, default=0)
    # Last event sequence number: bumped under the row lock, so per-search event order is commit
    # order even with concurrent writers (a global autoincrement id is not, on PostgreSQL).
    event_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # No foreign key: candidates reference searches, and a cycle would complicate migrations.
    best_candidate_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    best_val_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    final_metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # When the search's own task (start/resume or final training) was last sent.
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The final training's lease: a finalize task delivered twice (a resend, a restarted
    # broker) finds it held and leaves the training to the worker that holds it.
    final_lease_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    final_lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The user it belongs to (users.id; no foreign key, so adding it rebuilds no table);
    # None for what was made in single-user mode (auth off): only admins see those then.
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def final_lease_held(self, now: datetime) -> bool:
        """Whether a worker holds the final training's lease at ``now`` (worker.final_phase)."""
        return self.final_lease_expires_at is not None and self.final_lease_expires_at > now

    def drop_final_lease(self) -> None:
        """Token and expiry go together: a final that ended or stopped holds nothing."""
        self.final_lease_token = None
        self.final_lease_expires_at = None
