"""One lookup for built-in and (later) uploaded datasets, used by API and worker."""

from __future__ import annotations

from backend.datasets.builtin import builtin_infos, get_info
from backend.datasets.info import DatasetInfo
from backend.db.session import Database


def dataset_info(db: Database | None, dataset_id: str) -> DatasetInfo | None:
    return get_info(dataset_id)


def list_datasets(db: Database | None) -> list[DatasetInfo]:
    return builtin_infos()
