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
    "workers",
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


def test_0003_keeps_searches_and_candidates_both_ways(tmp_path: Path) -> None:
    """Adding and dropping ``owner_id`` must not rebuild ``searches`` (with foreign keys on, a
    rebuild would cascade its DROP TABLE to every candidate)."""
    from backend.db.models import Candidate, Search
    from backend.db.session import Database

    url = f"sqlite:///{tmp_path / 'keep.db'}"
    upgrade(url, "0002")
    db = Database(url)
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO searches (id, name, dataset, strategy, status, config, generation, "
            "candidates_total, event_seq, created_at) VALUES "
            "(1, 's', 'digits', 'evolution', 'queued', '{}', 0, 0, 0, '2026-01-01')"
        )
        conn.exec_driver_sql(
            'INSERT INTO candidates (id, search_id, generation, "index", status, genome, '
            "genome_hash, origin, detail, parent_ids, attempts, metrics, created_at) VALUES "
            "(1, 1, 0, 0, 'pending', '{}', 'h', 'random', '', '[]', 0, '{}', '2026-01-01')"
        )
    db.engine.dispose()
    upgrade(url)
    downgrade(url, "0002")
    upgrade(url)
    db = Database(url)
    with db.read() as session:
        assert session.get(Search, 1) is not None
        assert session.get(Candidate, 1) is not None
    db.engine.dispose()
