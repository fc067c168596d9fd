"""Datasets a search can use, and the search-space presets the form offers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backend.api.deps import DbDep
from backend.datasets.registry import list_datasets
from backend.schemas.dataset import DatasetPublic
from backend.search.space import PRESETS

router = APIRouter(tags=["datasets"])


@router.get("/datasets", response_model=list[DatasetPublic])
def get_datasets(db: DbDep) -> list[DatasetPublic]:
    return [
        DatasetPublic(
            id=info.id,
            name=info.name,
            description=info.description,
            input_shape=list(info.input_shape),
            num_classes=info.num_classes,
            class_names=list(info.class_names),
            train_size=info.train_size,
            val_size=info.val_size,
            test_size=info.test_size,
            builtin=info.builtin,
        )
        for info in list_datasets(db)
    ]


@router.get("/presets")
def get_presets() -> dict[str, Any]:
    """Search-space presets by name; ``seed`` is the seed document's space."""
    return {name: space.model_dump(mode="json") for name, space in PRESETS.items()}
