"""The schema is made only by Alembic: upgrade, downgrade to base, upgrade again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from backend.db.base import Base
from backend.db.migrate import downgrade, upgrade

TABLES = {
    "searches",
    "candidates",
    "epoch_metrics",
    "events",
    "artifacts",
    "datasets",
    "users",
    "api_tokens",
    "user_sessions",
}


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _roundtrip(url: str) -> None:
    upgrade(url)
    assert _tables(url) == TABLES
    downgrade(url, "base")
    assert _tables(url) == set()
    upgrade(url)
    assert _tables(url) == TABLES


def test_sqlite_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    _roundtrip(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.services
def test_postgres_upgrade_downgrade_upgrade(postgres_url: str) -> None:
    _roundtrip(postgres_url)


def test_models_match_migrations(tmp_path: Path) -> None:
    """Autogenerate finds nothing to do: the models and the migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = f"sqlite:///{tmp_path / 'diff.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
