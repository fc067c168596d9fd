"""Datasets as the worker sees them: loaded once per process and kept, never per candidate.

Built-ins come from ``backend.datasets.builtin``; uploads from the normalized .npz the API
stored under ``<data_dir>/datasets/<id>.npz``, read with ``allow_pickle=False``.
"""

from __future__ import annotations

from functools import lru_cache

from backend.core.config import get_settings
from backend.datasets.builtin import get_info, load
from backend.datasets.registry import is_upload_id
from backend.datasets.splits import Splits, array_checksum, load_npz


@lru_cache(maxsize=4)
def get_splits(dataset_id: str) -> Splits:
    if get_info(dataset_id) is not None:
        return load(dataset_id)
    if not is_upload_id(dataset_id):
        raise KeyError(f"unknown dataset {dataset_id!r}")
    path = get_settings().data_dir / "datasets" / f"{dataset_id}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"dataset {dataset_id!r} has no stored arrays at {path}")
    return load_npz(str(path))


@lru_cache(maxsize=8)
def checksum(dataset_id: str) -> str:
    """sha256 of the arrays the worker trains on (built-ins and uploads alike)."""
    return array_checksum(get_splits(dataset_id))
