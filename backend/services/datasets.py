"""Dataset use cases: accept an upload (validate, store, record), read, preview, delete.

An upload is all or nothing: the arrays and the preview are written to temporary names,
moved into place inside the transaction that inserts the row, and removed again if anything
fails, so a refused or failed upload leaves no file and no row behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import uuid
from pathlib import Path
from typing import IO

import numpy as np
from sqlalchemy import func, select

from backend.core.config import Settings
from backend.core.logging import log
from backend.datasets import builtin
from backend.datasets.ingest import Prepared, UploadOptions, prepare
from backend.datasets.registry import is_upload_id
from backend.datasets.splits import Splits, save_npz
from backend.db.models import Dataset, Search
from backend.db.models.dataset import TEST_FROM_UPLOAD, TEST_HELD_OUT
from backend.db.models.search import QUEUED, RUNNING
from backend.db.session import Database
from backend.services.access import Principal
from backend.services.artifacts import tmp_beside
from backend.services.errors import Conflict, NotFound, TooMany

logger = logging.getLogger(__name__)

DATASETS_DIR = "datasets"
PREVIEW_PER_CLASS = 8
PREVIEW_MAX_CLASSES = 20
PREVIEW_CELL = 32  # pixels per sample (upscaled with nearest neighbours)


def datasets_dir(settings: Settings) -> Path:
    path = settings.data_dir / DATASETS_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-") or "dataset"
    return f"{slug}-{secrets.token_hex(4)}"


def sha256_of_handle(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


def create_dataset(
    db: Database,
    settings: Settings,
    *,
    handle: IO[bytes],
    filename: str,
    name: str,
    description: str,
    options: UploadOptions,
    owner_id: int | None = None,
) -> str:
    """Validate and store an upload; returns the new dataset's id. Raises ``UploadError``."""
    if owner_id is not None:
        with db.read() as session:
            held = (
                session.scalar(
                    select(func.count()).select_from(Dataset).where(Dataset.owner_id == owner_id)
                )
                or 0
            )
        if held >= settings.max_datasets_per_user:
            raise TooMany(
                f"you already have {held} uploaded datasets (the limit is "
                f"{settings.max_datasets_per_user}); delete one first"
            )
    source_sha = sha256_of_handle(handle)
    prepared = prepare(handle, filename, options)
    folder = datasets_dir(settings)
    dataset_id = new_id(name)
    final_npz, final_png = folder / f"{dataset_id}.npz", folder / f"{dataset_id}.png"
    token = uuid.uuid4().hex
    tmp_npz, tmp_png = folder / f".{token}.tmp.npz", folder / f".{token}.tmp.png"
    placed: list[Path] = []
    try:
        save_npz(prepared.splits, str(tmp_npz))
        tmp_png.write_bytes(preview_png(prepared.splits, len(prepared.class_names)))
        with db.write() as session:
            session.add(
                _row(
                    dataset_id,
                    name,
                    description,
                    filename,
                    source_sha,
                    prepared,
                    options,
                    tmp_npz.stat().st_size,
                    owner_id,
                )
            )
            session.flush()
            os.replace(tmp_npz, final_npz)
            placed.append(final_npz)
            os.replace(tmp_png, final_png)
            placed.append(final_png)
    except BaseException:
        for path in (tmp_npz, tmp_png, *placed):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        raise
    log(
        logger,
        "dataset uploaded",
        dataset=dataset_id,
        format=prepared.source_format,
        shape=list(prepared.input_shape),
        classes=len(prepared.class_names),
        train=len(prepared.splits.y_train),
    )
    return dataset_id


def _row(
    dataset_id: str,
    name: str,
    description: str,
    filename: str,
    source_sha: str,
    prepared: Prepared,
    options: UploadOptions,
    size: int,
    owner_id: int | None,
) -> Dataset:
    s = prepared.splits
    return Dataset(
        id=dataset_id,
        name=name,
        description=description,
        source_format=prepared.source_format,
        source_filename=Path(filename).name[:255],
        source_sha256=source_sha,
        input_shape=list(prepared.input_shape),
        num_classes=len(prepared.class_names),
        class_names=prepared.class_names,
        train_size=len(s.y_train),
        val_size=len(s.y_val),
        test_size=len(s.y_test),
        class_counts=prepared.class_counts,
        sha256=prepared.checksum,
        val_fraction=options.val_fraction,
        stratified=options.stratified,
        split_seed=options.split_seed,
        test_source=TEST_FROM_UPLOAD if prepared.test_from_upload else TEST_HELD_OUT,
        path=f"{DATASETS_DIR}/{dataset_id}.npz",
        size=size,
        preview_path=f"{DATASETS_DIR}/{dataset_id}.png",
        owner_id=owner_id,
    )


def get_dataset(db: Database, dataset_id: str, viewer: Principal | None = None) -> Dataset | None:
    """An upload's row, if it exists and ``viewer`` (None: internal use) may see it."""
    if not is_upload_id(dataset_id):
        return None
    with db.read() as session:
        row = session.get(Dataset, dataset_id)
    if row is not None and viewer is not None and not viewer.can_see(row.owner_id):
        return None
    return row


def dataset_visible(db: Database, dataset_id: str, viewer: Principal) -> bool:
    """Built-ins are everyone's; an upload is its owner's (and the admins')."""
    if builtin.get_info(dataset_id) is not None:
        return True
    return get_dataset(db, dataset_id, viewer) is not None


def visible_upload_ids(db: Database, viewer: Principal) -> set[str]:
    with db.read() as session:
        return set(session.scalars(viewer.scope(select(Dataset.id), Dataset.owner_id)))


def searches_using(db: Database, dataset_id: str) -> list[int]:
    with db.read() as session:
        return list(
            session.scalars(
                select(Search.id)
                .where(Search.dataset == dataset_id, Search.status.in_([QUEUED, RUNNING]))
                .order_by(Search.id)
            )
        )


def delete_dataset(
    db: Database, settings: Settings, dataset_id: str, viewer: Principal | None = None
) -> None:
    """Remove an upload's row and files; refused while a queued or running search uses it."""
    if builtin.get_info(dataset_id) is not None:
        raise Conflict(f"{dataset_id!r} is a built-in dataset and cannot be deleted")
    if not is_upload_id(dataset_id):
        raise NotFound(f"dataset {dataset_id!r} not found")
    with db.write() as session:
        row = session.get(Dataset, dataset_id)
        if row is None or (viewer is not None and not viewer.can_see(row.owner_id)):
            raise NotFound(f"dataset {dataset_id!r} not found")
        busy = list(
            session.scalars(
                select(Search.id)
                .where(Search.dataset == dataset_id, Search.status.in_([QUEUED, RUNNING]))
                .order_by(Search.id)
            )
        )
        if busy:
            raise Conflict(
                f"dataset {dataset_id!r} is used by queued or running searches "
                f"{', '.join(map(str, busy))}; cancel them or wait until they end"
            )
        paths = [row.path, row.preview_path]
        session.delete(row)
    root = settings.data_dir.resolve()
    for rel in paths:
        path = (settings.data_dir / rel).resolve()
        if root in path.parents:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    log(logger, "dataset deleted", dataset=dataset_id)


def preview_path(
    db: Database, settings: Settings, dataset_id: str, viewer: Principal | None = None
) -> Path:
    """The preview grid's file; built-ins get theirs made once and cached in the data dir."""
    if builtin.get_info(dataset_id) is not None:
        path = datasets_dir(settings) / f"builtin-{dataset_id}.png"
        if not path.is_file():
            try:
                splits = builtin.load(dataset_id)
            except FileNotFoundError as exc:
                raise NotFound(str(exc)) from exc
            info = builtin.get_info(dataset_id)
            assert info is not None
            tmp = tmp_beside(path)
            tmp.write_bytes(preview_png(splits, info.num_classes))
            os.replace(tmp, path)
        return path
    row = get_dataset(db, dataset_id, viewer)
    if row is None:
        raise NotFound(f"dataset {dataset_id!r} not found")
    path = (settings.data_dir / row.preview_path).resolve()
    if not path.is_file() or settings.data_dir.resolve() not in path.parents:
        raise NotFound(f"the preview of dataset {dataset_id!r} is missing")
    return path


def preview_png(splits: Splits, num_classes: int) -> bytes:
    """A grid: one row per class (first 20), up to 8 training samples each, upscaled."""
    import io

    from PIL import Image

    x, y = splits.x_train, splits.y_train
    h, w, c = x.shape[1:]
    scale = max(1, PREVIEW_CELL // max(h, w))
    cell_h, cell_w, gap = h * scale, w * scale, 2
    rows = min(num_classes, PREVIEW_MAX_CLASSES)
    grid = np.full(
        (rows * (cell_h + gap) + gap, PREVIEW_PER_CLASS * (cell_w + gap) + gap, 3),
        255,
        dtype=np.uint8,
    )
    for cls in range(rows):
        for col, idx in enumerate(np.flatnonzero(y == cls)[:PREVIEW_PER_CLASS]):
            image = (np.clip(x[idx], 0.0, 1.0) * 255).round().astype(np.uint8)
            if c == 1:
                image = np.repeat(image, 3, axis=2)
            image = image.repeat(scale, axis=0).repeat(scale, axis=1)
            top, left = gap + cls * (cell_h + gap), gap + col * (cell_w + gap)
            grid[top : top + cell_h, left : left + cell_w] = image
    out = io.BytesIO()
    Image.fromarray(grid).save(out, format="PNG")
    return out.getvalue()
