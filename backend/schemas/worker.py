"""API schemas of the workers registry (GET /api/workers)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class CurrentCandidate(BaseModel):
    id: int
    search_id: int
    generation: int
    index: int


class WorkerPublic(BaseModel):
    name: str = Field(description="host:pid, as on each candidate it trained")
    hostname: str
    pid: int
    alive: bool = Field(description="heartbeat within 3 x the reconcile interval")
    device: str | None
    concurrency: int
    tf_threads: int | None
    started_at: datetime
    heartbeat_at: datetime
    current_candidate: CurrentCandidate | None = Field(
        description="what it trains now; null when idle, gone, or in another user's search"
    )
    candidates_done: int
    busy_s: float
    throughput_per_min: float = Field(
        description="candidates done per minute since it started (until its last heartbeat "
        "once it is gone)"
    )
    busy_fraction: float = Field(description="share of that time spent training (0-1)")


class WorkersPublic(BaseModel):
    items: list[WorkerPublic]
    count: int
    alive: int
