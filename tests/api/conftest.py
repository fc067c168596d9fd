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


# ---- authentication required: three users, each with a token ----------------------------


class Team:
    """Users alice and bob (plain) and root (admin) on an auth-required app, with tokens."""

    def __init__(self, settings: Settings) -> None:
        from backend.db.session import get_database
        from backend.services import users

        self.db = get_database(settings.resolved_database_url)
        self.ids: dict[str, int] = {}
        self.tokens: dict[str, str] = {}
        for name, admin in (("alice", False), ("bob", False), ("root", True)):
            self.ids[name] = users.create_user(
                self.db, name, password=f"{name}-password", is_admin=admin
            )
            self.tokens[name] = users.create_token(self.db, name, name="test")[1]

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture
def auth_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"auth": "required", "max_active_searches": 3})


@pytest.fixture
def team(auth_settings: Settings) -> Team:
    return Team(auth_settings)


@pytest.fixture
def auth_client(auth_settings: Settings, team: Team) -> Iterator[TestClient]:
    with TestClient(create_app(auth_settings)) as test_client:
        yield test_client
