"""A training process: where it runs, on what device, what it trains now, what it has done.

One row per process that trains (a Celery pool process), keyed by ``name`` = ``host:pid`` —
the same id the runner stamps on each candidate it claims (``Candidate.worker``). The process
registers itself at start, heartbeats while it lives and counts its work in the transactions
the runner already holds (claim, result). ``current_candidate_id`` is a plain integer, not a
foreign key: a worker's row must never hold up a write to a candidate.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, utcnow
from backend.db.types import UTCDateTime


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    # "GPU: NVIDIA H200", "CPU: <model name>"; None until the process has looked.
    device: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The Celery worker's pool size this process belongs to, and its TensorFlow threads.
    concurrency: Mapped[int] = mapped_column(Integer, default=1)
    tf_threads: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    current_candidate_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    candidates_done: Mapped[int] = mapped_column(Integer, default=0)
    # Seconds of training work (the evaluator's time, without our hooks) over all candidates.
    busy_s: Mapped[float] = mapped_column(Float, default=0.0)
