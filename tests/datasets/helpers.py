"""Build upload files in memory: npz, zips of class folders, CSV; and crafted bad ones."""

from __future__ import annotations

import io
import stat
import zipfile
from typing import Any

import numpy as np


def digits_arrays(n: int | None = None) -> dict[str, np.ndarray]:
    """scikit-learn digits as uint8 0..255 images (learnable, small), with a test split."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images * 255 / 16).round().astype(np.uint8)
    y = bunch.target.astype(np.int64)
    if n is not None:
        x, y = x[:n], y[:n]
    cut = int(len(x) * 0.8)
    return {"x_train": x[:cut], "y_train": y[:cut], "x_test": x[cut:], "y_test": y[cut:]}


def npz_bytes(**arrays: Any) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def synthetic(classes: int = 3, per_class: int = 12, side: int = 8, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), per_class)
    x = rng.integers(0, 256, size=(len(y), side, side), dtype=np.uint8)
    return x, y


def png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def jpeg_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def class_zip(
    classes: tuple[str, ...] = ("cat", "dog"), per_class: int = 12, size: tuple = (10, 12)
) -> bytes:
    """A zip of ``root/<class>/<n>.png|jpg`` images of different sizes and modes."""
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for c, name in enumerate(classes):
            zf.writestr(f"root/{name}/", b"")
            for i in range(per_class):
                base = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
                base[..., c % 3] = 255
                if i % 2:
                    zf.writestr(f"root/{name}/{i}.jpg", jpeg_bytes(base))
                else:
                    zf.writestr(f"root/{name}/{i}.png", png_bytes(base[..., 0]))
        zf.writestr("__MACOSX/._junk", b"junk")
    return buf.getvalue()


def crafted_zip(entries: list[tuple[str, bytes]], symlink: str | None = None) -> bytes:
    """A zip with exactly these entries; ``symlink`` names one entry marked as a symlink."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name == symlink:
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    return buf.getvalue()


def csv_bytes(
    x: np.ndarray, y: np.ndarray, label: str = "label", names: list | None = None
) -> bytes:
    flat = x.reshape(len(x), -1)
    header = [label] + [f"p{i}" for i in range(flat.shape[1])]
    lines = [",".join(header)]
    for row, lab in zip(flat, y, strict=True):
        value = names[lab] if names else str(int(lab))
        lines.append(",".join([value, *(str(int(v)) for v in row)]))
    return ("\n".join(lines) + "\n").encode()
