"""One worker at a time trains a search's final model (``worker.final_phase``).

A finalize task delivered twice — the reconciler's re-send, or each re-sent start of a search
that is already in its final phase — once had two workers train and export the same final at
once: they raced on ``best.keras`` and the loser's error failed a search the other was about
to finish (CI, stop 27). Here, on the real databases: a second delivery finds the lease held;
a lease that expired is taken over, and from then on the first holder can record, finish and
fail nothing; a released lease is taken at once.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.core.config import get_settings
from backend.db.base import utcnow
from backend.db.migrate import upgrade
from backend.db.models import Candidate, Event, Search
from backend.db.models import search as sstate
from backend.db.session import Database
from backend.search.genome import genome_hash
from backend.search.space import baseline_genome
from backend.services import events as ev
from worker import final_phase


def _final_phase_search(db: Database) -> int:
    genome = baseline_genome((8, 8, 1))
    with db.write() as session:
        search = Search(
            name="final",
            dataset="digits",
            strategy="evolution",
            config={"seed": 3, "final_epochs": 4, "batch_size": 64},
            status=sstate.RUNNING,
            phase=sstate.PHASE_FINAL,
        )
        session.add(search)
        session.flush()
        best = Candidate(
            search_id=search.id,
            generation=0,
            index=0,
            status="completed",
            genome=genome,
            genome_hash=genome_hash(genome),
            val_accuracy=0.9,
        )
        session.add(best)
        session.flush()
        search.best_candidate_id = best.id
        return search.id


def _model_file(search_id: int) -> str:
    """The file a finishing holder registers (its bytes do not matter here)."""
    rel = f"artifacts/search_{search_id}/best.keras"
    path = get_settings().data_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"model")
    return rel


def _search(db: Database, search_id: int) -> Search:
    with db.read() as session:
        search = session.get(Search, search_id)
        assert search is not None
        session.expunge(search)
        return search


def _expire(db: Database, search_id: int) -> None:
    """What a dead worker leaves behind: a lease nobody renews any more."""
    with db.write() as session:
        search = session.get(Search, search_id)
        assert search is not None
        search.final_lease_expires_at = utcnow() - timedelta(seconds=1)


def _final_epochs(db: Database, search_id: int) -> list[int]:
    query = (
        select(Event)
        .where(Event.search_id == search_id, Event.type == ev.FINAL_EPOCH)
        .order_by(Event.seq)
    )
    with db.read() as session:
        return [int(e.payload["epoch"]) for e in session.scalars(query)]


def test_a_second_delivery_leaves_the_final_to_the_lease_holder(db: Database) -> None:
    search_id = _final_phase_search(db)
    first = final_phase.begin_final(db, search_id)
    assert first is not None and first.epochs == 4 and first.seed == 3
    assert final_phase.begin_final(db, search_id) is None  # held: not trained twice
    assert final_phase.heartbeat(db, first)
    assert final_phase.record_epoch(db, first, 1, {"loss": 0.5})
    assert final_phase.begin_final(db, search_id) is None  # still held after renewals
    assert final_phase.finish(db, first, {"test_accuracy": 0.91}, [], _model_file(search_id))
    search = _search(db, search_id)
    assert search.status == sstate.SUCCEEDED
    assert search.final_metrics is not None and search.final_metrics["test_accuracy"] == 0.91
    assert search.final_lease_token is None
    assert final_phase.begin_final(db, search_id) is None  # nothing left to train
    assert _final_epochs(db, search_id) == [1]


def test_an_expired_lease_is_taken_over_and_the_old_holder_can_change_nothing(
    db: Database,
) -> None:
    search_id = _final_phase_search(db)
    stale = final_phase.begin_final(db, search_id)
    assert stale is not None
    _expire(db, search_id)
    fresh = final_phase.begin_final(db, search_id)
    assert fresh is not None and fresh.token != stale.token
    # The old holder's training stops, its epochs are not recorded, and its error (say,
    # a file the new holder replaced under it) does not fail the search.
    assert not final_phase.heartbeat(db, stale)
    assert not final_phase.record_epoch(db, stale, 1, {"loss": 0.5})
    assert not final_phase.fail(db, stale, "final training failed: boom")
    assert not final_phase.finish(db, stale, {"test_accuracy": 0.5}, [], _model_file(search_id))
    assert _search(db, search_id).status == sstate.RUNNING
    assert final_phase.record_epoch(db, fresh, 1, {"loss": 0.4})
    assert final_phase.finish(db, fresh, {"test_accuracy": 0.92}, [], _model_file(search_id))
    search = _search(db, search_id)
    assert search.status == sstate.SUCCEEDED and search.error is None
    assert search.final_metrics is not None and search.final_metrics["test_accuracy"] == 0.92
    assert _final_epochs(db, search_id) == [1]


def test_the_holders_error_fails_the_search(db: Database) -> None:
    search_id = _final_phase_search(db)
    job = final_phase.begin_final(db, search_id)
    assert job is not None
    assert final_phase.fail(db, job, "final training failed: out of memory")
    search = _search(db, search_id)
    assert search.status == sstate.FAILED
    assert search.error == "final training failed: out of memory"
    assert search.final_lease_token is None


def test_a_released_lease_is_taken_at_once(db: Database) -> None:
    """Paused mid-final and resumed: the next delivery trains without waiting for expiry."""
    search_id = _final_phase_search(db)
    job = final_phase.begin_final(db, search_id)
    assert job is not None
    _set_status(db, search_id, sstate.PAUSED)
    assert not final_phase.release(db, job)  # paused: nothing to send
    _set_status(db, search_id, sstate.RUNNING)
    again = final_phase.begin_final(db, search_id)
    assert again is not None and again.token != job.token
    assert not final_phase.release(db, job)  # the old token releases nothing
    assert final_phase.begin_final(db, search_id) is None


def test_a_search_resumed_while_its_final_stopped_gets_a_new_finalize(db: Database) -> None:
    """Paused, the holder notices and stops; resumed before it released the lease, the start
    saw the lease held and sent nothing: releasing says a finalize must be sent."""
    from worker import runner

    search_id = _final_phase_search(db)
    job = final_phase.begin_final(db, search_id)
    assert job is not None
    _set_status(db, search_id, sstate.PAUSED)
    _set_status(db, search_id, sstate.RUNNING)  # resumed before the holder released
    assert not runner.start_search(db, search_id).finalize
    assert final_phase.release(db, job)
    assert runner.start_search(db, search_id).finalize


def _set_status(db: Database, search_id: int, status: str) -> None:
    with db.write() as session:
        search = session.get(Search, search_id)
        assert search is not None
        search.status = status


def test_a_resent_start_sends_no_finalize_while_the_lease_is_held(db: Database) -> None:
    """Each re-sent start of a search in its final phase used to send one more finalize."""
    from worker import runner

    search_id = _final_phase_search(db)
    assert runner.start_search(db, search_id).finalize  # nobody trains it yet
    job = final_phase.begin_final(db, search_id)
    assert job is not None
    assert not runner.start_search(db, search_id).finalize  # held
    _expire(db, search_id)
    assert runner.start_search(db, search_id).finalize  # its holder died: send it again


@pytest.mark.tf
def test_a_worker_that_loses_the_lease_mid_training_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finalize task itself, in-process on digits: after its first epoch another worker
    takes the expired lease over. Training stops, no model file is written over the new
    holder's, the search neither finishes nor fails, and the new holder's lease stands."""
    pytest.importorskip("keras")
    from backend.db.session import get_database
    from worker import tasks

    url = f"sqlite:///{tmp_path / 'task.db'}"
    monkeypatch.setenv("NASBOARD_DATABASE_URL", url)
    monkeypatch.setenv("NASBOARD_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    upgrade(url)
    db = get_database(url)
    search_id = _final_phase_search(db)
    taken_over: list[final_phase.FinalJob] = []
    record = final_phase.record_epoch

    def record_then_lose(
        db_: Database, job: final_phase.FinalJob, epoch: int, point: dict[str, float]
    ) -> bool:
        if not taken_over:
            _expire(db_, job.search_id)
            other = final_phase.begin_final(db_, job.search_id)
            assert other is not None
            taken_over.append(other)
        return record(db_, job, epoch, point)

    monkeypatch.setattr(final_phase, "record_epoch", record_then_lose)
    try:
        tasks.finalize_search(search_id)
        search = _search(db, search_id)
        assert taken_over, "the final never reached an epoch"
        assert search.status == sstate.RUNNING and search.error is None
        assert search.final_lease_token == taken_over[0].token
        assert _final_epochs(db, search_id) == []  # the lost holder's epoch is not recorded
        assert not (get_settings().data_dir / f"artifacts/search_{search_id}").exists()
    finally:
        db.engine.dispose()
        get_database.cache_clear()
        get_settings.cache_clear()
