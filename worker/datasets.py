"""Datasets as the worker sees them: loaded once per process and kept, never per candidate."""

from __future__ import annotations

from functools import lru_cache

from backend.datasets.builtin import load
from backend.datasets.splits import Splits


@lru_cache(maxsize=4)
def get_splits(dataset_id: str) -> Splits:
    return load(dataset_id)
