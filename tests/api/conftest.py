"""An API app on a fresh, migrated SQLite database in the test's own data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.api.app import create_app
from backend.core.config import Settings
from backend.db.migrate import upgrade


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'api.db'}")
    settings.ensure_dirs()
    upgrade(settings.resolved_database_url)
    return settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client
