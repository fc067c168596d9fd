"""A time budget is not spent on candidates that cannot finish in it (``worker.runner``).

Before this, a candidate claimed a minute before the budget's end started anyway and was
stopped there, its training lost: on the slower 2-core VM, 2 of a search's 10 candidates
(bench run am). Now a claim predicts the candidate's seconds from what the search measured
(``backend.search.confirm.next_work_seconds``) and leaves it unstarted where the budget's
rest is shorter; and a generation none of whose candidates would fit is not asked for: the
search phase ends there. On the real databases, with the runner's own bookkeeping (no
TensorFlow: the results are written as a worker writes them).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.db.base import utcnow
from backend.db.models import Candidate, Event, Search
from backend.db.models import candidate as cstate
from backend.db.models import search as sstate
from backend.db.session import Database
from backend.schemas.search import SearchCreate
from backend.services import events as ev
from tests.support.stored import stored_search
from worker import runner

BUDGET_S = 600
# each measured candidate: 2 epochs, 20 s inside them and 2 s around them: 11 s an epoch
MEASURED = {"val_accuracy": 0.5, "epochs_trained": 2, "in_epochs_s": 20.0, "evaluator_s": 22.0}


def _budgeted_search(db: Database) -> int:
    body = SearchCreate(
        name="budget",
        dataset="digits",
        population_size=4,
        generations=50,
        epochs_per_candidate=2,
        time_budget_s=BUDGET_S,
    )
    return stored_search(db, body)


def _left(db: Database, search_id: int, seconds: float) -> None:
    """Move the search's start back so that ``seconds`` of its budget are left."""
    with db.write() as session:
        search = session.get(Search, search_id)
        assert search is not None
        search.started_at = utcnow() - timedelta(seconds=BUDGET_S - seconds)


def _train(db: Database, candidate_id: int) -> None:
    taken, _ = runner.claim(db, candidate_id)
    assert taken is not None, "a candidate that fits is started"
    runner.complete(db, taken, dict(MEASURED), 100, 1000, None, stopped=False)


def test_a_candidate_that_would_overrun_the_budget_is_not_started(db: Database) -> None:
    search_id = _budgeted_search(db)
    ids = runner.start_search(db, search_id).evaluate
    assert len(ids) == 4
    _train(db, ids[0])
    _train(db, ids[1])
    _left(db, search_id, 30)  # 22 s predicted: it fits
    _train(db, ids[2])

    _left(db, search_id, 15)  # 22 s predicted, 15 left: not started
    taken, after = runner.claim(db, ids[3])
    assert taken is None
    with db.read() as session:
        late = session.get(Candidate, ids[3])
        assert late is not None
        assert late.status == cstate.CANCELLED
        assert late.started_at is None and late.attempts == 0
        assert late.error is not None
        assert late.error.startswith("not started: ~22 s predicted, 1"), late.error
        assert late.error.endswith(" s of the time budget left"), late.error

        # The generation closed, and the next one, none of whose candidates would fit in the
        # budget's rest, was not asked for: the search phase ended as spent.
        search = session.get(Search, search_id)
        assert search is not None
        assert search.phase == sstate.PHASE_FINAL
        assert search.generation == 0
        generations = session.scalars(
            select(Candidate.generation).where(Candidate.search_id == search_id)
        )
        assert set(generations) == {0}
        reasons = [
            e.payload.get("reason")
            for e in session.scalars(
                select(Event).where(Event.search_id == search_id, Event.type == ev.SEARCH_STATUS)
            )
        ]
    assert "time budget spent" in reasons
    assert after.finalize


def test_with_time_left_the_next_generation_is_asked_for(db: Database) -> None:
    """The same generation with a minute left: the search goes on to generation 1."""
    search_id = _budgeted_search(db)
    ids = runner.start_search(db, search_id).evaluate
    for candidate_id in ids:
        _train(db, candidate_id)
    _left(db, search_id, 60)
    runner.advance(db, search_id)
    with db.read() as session:
        search = session.get(Search, search_id)
        assert search is not None
        assert search.phase == sstate.PHASE_SEARCH and search.generation == 1
