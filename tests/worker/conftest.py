"""Fixtures for the worker's tests that drive ``worker.runner`` directly, without TensorFlow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.core.config import get_settings
from backend.db.migrate import upgrade
from backend.db.session import Database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """A migrated database of each kind the product runs on: an SQLite file (the embedded
    default) and the real PostgreSQL; the data directory in ``tmp_path``."""
    monkeypatch.setenv("NASBOARD_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'worker.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade(url)
    database = Database(url)
    yield database
    database.engine.dispose()
    get_settings.cache_clear()
