"""The grouped SQL statistics agree with the per-generation Python ones the worker emits."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from backend.db.migrate import upgrade
from backend.db.models import Candidate, Search
from backend.db.session import Database
from backend.services.candidates import generation_stats, stats_for

STATUSES = ["completed", "completed", "reused", "failed", "cancelled", "pending", "running"]


def _fill(db: Database) -> int:
    rng = random.Random(5)
    with db.write() as session:
        search = Search(name="s", dataset="digits", strategy="evolution", config={"generations": 4})
        session.add(search)
        session.flush()
        for gen in range(4):
            for index in range(9):
                status = rng.choice(STATUSES)
                scored = status in {"completed", "reused"}
                metrics = {"val_loss": rng.uniform(0.1, 2.0)} if scored and index % 4 else {}
                session.add(
                    Candidate(
                        search_id=search.id,
                        generation=gen,
                        index=index,
                        status=status,
                        genome={"nodes": []},
                        genome_hash=f"{gen}-{index}",
                        val_accuracy=rng.uniform(0, 1) if scored or index == 0 else None,
                        metrics=metrics,
                    )
                )
        return search.id


def _check(url: str) -> None:
    upgrade(url)
    db = Database(url)
    search_id = _fill(db)
    with db.read() as session:
        got = generation_stats(session, search_id)
        rows = session.query(Candidate).filter_by(search_id=search_id).all()
    db.engine.dispose()
    expected = [
        stats_for(g, [(c.status, c.val_accuracy, c.metrics) for c in rows if c.generation == g])
        for g in range(4)
    ]
    assert [s.generation for s in got] == [0, 1, 2, 3]
    for mine, theirs in zip(got, expected, strict=True):
        for field, value in theirs.model_dump().items():
            assert getattr(mine, field) == pytest.approx(value), field


def test_sqlite(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'stats.db'}")


def test_postgres(postgres_url: str) -> None:
    _check(postgres_url)
