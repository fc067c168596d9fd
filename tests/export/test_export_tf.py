"""Every export of a trained model loads in its own runtime and predicts like the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")

from backend.datasets.builtin import load_digits  # noqa: E402
from backend.search import PRESETS, baseline_genome, random_genome  # noqa: E402
from backend.services.model_card import build_card, render_html  # noqa: E402
from tests.export.runtimes import (  # noqa: E402
    agreement,
    keras_classes,
    savedmodel_classes,
    tflite_classes,
)
from worker import evaluator, export  # noqa: E402


def _genomes() -> list[dict]:
    rng = np.random.default_rng(3)
    dag = random_genome(rng, PRESETS["dag"], (8, 8, 1))[0]
    return [baseline_genome((8, 8, 1)), dag]


@pytest.mark.parametrize("which", [0, 1], ids=["baseline", "dag"])
def test_exports_load_and_agree(tmp_path: Path, which: int) -> None:
    data = load_digits()
    genome = _genomes()[which]
    result = evaluator.final_train(genome, data, 10, epochs=2, batch_size=64, seed=5)
    model = result.model
    reference = np.asarray(model.predict(data.x_test, verbose=0)).argmax(axis=1)

    data_dir = tmp_path / "data"
    keras_path = data_dir / "artifacts" / "search_1" / "best.keras"
    evaluator.save_keras(model, keras_path)
    exports = export.export_formats(model, keras_path, data_dir, data.x_test[:100])
    folder = keras_path.parent
    assert sorted(p.name for p in folder.iterdir()) == [
        "best.keras",
        "best.savedmodel.zip",
        "best.tflite",
    ], "temporary export files were left behind"
    for fmt in ("savedmodel", "tflite"):
        assert "error" not in exports[fmt], exports[fmt]
        assert exports[fmt]["agreement"] >= 0.99

    x = data.x_test
    assert agreement(keras_classes(keras_path, x), reference) >= 0.99
    assert (
        agreement(savedmodel_classes(folder / "best.savedmodel.zip", x, tmp_path), reference)
        >= 0.99
    )
    assert agreement(tflite_classes(folder / "best.tflite", x), reference) >= 0.99

    layers = export.layer_summary(model)
    assert sum(layer["params"] for layer in layers) == model.count_params()
    card = build_card(
        search={"id": 1, "name": "t", "config": {"seed": 5, "batch_size": 64}},
        candidate={"id": 2, "generation": 0, "index": 0},
        genome=genome,
        layers=layers,
        metrics=result.metrics,
        dataset={"id": "digits", "checksum_sha256": "x", "class_names": list("0123456789")},
        exports=exports,
        frameworks={"keras": keras.__version__},
    )
    assert card["metrics"]["test_accuracy"] == result.metrics["test_accuracy"]
    assert len(card["metrics"]["confusion_matrix"]) == 10
    assert card["seed"] == 5 and card["training"]["batch_size"] == 64
    page = render_html(card)
    assert "Confusion matrix" in page and "<script" not in page
