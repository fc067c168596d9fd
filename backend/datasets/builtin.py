"""Built-in datasets: scikit-learn's digits (tiny, for tests and the demo) and Fashion-MNIST
from Debian's ``dataset-fashion-mnist`` package. Nothing is downloaded at run time."""

from __future__ import annotations

import gzip
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from backend.datasets.info import DatasetInfo
from backend.datasets.splits import Splits, split_train_val

SPLIT_SEED = 20260101
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

DIGITS = DatasetInfo(
    id="digits",
    name="Digits (8x8)",
    description="scikit-learn's 1,797 handwritten digits, 8x8 grayscale: fast tests and demos.",
    input_shape=(8, 8, 1),
    num_classes=10,
    class_names=tuple(str(i) for i in range(10)),
    train_size=1077,
    val_size=360,
    test_size=360,
    tags=("tiny",),
)
FASHION_MNIST = DatasetInfo(
    id="fashion-mnist",
    name="Fashion-MNIST (28x28)",
    description="Zalando's 70,000 clothing images, 28x28 grayscale; 50k/10k/10k split.",
    input_shape=(28, 28, 1),
    num_classes=10,
    class_names=FASHION_CLASSES,
    train_size=50_000,
    val_size=10_000,
    test_size=10_000,
)


def load_digits() -> Splits:
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x = (bunch.images.astype("float32") / 16.0)[..., None]
    y = bunch.target.astype("int32")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    test, rest = order[: DIGITS.test_size], order[DIGITS.test_size :]
    x_train, y_train, x_val, y_val = split_train_val(x[rest], y[rest], DIGITS.val_size, SPLIT_SEED)
    return Splits(x_train, y_train, x_val, y_val, x[test], y[test])


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (the MNIST family's format), gzip-compressed."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist(root: Path = FASHION_DIR) -> Splits:
    if not (root / "train-images-idx3-ubyte.gz").exists():
        raise FileNotFoundError(
            f"Fashion-MNIST not found under {root}: apt-get install dataset-fashion-mnist"
        )
    x = (read_idx(root / "train-images-idx3-ubyte.gz").astype("float32") / 255.0)[..., None]
    y = read_idx(root / "train-labels-idx1-ubyte.gz").astype("int32")
    x_test = (read_idx(root / "t10k-images-idx3-ubyte.gz").astype("float32") / 255.0)[..., None]
    y_test = read_idx(root / "t10k-labels-idx1-ubyte.gz").astype("int32")
    x_train, y_train, x_val, y_val = split_train_val(x, y, FASHION_MNIST.val_size, SPLIT_SEED)
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test)


BUILTINS: dict[str, tuple[DatasetInfo, Callable[[], Splits]]] = {
    DIGITS.id: (DIGITS, load_digits),
    FASHION_MNIST.id: (FASHION_MNIST, load_fashion_mnist),
}


def builtin_infos() -> list[DatasetInfo]:
    return [info for info, _ in BUILTINS.values()]


def get_info(dataset_id: str) -> DatasetInfo | None:
    entry = BUILTINS.get(dataset_id)
    return entry[0] if entry else None


def load(dataset_id: str) -> Splits:
    entry = BUILTINS.get(dataset_id)
    if entry is None:
        raise KeyError(f"unknown dataset {dataset_id!r}")
    return entry[1]()
