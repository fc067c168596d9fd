"""API schemas of candidates and their learning curves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class EpochPublic(BaseModel):
    epoch: int
    train_accuracy: float | None
    train_loss: float | None
    val_accuracy: float | None
    val_loss: float | None


class CandidatePublic(BaseModel):
    id: int
    search_id: int
    generation: int
    index: int
    status: str
    genome: dict[str, Any]
    genome_hash: str
    origin: str
    detail: str
    parents: list[int]
    reused_from: int | None
    attempts: int
    val_accuracy: float | None
    metrics: dict[str, Any]
    params: int | None
    flops: int | None
    error: str | None
    worker: str | None
    model_available: bool
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None


class CandidateDetail(CandidatePublic):
    epochs: list[EpochPublic]


class CandidatesPublic(BaseModel):
    items: list[CandidatePublic]
    count: int


class CandidateSummary(BaseModel):
    """What charts of a whole search need per candidate (``?fields=summary``): no genome."""

    id: int
    generation: int
    index: int
    status: str
    origin: str
    val_accuracy: float | None
    params: int | None
    flops: int | None
    duration_s: float | None


class CandidateSummariesPublic(BaseModel):
    items: list[CandidateSummary]
    count: int


class GenerationStats(BaseModel):
    generation: int
    count: int
    completed: int
    best_val_accuracy: float | None
    mean_val_accuracy: float | None
    worst_val_accuracy: float | None
    best_val_loss: float | None
    mean_val_loss: float | None
    worst_val_loss: float | None
