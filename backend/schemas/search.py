"""API schemas of a search: what a client may send, and what it gets back."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from backend.search.space import SearchSpace

Strategy = Literal["evolution", "aging", "random", "nsga2"]
SearchStatus = Literal["queued", "running", "paused", "succeeded", "failed", "cancelled"]


class SearchBase(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    dataset: str = Field(
        min_length=1, max_length=100, description="A built-in or uploaded dataset id"
    )
    strategy: Strategy = "evolution"
    population_size: int = Field(default=8, ge=2, le=200)
    generations: int = Field(default=3, ge=1, le=500)
    epochs_per_candidate: int = Field(default=1, ge=1, le=100)
    batch_size: int = Field(default=128, ge=8, le=4096)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    crossover_prob: float = Field(default=0.5, ge=0.0, le=1.0)
    mutation_rate: float = Field(default=0.3, ge=0.0, le=1.0)
    tournament_size: int = Field(default=3, ge=2, le=50)
    elitism: int = Field(default=1, ge=0, le=50)
    objective: Literal["params", "flops"] = Field(
        default="params", description="nsga2's second objective, minimised"
    )
    target_accuracy: float | None = Field(default=None, gt=0.0, le=1.0)
    time_budget_s: float | None = Field(default=None, gt=0.0, le=7 * 24 * 3600)
    final_epochs: int | None = Field(
        default=None, ge=1, le=200, description="Epochs of the best genome's final training"
    )
    confirm_top: int = Field(
        default=0,
        ge=0,
        le=16,
        description=(
            "After the search phase, train the best N distinct genomes on to confirm_epochs"
            " (each from its candidate's saved model) and retrain the best of those (0: off,"
            " else at least 2)"
        ),
    )
    confirm_epochs: int | None = Field(
        default=None,
        ge=1,
        le=200,
        description=(
            "Epochs a confirmed genome has trained in all (its candidate's included);"
            " default final_epochs. Equal to epochs_per_candidate: each pick trains again"
            " from scratch under another seed and ranks by the mean of its two scores"
        ),
    )
    early_stop: bool = Field(
        default=False,
        description=(
            "Stop a candidate after an epoch when its validation accuracy is below"
            " early_stop_quantile of the candidates that reached that epoch (the median-stopping"
            " rule), or no better than guessing (within 5% of chance, peers or not); its result"
            " is kept, scored at that epoch"
        ),
    )
    early_stop_quantile: float = Field(
        default=0.5, gt=0.0, lt=1.0, description="0.5: stop below the median"
    )
    early_stop_min_peers: int = Field(
        default=5, ge=1, le=1000, description="Peers needed at an epoch before anyone is stopped"
    )
    early_stop_rung_steps: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description=(
            "With early_stop: judge each candidate once more inside its first epoch, after this"
            " many optimizer steps (the worker's are counted 16 at a time), against the"
            " candidates that reached the same point, by the same rule; one stopped there is"
            " scored there. None: after whole epochs only"
        ),
    )
    include_baseline: bool = Field(
        default=True, description="Train the seed's hand-designed CNN as candidate 0"
    )
    warm_start: bool = Field(
        default=False,
        description=(
            "Fill the rest of the first generation with mutations of the seed's CNN instead of"
            " random genomes (needs include_baseline; random when the CNN is outside the space)"
        ),
    )
    search_space: SearchSpace | None = Field(
        default=None, description="Defaults to the seed's space (preset 'seed')"
    )
    mixed_precision: bool = Field(
        default=False,
        description="Train candidates in mixed float16 (float32 softmax); pays on GPUs only",
    )
    jit_compile: bool = Field(
        default=False, description="Compile candidates' training steps with XLA; pays on GPUs"
    )


class SearchCreate(SearchBase):
    """Body of ``POST /api/searches``; unknown fields (owner, status, id...) are ignored."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("elitism")
    @classmethod
    def _elitism_below_population(cls, value: int, info: ValidationInfo) -> int:
        population = info.data.get("population_size")
        if population is not None and value >= population:
            raise ValueError("elitism must be smaller than population_size")
        return value

    @field_validator("confirm_top")
    @classmethod
    def _confirm_two_or_none(cls, value: int) -> int:
        if value == 1:
            raise ValueError("confirm_top must be 0 (off) or at least 2: one has nothing to rank")
        return value

    @field_validator("warm_start")
    @classmethod
    def _warm_start_needs_baseline(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("include_baseline") is False:
            raise ValueError("warm_start mutates the seed's CNN: it needs include_baseline")
        return value

    @field_validator("early_stop_rung_steps")
    @classmethod
    def _rung_needs_early_stop(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("early_stop") is False:
            raise ValueError(
                "early_stop_rung_steps judges by the early stop's rule: it needs early_stop"
            )
        return value

    @field_validator("tournament_size")
    @classmethod
    def _tournament_within_population(cls, value: int, info: ValidationInfo) -> int:
        population = info.data.get("population_size")
        if population is not None and value > population:
            raise ValueError("tournament_size must not exceed population_size")
        return value


class Progress(BaseModel):
    generation: int
    generations: int
    candidates_done: int
    candidates_total: int
    fraction: float
    elapsed_s: float | None
    eta_s: float | None


class BestSummary(BaseModel):
    candidate_id: int
    generation: int
    index: int
    val_accuracy: float | None
    params: int | None
    flops: int | None


class SearchPublic(BaseModel):
    id: int
    name: str
    dataset: str
    strategy: str
    status: SearchStatus
    phase: str | None
    config: dict[str, Any]
    progress: Progress
    best: BestSummary | None
    baseline: BestSummary | None
    final: dict[str, Any] | None
    model_available: bool
    last_event_id: int
    baseline_note: str | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SearchesPublic(BaseModel):
    items: list[SearchPublic]
    count: int
