"""Export the best model in every format and write its model card (worker side only).

Used by ``worker.tasks.finalize_search`` after the final training, before the search is
marked succeeded: the files land beside ``best.keras`` and ``runner.store_artifact``
registers them together with it. Each export is checked by loading it back in its own
runtime and comparing its predicted classes with the Keras model's on test examples; an
export that fails is recorded in the card (and its stale file removed) instead of failing
the search, since the .keras model is still good.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf

from backend.core.logging import log
from backend.datasets.info import DatasetInfo
from backend.datasets.splits import Splits
from backend.db.models import Candidate, Search
from backend.db.session import Database
from backend.services.artifacts import sha256_of, sibling, tmp_beside
from backend.services.model_card import build_card

# Test examples each export must classify like the Keras model.
VERIFY_EXAMPLES = 512


def _predict_keras(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=256, verbose=0)).argmax(axis=1)


def _zip_dir(folder: Path, target: Path) -> None:
    """A reproducible zip of ``folder`` (sorted names, fixed timestamps), written atomically."""
    tmp = tmp_beside(target)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    tmp.replace(target)


def export_saved_model(model: keras.Model, folder: Path) -> None:
    """A TensorFlow SavedModel with a ``serve`` endpoint and a ``serving_default`` signature."""
    model.export(str(folder), format="tf_saved_model", verbose=False)


def saved_model_predict(folder: Path, x: np.ndarray) -> np.ndarray:
    loaded = tf.saved_model.load(str(folder))
    return np.asarray(loaded.serve(tf.constant(x, dtype=tf.float32))).argmax(axis=1)


def tflite_bytes(saved_model_dir: Path) -> bytes:
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    return bytes(converter.convert())


def tflite_predict(content: bytes, x: np.ndarray) -> np.ndarray:
    interpreter = tf.lite.Interpreter(model_content=content)
    inp = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(inp["index"], [len(x), *x.shape[1:]])
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], x.astype(np.float32))
    interpreter.invoke()
    out = interpreter.get_output_details()[0]
    return np.asarray(interpreter.get_tensor(out["index"])).argmax(axis=1)


def layer_summary(model: keras.Model) -> list[dict[str, Any]]:
    rows = []
    for layer in model.layers:
        try:
            shape = layer.output.shape
            output_shape = [None if d is None else int(d) for d in shape]
        except (AttributeError, ValueError):
            output_shape = None
        rows.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "output_shape": output_shape,
                "params": int(layer.count_params()),
            }
        )
    return rows


def _file_entry(path: Path, data_dir: Path) -> dict[str, Any]:
    return {
        "file": path.relative_to(data_dir).as_posix(),
        "sha256": sha256_of(path),
        "size": path.stat().st_size,
    }


def export_formats(
    model: keras.Model, keras_path: Path, data_dir: Path, x_check: np.ndarray
) -> dict[str, Any]:
    """Write best.savedmodel.zip and best.tflite beside ``keras_path``; verify each."""
    keras_rel = keras_path.relative_to(data_dir).as_posix()
    reference = _predict_keras(model, x_check)
    exports: dict[str, Any] = {"keras": _file_entry(keras_path, data_dir)}
    # Drop files of an earlier attempt: what is registered must come from this model.
    for fmt in ("savedmodel", "tflite"):
        (data_dir / sibling(keras_rel, fmt)).unlink(missing_ok=True)
    work = Path(tempfile.mkdtemp(prefix="export-", dir=keras_path.parent))
    try:
        saved = work / "savedmodel"
        try:
            export_saved_model(model, saved)
            agreement = float((saved_model_predict(saved, x_check) == reference).mean())
            target = data_dir / sibling(keras_rel, "savedmodel")
            _zip_dir(saved, target)
            exports["savedmodel"] = {
                **_file_entry(target, data_dir),
                "agreement": agreement,
                "load": "tf.saved_model.load(dir).serve(x)",
            }
        except Exception as exc:
            exports["savedmodel"] = {"error": f"{type(exc).__name__}: {exc}"}
            return {**exports, "tflite": {"error": "needs the SavedModel export"}}
        try:
            content = tflite_bytes(saved)
            agreement = float((tflite_predict(content, x_check) == reference).mean())
            target = data_dir / sibling(keras_rel, "tflite")
            tmp = tmp_beside(target)
            tmp.write_bytes(content)
            tmp.replace(target)
            exports["tflite"] = {
                **_file_entry(target, data_dir),
                "agreement": agreement,
                "load": "tf.lite.Interpreter(model_path=...)",
            }
        except Exception as exc:
            exports["tflite"] = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for fmt in ("savedmodel", "tflite"):
        if "agreement" in exports[fmt]:
            exports[fmt]["checked_examples"] = len(x_check)
    return exports


def export_best(
    db: Database,
    search_id: int,
    candidate_id: int,
    info: DatasetInfo,
    dataset_checksum: str,
    model: keras.Model,
    metrics: dict[str, Any],
    data: Splits,
    keras_rel: str,
    data_dir: Path,
) -> dict[str, Any]:
    """All formats plus the card (``best.card.json``) beside ``keras_rel``; returns the card."""
    import logging

    logger = logging.getLogger("nasboard.export")
    exports = export_formats(model, data_dir / keras_rel, data_dir, data.x_test[:VERIFY_EXAMPLES])
    with db.read() as session:
        search = session.get(Search, search_id)
        candidate = session.get(Candidate, candidate_id)
        search_part = {
            "id": search_id,
            "name": search.name if search else None,
            "config": dict(search.config) if search else {},
        }
        candidate_part = (
            {
                "id": candidate.id,
                "generation": candidate.generation,
                "index": candidate.index,
                "val_accuracy": candidate.val_accuracy,
            }
            if candidate
            else {"id": candidate_id}
        )
        genome = dict(candidate.genome) if candidate else {}
    card = build_card(
        search=search_part,
        candidate=candidate_part,
        genome=genome,
        layers=layer_summary(model),
        metrics=metrics,
        dataset={
            "id": info.id,
            "name": info.name,
            "builtin": info.builtin,
            "checksum_sha256": dataset_checksum,
            "checksum_of": "normalized arrays (x/y of train, val, test)",
            "input_shape": list(info.input_shape),
            "num_classes": info.num_classes,
            "class_names": list(info.class_names),
            "train_size": len(data.y_train),
            "val_size": len(data.y_val),
            "test_size": len(data.y_test),
        },
        exports=exports,
        frameworks={"tensorflow": tf.__version__, "keras": keras.__version__},
    )
    target = data_dir / sibling(keras_rel, "card")
    tmp = tmp_beside(target)
    tmp.write_text(json.dumps(card, indent=2, sort_keys=False), encoding="utf-8")
    tmp.replace(target)
    log(
        logger,
        "best model exported",
        search=search_id,
        formats={k: ("error" not in v) for k, v in exports.items()},
    )
    return card
