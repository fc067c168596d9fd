"""What the API needs to know about a dataset without loading its arrays."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DatasetInfo:
    id: str
    name: str
    description: str
    input_shape: tuple[int, int, int]
    num_classes: int
    class_names: tuple[str, ...]
    train_size: int
    val_size: int
    test_size: int
    builtin: bool = True
    tags: tuple[str, ...] = field(default_factory=tuple)
    # sha256 of the normalized arrays (``splits.array_checksum``); uploads know it at once,
    # built-ins only once a worker has loaded them (it is in their model cards).
    checksum: str | None = None
