"""One lookup for built-in and uploaded datasets, used by the API and the worker alike."""

from __future__ import annotations

import re

from sqlalchemy import select

from backend.datasets.builtin import builtin_infos, get_info
from backend.datasets.info import DatasetInfo
from backend.db.models import Dataset
from backend.db.session import Database

# Upload ids: a slug and a random suffix; checked before an id ever becomes a file name.
UPLOAD_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def is_upload_id(dataset_id: str) -> bool:
    return bool(UPLOAD_ID.match(dataset_id)) and get_info(dataset_id) is None


def upload_info(row: Dataset) -> DatasetInfo:
    h, w, c = (int(d) for d in row.input_shape)
    return DatasetInfo(
        id=row.id,
        name=row.name,
        description=row.description,
        input_shape=(h, w, c),
        num_classes=row.num_classes,
        class_names=tuple(row.class_names),
        train_size=row.train_size,
        val_size=row.val_size,
        test_size=row.test_size,
        builtin=False,
        tags=("upload", row.source_format),
        checksum=row.sha256,
    )


def dataset_info(db: Database | None, dataset_id: str) -> DatasetInfo | None:
    info = get_info(dataset_id)
    if info is not None or db is None or not is_upload_id(dataset_id):
        return info
    with db.read() as session:
        row = session.get(Dataset, dataset_id)
        return upload_info(row) if row is not None else None


def list_datasets(db: Database | None) -> list[DatasetInfo]:
    infos = builtin_infos()
    if db is not None:
        with db.read() as session:
            rows = session.scalars(select(Dataset).order_by(Dataset.created_at, Dataset.id))
            infos += [upload_info(row) for row in rows]
    return infos
