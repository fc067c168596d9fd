"""The worker runs several batches per call into TensorFlow (``STEPS_PER_EXECUTION``): that
must change its speed only. On digits, in process: the same curves, weights and optimizer step
count as one batch per call (including an epoch whose batch count is not a multiple), a
diverging candidate still fails as diverged, and a cancel is still honoured mid-epoch."""

from __future__ import annotations

import dataclasses
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


def _train(data: Any, spe: int, **kw: Any) -> Any:
    from worker import evaluator

    return evaluator.train_candidate(
        baseline_genome((8, 8, 1)),
        data,
        10,
        epochs=2,
        batch_size=32,
        seed=3,
        steps_per_execution=spe,
        **kw,
    )


def test_several_batches_per_call_train_bit_for_bit_the_same(digits: Any) -> None:
    from worker import evaluator

    steps = int(np.ceil(len(digits.x_train) / 32))
    assert evaluator.STEPS_PER_EXECUTION > 1
    assert steps % evaluator.STEPS_PER_EXECUTION != 0  # a partial chunk ends each epoch
    one = _train(digits, 1)
    many = _train(digits, evaluator.STEPS_PER_EXECUTION)
    assert many.model.steps_per_execution == evaluator.STEPS_PER_EXECUTION
    assert many.history == one.history
    assert int(many.model.optimizer.iterations.numpy()) == 2 * steps
    for a, b in zip(one.model.weights, many.model.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_diverging_candidate_still_fails_as_diverged(digits: Any) -> None:
    """One NaN image makes its batch's loss NaN through a tanh head (a ReLU would zero it),
    and the epoch's running mean, all the hook sees at a chunk's end, stays NaN."""
    from worker import evaluator

    genome = {
        "nodes": [
            {"id": "f", "op": "flatten", "inputs": ["input"], "params": {}},
            {
                "id": "d",
                "op": "dense",
                "inputs": ["f"],
                "params": {"units": 16, "activation": "tanh"},
            },
        ],
        "output": "d",
        "optimizer": {"name": "adam", "learning_rate": 0.001},
    }
    x = digits.x_train.copy()
    x[5] = np.nan
    poisoned = dataclasses.replace(digits, x_train=x)
    with pytest.raises(evaluator.NonFiniteLoss, match="loss became nan"):
        evaluator.train_candidate(
            genome,
            poisoned,
            10,
            epochs=2,
            batch_size=32,
            seed=3,
            steps_per_execution=evaluator.STEPS_PER_EXECUTION,
        )


def test_a_cancel_is_still_honoured_mid_epoch(digits: Any, monkeypatch: Any) -> None:
    from worker import evaluator

    monkeypatch.setattr(evaluator, "STOP_POLL_S", 0.0)
    asked: list[int] = []

    def should_stop() -> bool:
        asked.append(1)
        return True

    result = _train(digits, evaluator.STEPS_PER_EXECUTION, should_stop=should_stop)
    assert result.stopped
    assert asked  # polled between chunks, and the first answer stopped it
    assert int(result.model.optimizer.iterations.numpy()) == evaluator.STEPS_PER_EXECUTION
