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


SPLIT_NAMES = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def array_checksum(splits: Splits) -> str:
    """sha256 over the six arrays (name, dtype, shape, bytes): the same for built-ins and
    uploads, and independent of how the file that holds them was compressed."""
    import hashlib

    digest = hashlib.sha256()
    for name in SPLIT_NAMES:
        array = np.ascontiguousarray(getattr(splits, name))
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save_npz(splits: Splits, path: str) -> None:
    """Compressed .npz of the six arrays (float32 images, int32 labels); no pickles."""
    np.savez_compressed(path, **{name: getattr(splits, name) for name in SPLIT_NAMES})


def load_npz(path: str) -> Splits:
    with np.load(path, allow_pickle=False) as data:
        return Splits(*(np.asarray(data[name]) for name in SPLIT_NAMES))
