"""API schemas of datasets: the listing (built-ins and uploads) and an upload's detail."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class DatasetPublic(BaseModel):
    id: str
    name: str
    description: str
    input_shape: list[int]
    num_classes: int
    class_names: list[str]
    train_size: int
    val_size: int
    test_size: int
    builtin: bool
    checksum: str | None = None
    preview_url: str | None = None


class SplitPolicy(BaseModel):
    val_fraction: float
    stratified: bool
    seed: int
    # "upload": the file's own x_test/y_test; "held_out": split off by the same policy.
    test_source: str


class DatasetDetail(DatasetPublic):
    """An upload, as recorded: where it came from, counts per class, checksum, split policy."""

    source_format: str
    source_filename: str
    source_sha256: str
    class_counts: dict[str, list[int]]
    split: SplitPolicy
    size: int
    created_at: datetime
