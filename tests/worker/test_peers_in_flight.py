"""The early stop judges against every candidate that reached the point, done or still training.

A score after an epoch or at the rung is final once recorded, so a candidate in flight on
another worker is a peer from that moment (``worker.runner._PEER_STATUSES``); before, only
completed candidates were, and with N workers the first min_peers + N candidates could not be
judged. Driven here the way two workers drive it, candidate by candidate on the real
databases, with the runner's own bookkeeping (no TensorFlow: the scores are given as the
evaluator hands them to its hooks).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.db.base import utcnow
from backend.db.models import Candidate
from backend.db.models import candidate as cstate
from backend.db.session import Database
from backend.schemas.search import SearchCreate
from tests.support.stored import stored_search
from worker import runner

RUNG = 32
CLASSES = 10


def _search(db: Database, min_peers: int) -> list[int]:
    """A search of six candidates (no seed CNN) with the rule at ``min_peers`` and a rung;
    started, so its generation 0 is queued: the candidates' ids."""
    body = SearchCreate(
        name="peers",
        dataset="digits",
        population_size=6,
        generations=2,
        epochs_per_candidate=2,
        include_baseline=False,
        early_stop=True,
        early_stop_min_peers=min_peers,
        early_stop_rung_steps=RUNG,
    )
    search_id = stored_search(db, body)
    ids = runner.start_search(db, search_id).evaluate
    assert len(ids) == 6
    return ids


def _claim(db: Database, candidate_id: int) -> runner.Claim:
    taken, _ = runner.claim(db, candidate_id)
    assert taken is not None and taken.rung_steps == RUNG and taken.early_stop is not None
    return taken


def _rung(db: Database, taken: runner.Claim, value: float) -> bool:
    return runner.hopeless_at_rung(db, taken, RUNG, {"val_accuracy": value}, CLASSES)


def _epoch(db: Database, taken: runner.Claim, epoch: int, value: float) -> bool:
    """An epoch as the worker streams it: recorded, then judged."""
    point = {"val_accuracy": value, "val_loss": 1.0 - value}
    assert runner.record_epoch(db, taken, epoch, point)
    return runner.hopeless(db, taken, epoch, point, CLASSES)


def test_a_candidate_still_training_is_a_peer_at_the_rung_and_after_an_epoch(
    db: Database,
) -> None:
    a, b, c, d, *_ = _search(db, min_peers=2)
    first, second, third, fourth = (_claim(db, i) for i in (a, b, c, d))  # all four in flight

    # Neither its own score nor too few others: nobody is judged yet.
    assert not _rung(db, first, 0.80)
    assert not _rung(db, second, 0.30)  # one peer (first), not itself: under min_peers
    with db.read() as session:
        recorded = session.get(Candidate, a)
        assert recorded is not None and recorded.status == cstate.RUNNING
        assert recorded.metrics["rung_val_accuracy"] == pytest.approx(0.80)
        assert recorded.metrics["rung_steps"] == RUNG
    # Two peers, both still training: 0.35 is below their median (0.55), 0.75 is not.
    assert _rung(db, third, 0.35)
    assert not _rung(db, fourth, 0.75)

    # After epoch 1, the same: first and fourth are still training, and their epochs count.
    assert not _epoch(db, first, 1, 0.90)
    assert not _epoch(db, fourth, 1, 0.70)  # one peer (first's 0.90), not its own row
    assert _epoch(db, second, 1, 0.75)  # peers 0.90 and 0.70, both training: median 0.80
    with db.read() as session:
        for cid in (a, b, d):
            row = session.get(Candidate, cid)
            assert row is not None and row.status == cstate.RUNNING


def test_a_reuse_is_not_a_peer_and_a_retry_forgets_its_rung(db: Database) -> None:
    a, b, c, *_ = _search(db, min_peers=2)
    first = _claim(db, a)
    assert not _rung(db, first, 0.80)
    metrics = {"val_accuracy": 0.9, "rung_steps": float(RUNG), "rung_val_accuracy": 0.8}
    runner.complete(db, first, metrics, 100, 1000, None, stopped=False)
    # A second candidate of the same genome is settled as a reuse, with its twin's metrics.
    with db.write() as session:
        twin, source = session.get(Candidate, b), session.get(Candidate, a)
        assert twin is not None and source is not None
        twin.genome, twin.genome_hash = source.genome, source.genome_hash
    taken, _ = runner.claim(db, b)
    assert taken is None
    with db.read() as session:
        reused = session.get(Candidate, b)
        assert reused is not None and reused.status == cstate.REUSED
        assert reused.metrics["rung_val_accuracy"] == pytest.approx(0.8)

    # The reuse's copy of first's 0.8 is not a second peer: one peer, under min_peers 2.
    third = _claim(db, c)
    assert not _rung(db, third, 0.79)

    # Its worker is lost (lease expired) and the candidate claimed again: the score it
    # recorded at the rung goes with the rest of its curve.
    with db.write() as session:
        row = session.get(Candidate, c)
        assert row is not None and "rung_val_accuracy" in row.metrics
        row.lease_expires_at = utcnow() - timedelta(seconds=1)
    again = _claim(db, c)
    assert again.attempt == 2
    with db.read() as session:
        row = session.get(Candidate, c)
        assert row is not None and "rung_val_accuracy" not in row.metrics
