"""The worker's tf.data pipelines run without the autotuner (``DATA_AUTOTUNE``): an iterator's
teardown then has no model thread to wait for (``bench/data_autotune.py`` measures the
stalls). That must change its speed only: the same batches in the same order, epoch after
epoch, and a candidate trained bit for bit the same. On digits, in process."""

from __future__ import annotations

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


def _epochs(data: Any, n: int) -> list[list[np.ndarray]]:
    """The labels of each batch, epoch by epoch, from one dataset as Keras iterates it (a new
    iterator per epoch), under the global seed ``train_candidate`` sets before it builds one."""
    from worker import evaluator

    keras.utils.set_random_seed(3)
    ds = evaluator._dataset(data.x_train, data.y_train, 32, 3)
    return [[y.numpy() for _, y in ds] for _ in range(n)]


def test_the_worker_pipelines_run_without_the_autotuner(digits: Any) -> None:
    from worker import evaluator

    assert evaluator.DATA_AUTOTUNE is False
    for seed in (3, None):  # training (shuffled) and scoring pipelines
        ds = evaluator._dataset(digits.x_train, digits.y_train, 32, seed)
        assert ds.options().autotune.enabled is False


def test_autotune_off_gives_the_same_batches_and_training(
    digits: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker import evaluator

    def train() -> Any:
        return evaluator.train_candidate(
            baseline_genome((8, 8, 1)), digits, 10, epochs=2, batch_size=32, seed=3
        )

    off_batches, off = _epochs(digits, 2), train()
    monkeypatch.setattr(evaluator, "DATA_AUTOTUNE", True)
    on_ds = evaluator._dataset(digits.x_train, digits.y_train, 32, 3)
    assert on_ds.options().autotune.enabled is not False  # the comparison is real
    on_batches, on = _epochs(digits, 2), train()

    assert not np.array_equal(off_batches[0][0], off_batches[1][0])  # reshuffled per epoch
    for a, b in zip(off_batches, on_batches, strict=True):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
    assert off.history == on.history
    for a, b in zip(off.model.weights, on.model.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
