"""Load each exported format in its own runtime and predict classes (for the export tests)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np


def keras_classes(path: Path, x: np.ndarray) -> np.ndarray:
    import keras

    model = keras.saving.load_model(path, safe_mode=True)
    return np.asarray(model.predict(x, verbose=0)).argmax(axis=1)


def savedmodel_classes(zip_path: Path, x: np.ndarray, workdir: Path) -> np.ndarray:
    import tensorflow as tf

    folder = workdir / "savedmodel"
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            assert ".." not in Path(info.filename).parts and not info.filename.startswith("/")
        zf.extractall(folder)  # our own export, checked above
    loaded = tf.saved_model.load(str(folder))
    out = loaded.signatures["serving_default"](tf.constant(x, dtype=tf.float32))
    return np.asarray(next(iter(out.values()))).argmax(axis=1)


def tflite_classes(path: Path, x: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(path))
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    classes = []
    interpreter.allocate_tensors()
    for row in x.astype(np.float32):
        interpreter.set_tensor(inp["index"], row[None])
        interpreter.invoke()
        classes.append(int(np.argmax(interpreter.get_tensor(out["index"])[0])))
    return np.asarray(classes)


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float((a == b).mean())
