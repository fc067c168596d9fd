"""Arrays of a dataset, split once with a fixed permutation so every process agrees."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Splits:
    """float32 images in [0, 1] shaped (N, H, W, C); int32 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def split_train_val(
    x: np.ndarray, y: np.ndarray, val_size: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out ``val_size`` examples by a permutation fixed by ``seed``."""
    order = np.random.default_rng(seed).permutation(len(x))
    val, train = order[:val_size], order[val_size:]
    return x[train], y[train], x[val], y[val]
