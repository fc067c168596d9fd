"""API schema of a dataset listing."""

from __future__ import annotations

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
