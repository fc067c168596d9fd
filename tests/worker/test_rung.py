"""A rung (``worker.evaluator.Rung``) judges a candidate inside its first epoch. On digits, in
process: asked once, after the steps it names, with the validation score of the weights then;
a rung that lets the candidate go on leaves its training bit for bit as without one; a rung
that stops it ends training there, scored at that point, with no epoch recorded."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")

from backend.search.space import baseline_genome  # noqa: E402

BATCH = 16  # digits' 1437 training images: 90 steps an epoch


@pytest.fixture(scope="module")
def digits() -> Any:
    from worker.datasets import get_splits

    return get_splits("digits")


def _train(data: Any, rung: Any = None, **kw: Any) -> Any:
    from worker import evaluator

    return evaluator.train_candidate(
        baseline_genome((8, 8, 1)), data, 10, epochs=2, batch_size=BATCH, seed=5, rung=rung, **kw
    )


def _rung(steps: int, stop: bool, asked: list[tuple[int, dict[str, float]]]) -> Any:
    from worker.evaluator import Rung

    def hook(at: int, point: dict[str, float]) -> bool:
        asked.append((at, dict(point)))
        return stop

    return Rung(steps, hook)


def _score(model: Any, data: Any) -> float:
    probs = model.predict(data.x_val, verbose=0)
    return float((probs.argmax(axis=1) == data.y_val).mean())


def test_a_rung_that_lets_the_candidate_go_on_changes_nothing_in_its_training(
    digits: Any,
) -> None:
    from worker.evaluator import STEPS_PER_EXECUTION

    asked: list[tuple[int, dict[str, float]]] = []
    plain = _train(digits)
    judged = _train(digits, _rung(2 * STEPS_PER_EXECUTION, False, asked))
    assert [a for a, _ in asked] == [2 * STEPS_PER_EXECUTION]  # once, in the first epoch
    assert judged.history == plain.history
    for a, b in zip(plain.model.weights, judged.model.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert judged.stopped_at_rung is None and judged.early_stopped_at is None
    assert judged.metrics["epochs_trained"] == 2.0
    assert judged.metrics["val_accuracy"] == plain.metrics["val_accuracy"]
    # Its score at the rung is kept for later candidates' rungs, and is a real score: a
    # partly trained net, above guessing and not yet where two epochs take it.
    rung_score = asked[0][1]["val_accuracy"]
    assert judged.metrics["rung_val_accuracy"] == rung_score
    assert judged.metrics["rung_steps"] == float(2 * STEPS_PER_EXECUTION)
    assert 0.2 < rung_score < plain.metrics["val_accuracy"]
    assert asked[0][1]["val_loss"] > plain.metrics["val_loss"]


def test_a_rung_that_stops_the_candidate_scores_it_where_it_stopped(digits: Any) -> None:
    from worker.evaluator import STEPS_PER_EXECUTION

    asked: list[tuple[int, dict[str, float]]] = []
    result = _train(digits, _rung(STEPS_PER_EXECUTION, True, asked))
    assert len(asked) == 1
    steps, point = asked[0]
    assert result.stopped_at_rung == steps == STEPS_PER_EXECUTION
    assert int(result.model.optimizer.iterations.numpy()) == steps  # not a step more
    assert result.history == []  # no epoch, not even a partial one, is recorded
    assert result.metrics["epochs_trained"] == 0.0
    assert result.metrics["stopped_at_rung"] == float(steps)
    assert result.metrics["val_accuracy"] == point["val_accuracy"]
    assert result.metrics["val_loss"] == point["val_loss"]
    assert result.metrics["in_epochs_s"] > 0  # the partial epoch's seconds are counted
    assert not result.stopped  # a result, not a cancel
    # The returned model holds the weights the rung scored (Keras' metric is float32).
    assert _score(result.model, digits) == pytest.approx(point["val_accuracy"], abs=1e-6)


def test_a_rung_past_the_first_epoch_is_never_asked(digits: Any) -> None:
    asked: list[tuple[int, dict[str, float]]] = []
    steps_per_epoch = int(np.ceil(len(digits.x_train) / BATCH))
    result = _train(digits, _rung(steps_per_epoch + 1, True, asked))
    assert asked == []
    assert result.metrics["epochs_trained"] == 2.0
    assert "rung_val_accuracy" not in result.metrics
