"""Confirmations train on from their candidates' saved models (``worker.resume``).

In-process, on digits: the model a confirmation loads is the one the candidate saved (same
score, same optimizer step count), training on adds only the missing epochs, a file that is
gone or changed is not loaded (the confirmation trains from scratch), and a ``.keras`` file
holding code is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")

from backend.search.space import baseline_genome  # noqa: E402


@pytest.fixture(scope="module")
def digits() -> Any:
    from worker.datasets import get_splits

    return get_splits("digits")


def _train(genome: dict[str, Any], data: Any, epochs: int, **kw: Any) -> Any:
    from worker import evaluator

    return evaluator.train_candidate(genome, data, 10, epochs=epochs, batch_size=64, seed=7, **kw)


def test_a_confirmation_trains_on_from_the_saved_model_and_its_optimizer_state(
    digits: Any, tmp_path: Path
) -> None:
    from worker import evaluator

    genome = baseline_genome((8, 8, 1))
    first = _train(genome, digits, 2)
    path = tmp_path / "candidate.keras"
    evaluator.save_keras(first.model, path)
    loaded = evaluator.load_for_resume(path)
    # the same model: its score and the optimizer's step count came along
    steps = 2 * int(np.ceil(len(digits.x_train) / 64))
    assert int(loaded.optimizer.iterations.numpy()) == steps
    again = loaded.evaluate(digits.x_val, digits.y_val, batch_size=64, verbose=0, return_dict=True)
    assert again["accuracy"] == pytest.approx(first.metrics["val_accuracy"], abs=1e-6)

    seen: list[int] = []

    def record(epoch: int, point: dict[str, float]) -> bool:
        seen.append(epoch)
        return True

    resumed = _train(
        genome,
        digits,
        4,
        resume=loaded,
        initial_epoch=2,
        on_epoch=record,
    )
    assert seen == [3, 4]  # epochs numbered on from the candidate's
    assert resumed.metrics["epochs_trained"] == 2.0
    assert resumed.metrics["resumed_at"] == 2.0
    assert int(resumed.model.optimizer.iterations.numpy()) == 2 * steps
    # it learned on: better than where it started, not a fresh 2-epoch model
    assert resumed.history[-1]["train_loss"] < first.history[-1]["train_loss"]


def test_a_keras_file_holding_code_is_refused(tmp_path: Path) -> None:
    from worker import evaluator

    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2)])
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match=r"(?i)lambda|safe"):
        evaluator.load_for_resume(path)


@pytest.fixture()
def db_with_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, digits: Any) -> Iterator[Any]:
    """A search with one trained candidate (its model saved and registered like the
    worker's) and a confirmation of it, in a fresh SQLite database."""
    from backend.core.config import get_settings
    from backend.db.migrate import upgrade
    from backend.db.models import Artifact, Candidate, EpochMetric, Search
    from backend.db.models.artifact import CANDIDATE_MODEL
    from backend.db.session import Database
    from backend.search.confirm import CONFIRM_ORIGIN
    from backend.search.genome import genome_hash
    from backend.services.artifacts import sha256_of
    from worker import evaluator

    monkeypatch.setenv("NASBOARD_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'resume.db'}"
    upgrade(url)
    db = Database(url)
    genome = baseline_genome((8, 8, 1))
    trained = _train(genome, digits, 2)
    rel = "artifacts/search_1/candidate_1.keras"
    evaluator.save_keras(trained.model, get_settings().data_dir / rel)
    with db.write() as session:
        search = Search(name="resume", dataset="digits", strategy="evolution", config={"seed": 1})
        session.add(search)
        session.flush()
        common = {"search_id": search.id, "genome": genome, "genome_hash": genome_hash(genome)}
        source = Candidate(
            generation=0,
            index=0,
            status="completed",
            metrics={"epochs_trained": 2.0},
            **common,
        )
        session.add(source)
        session.flush()
        for epoch, point in enumerate(trained.history, start=1):
            session.add(EpochMetric(candidate_id=source.id, epoch=epoch, **point))
        path = get_settings().data_dir / rel
        session.add(
            Artifact(
                search_id=search.id,
                candidate_id=source.id,
                kind=CANDIDATE_MODEL,
                format="keras",
                path=rel,
                sha256=sha256_of(path),
                size=path.stat().st_size,
            )
        )
        confirmation = Candidate(
            generation=1,
            index=0,
            origin=CONFIRM_ORIGIN,
            parent_ids=[source.id],
            lease_token="lease",
            **common,
        )
        session.add(confirmation)
        session.flush()
        ids = (search.id, source.id, confirmation.id)
    yield db, ids, get_settings().data_dir / rel, trained
    db.engine.dispose()
    get_settings.cache_clear()


def _claim(db: Any, ids: tuple[int, int, int], epochs: int) -> Any:
    from backend.db.models import Candidate
    from worker import runner
    from worker.resume import resume_point

    search_id, _, confirmation_id = ids
    with db.read() as session:
        confirmation = session.get(Candidate, confirmation_id)
        point = resume_point(session, confirmation, epochs)
    return runner.Claim(
        candidate_id=confirmation_id,
        search_id=search_id,
        token="lease",
        attempt=1,
        generation=1,
        index=0,
        genome=baseline_genome((8, 8, 1)),
        seed=1,
        dataset="digits",
        epochs=epochs,
        batch_size=64,
        resume=point,
    )


def _curve(db: Any, candidate_id: int) -> list[tuple[int, float | None]]:
    from sqlalchemy import select

    from backend.db.models import EpochMetric

    with db.read() as session:
        rows = session.scalars(
            select(EpochMetric)
            .where(EpochMetric.candidate_id == candidate_id)
            .order_by(EpochMetric.epoch)
        )
        return [(r.epoch, r.val_accuracy) for r in rows]


def test_the_worker_resumes_the_registered_model_and_carries_its_curve(
    db_with_source: Any,
) -> None:
    from worker.tasks import _resume_model

    db, ids, _, trained = db_with_source
    claim = _claim(db, ids, 4)
    assert claim.resume is not None and claim.resume.epochs == 2
    model = _resume_model(db, claim)
    assert model is not None
    assert int(model.optimizer.iterations.numpy()) > 0
    # the confirmation's curve starts with its source's two epochs
    assert _curve(db, ids[2]) == _curve(db, ids[1])
    assert [p for _, p in _curve(db, ids[2])] == [h["val_accuracy"] for h in trained.history]
    # no longer than the candidate: nothing to resume, it trains from scratch
    assert _claim(db, ids, 2).resume is None


def test_a_changed_or_missing_model_is_not_loaded_and_trains_from_scratch(
    db_with_source: Any,
) -> None:
    from worker.tasks import _resume_model

    db, ids, path, _ = db_with_source
    claim = _claim(db, ids, 4)
    path.write_bytes(path.read_bytes() + b"\0")  # not the file the worker recorded
    assert _resume_model(db, claim) is None
    assert _curve(db, ids[2]) == []  # nothing carried
    path.unlink()
    assert _resume_model(db, claim) is None
