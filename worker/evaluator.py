"""The only TensorFlow code: genome -> keras.Model, training, metrics, saving.

Training streams per-epoch metrics through a callback so the runner can store them and
publish them live, and stop promptly when the search is cancelled.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf

from backend.datasets.splits import Splits
from backend.services.artifacts import tmp_beside
from worker.model_builder import build_model, compile_model

# on_epoch(epoch, metrics) -> keep going?
EpochHook = Callable[[int, dict[str, float]], bool]
# should_stop() -> stop now? Polled between batches, so a cancel is honoured mid-epoch.
StopHook = Callable[[], bool]
# hopeless(epoch, point) -> stop this candidate now, keeping its result? Asked after each epoch
# (backend.search.early_stop's rule, applied by the caller that knows the peers).
HopelessHook = Callable[[int, dict[str, float]], bool]
# rung(steps, point) -> stop this candidate now, keeping its result? Asked once, inside the
# first epoch, once the optimizer has taken ``steps`` steps, with the validation split's
# accuracy and loss then: a judgement before a whole epoch is paid for.
RungHook = Callable[[int, dict[str, float]], bool]

STOP_POLL_S = 1.0
#: Batches per call into TensorFlow when the worker trains (Keras' ``steps_per_execution``).
#: The same updates in the same order, bit for bit; less per-batch Python and dispatch: on one
#: CPU thread candidates of 0.6-2.1 MFLOPs train 1.15-1.21x faster, the seed CNN (8.5) about
#: as fast (``bench/steps_per_execution.py``). The batch hooks (a cancel, a NaN loss) then run
#: every this many batches, not every one.
STEPS_PER_EXECUTION = 16
#: tf.data's autotuner, off for the worker's pipelines. Its model thread sleeps for an
#: optimisation period that doubles up to 60 s, and tearing an iterator down waits for that
#: thread: Keras drops one at each epoch's start and at the end of ``fit``, and with two workers
#: on two cores the candidates' last epoch and their result were seen up to 57 s apart
#: (``bench/data_autotune.py``). Nothing here needs tuning (slices in memory, a shuffle and a
#: batch); a fixed prefetch keeps the next batches ready. The same batches in the same order.
DATA_AUTOTUNE = False
PREFETCH_BATCHES = 4


class NonFiniteLoss(RuntimeError):
    """Training diverged (NaN or infinite loss)."""


class _StoppedAtRung(Exception):
    """Ends ``fit`` at once: Keras, told to stop mid-epoch, would still score the validation
    split again and close the partial epoch as if it were whole."""


@dataclass(frozen=True)
class Rung:
    """A judgement inside the first epoch: after ``steps`` optimizer steps, ``hook`` is asked
    with the validation split's score whether to stop there (``backend.search.early_stop``)."""

    steps: int
    hook: RungHook


@dataclass
class TrainResult:
    model: keras.Model
    history: list[dict[str, float]]
    metrics: dict[str, float]
    stopped: bool = False
    # The epoch after which the hopeless hook stopped it (a result, unlike ``stopped``).
    early_stopped_at: int | None = None
    # The validation score at the rung (``Rung``), where one was asked; and its steps, where
    # the rung stopped the candidate there (scored at that point, no epoch trained).
    rung_point: dict[str, float] | None = None
    stopped_at_rung: int | None = None


@dataclass
class FinalResult:
    model: keras.Model
    history: list[dict[str, float]]
    metrics: dict[str, Any] = field(default_factory=dict)


def configure(threads: int | None, deterministic: bool) -> None:
    """Cap TensorFlow's threads so several worker processes do not oversubscribe the cores;
    deterministic ops make a retried candidate reproduce its metrics (and so the search).

    On a GPU, memory grows as needed instead of TensorFlow taking the whole card up front,
    so a process per GPU (CUDA_VISIBLE_DEVICES) or a few sharing one do not starve. This
    runs at import, before any op: TensorFlow refuses the setting once a GPU is in use."""
    for gpu in tf.config.list_physical_devices("GPU"):
        # Already initialised (a RuntimeError): keep what it has.
        with contextlib.suppress(RuntimeError, ValueError):
            tf.config.experimental.set_memory_growth(gpu, True)
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def _configure_from_env() -> None:
    from backend.core.config import get_settings

    threads = os.environ.get("NASBOARD_TF_THREADS")
    configure(int(threads) if threads else None, get_settings().deterministic)


_configure_from_env()


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo``), else what the platform says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                    return " ".join(value.split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


@functools.lru_cache(maxsize=1)
def device_description() -> str:
    """Where this process trains: "GPU: NVIDIA H200" (visible GPUs, "2 x ..." for several)
    or "CPU: <model name>". Reads the physical device list only: no op runs."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"CPU: {cpu_model()}"
    names: list[str] = []
    for gpu in gpus:
        try:
            details = tf.config.experimental.get_device_details(gpu)
        except Exception:  # details are a nicety; the device is there either way
            details = {}
        names.append(str(details.get("device_name") or gpu.name))
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return "GPU: " + ", ".join(n if k == 1 else f"{k} x {n}" for n, k in counts.items())


class _Stream(keras.callbacks.Callback):
    def __init__(
        self,
        on_epoch: EpochHook | None,
        should_stop: StopHook | None,
        hopeless: HopelessHook | None = None,
        rung: Rung | None = None,
        validation: tf.data.Dataset | None = None,
    ) -> None:
        super().__init__()
        self.on_epoch = on_epoch
        self.should_stop = should_stop
        self.hopeless = hopeless
        # Only with a validation split to score it on, and only in a first epoch.
        self.rung = rung if validation is not None else None
        self.validation = validation
        self.history: list[dict[str, float]] = []
        self.stopped = False
        self.early_stopped_at: int | None = None
        self.rung_point: dict[str, float] | None = None
        self.stopped_at_rung: int | None = None
        self._epoch = 0
        # Seconds inside epochs (training and validation, not our hooks): the worker's cost
        # estimates must not count the build, compile and one-time start-up as epochs.
        self.in_epochs_s = 0.0
        self._epoch_t0 = time.perf_counter()
        self._last_poll = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_t0 = time.perf_counter()
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLoss(f"loss became {float(loss)} at batch {batch}")
        if self.rung is not None and self._epoch == 0:
            steps = int(self.model.optimizer.iterations.numpy())
            if steps >= self.rung.steps:
                self._judge_at_rung(steps)
        if self.should_stop and time.monotonic() - self._last_poll >= STOP_POLL_S:
            self._last_poll = time.monotonic()
            if self.should_stop():
                self.stopped = True
                self.model.stop_training = True

    def _judge_at_rung(self, steps: int) -> None:
        """Score the validation split now and ask the rung; raises ``_StoppedAtRung`` to stop.

        With the compiled function the epoch's own validation runs (traced once, for both):
        ``predict`` would trace one of its own, which cost the candidates that passed the rung
        a median 1.12-1.17x their first epoch (runs as, at). ``evaluate`` resets the running
        metrics, so the epoch's are put back after it: the candidate trains on, and reports
        its epoch, exactly as without a rung."""
        assert self.rung is not None and self.validation is not None
        rung, self.rung = self.rung, None  # once
        running = self.model.metrics_variables
        kept = [v.numpy() for v in running]
        logs = self.model.evaluate(self.validation, verbose=0, return_dict=True)
        for variable, value in zip(running, kept, strict=True):
            variable.assign(value)
        point = {
            "val_accuracy": float(logs.get("accuracy", math.nan)),
            "val_loss": float(logs.get("loss", math.nan)),
        }
        self.rung_point = {k: v for k, v in point.items() if math.isfinite(v)}
        if rung.hook(steps, self.rung_point):
            self.stopped_at_rung = steps
            self.in_epochs_s += time.perf_counter() - self._epoch_t0
            raise _StoppedAtRung

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.in_epochs_s += time.perf_counter() - self._epoch_t0
        logs = logs or {}
        point = {
            "train_accuracy": float(logs.get("accuracy", float("nan"))),
            "train_loss": float(logs.get("loss", float("nan"))),
            "val_accuracy": float(logs.get("val_accuracy", float("nan"))),
            "val_loss": float(logs.get("val_loss", float("nan"))),
        }
        if not math.isfinite(point["train_loss"]):
            raise NonFiniteLoss(f"loss became {point['train_loss']} in epoch {epoch + 1}")
        point = {k: v for k, v in point.items() if math.isfinite(v)}
        self.history.append(point)
        if self.on_epoch is not None and not self.on_epoch(epoch + 1, point):
            self.stopped = True
            self.model.stop_training = True
        elif self.hopeless is not None and self.hopeless(epoch + 1, point):
            self.early_stopped_at = epoch + 1
            self.model.stop_training = True


def _dataset(
    x: np.ndarray, y: np.ndarray, batch_size: int, shuffle_seed: int | None
) -> tf.data.Dataset:
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle_seed is not None:
        ds = ds.shuffle(min(len(x), 10_000), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if DATA_AUTOTUNE:
        return ds.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(PREFETCH_BATCHES).with_options(options)


def inference_latency_ms(model: keras.Model, sample: np.ndarray, repeats: int = 5) -> float:
    """Median wall time of one single-image forward pass."""
    x = tf.convert_to_tensor(sample[:1])
    model(x, training=False)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(x, training=False)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def _fit(
    genome: dict,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    num_classes: int,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    hooks: tuple[EpochHook | None, StopHook | None],
    hopeless: HopelessHook | None = None,
    rung: Rung | None = None,
    mixed_precision: bool = False,
    jit_compile: bool = False,
    cosine_decay: bool = False,
    resume: keras.Model | None = None,
    initial_epoch: int = 0,
    steps_per_execution: int = STEPS_PER_EXECUTION,
) -> tuple[keras.Model, _Stream]:
    """Seed, build, compile and fit a genome, streaming each epoch through the hooks.

    ``resume``: a compiled model already trained for ``initial_epoch`` epochs, trained on from
    there up to ``epochs`` (its optimizer state included) instead of a new one from scratch.

    ``mixed_precision`` builds the model under Keras' ``mixed_float16`` policy (float16
    compute, float32 variables, a float32 softmax, loss scaling at compile); the global
    policy is float32 again once the model is built, so the next candidate is unaffected.
    ``jit_compile`` compiles the train step with XLA. Both pay on GPUs only.
    ``cosine_decay`` anneals the learning rate to zero over all ``epochs``.
    ``steps_per_execution``: see ``STEPS_PER_EXECUTION`` (a resumed model keeps its own)."""
    keras.utils.set_random_seed(seed)
    if resume is not None:
        return resume, _fit_model(
            resume,
            train,
            validation,
            epochs,
            batch_size,
            seed,
            hooks,
            hopeless,
            None,
            initial_epoch,
        )
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
        try:
            model = build_model(genome, train[0].shape[1:], num_classes, output_dtype="float32")
        finally:
            keras.mixed_precision.set_global_policy("float32")
    else:
        model = build_model(genome, train[0].shape[1:], num_classes)
    steps = epochs * math.ceil(len(train[0]) / batch_size)
    compile_model(
        model,
        genome,
        jit_compile=True if jit_compile else "auto",
        decay_steps=steps if cosine_decay else None,
        steps_per_execution=steps_per_execution,
    )
    return model, _fit_model(
        model, train, validation, epochs, batch_size, seed, hooks, hopeless, rung
    )


def _fit_model(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    epochs: int,
    batch_size: int,
    seed: int,
    hooks: tuple[EpochHook | None, StopHook | None],
    hopeless: HopelessHook | None,
    rung: Rung | None,
    initial_epoch: int = 0,
) -> _Stream:
    # A rung belongs to a first epoch: none for a model resumed past it.
    val = _dataset(*validation, batch_size, None) if validation else None
    stream = _Stream(*hooks, hopeless, rung if initial_epoch == 0 else None, val)
    with contextlib.suppress(_StoppedAtRung):  # the stream holds the rung's point
        model.fit(
            _dataset(*train, batch_size, seed),
            validation_data=val,
            epochs=epochs,
            initial_epoch=initial_epoch,
            verbose=0,
            shuffle=False,  # the tf.data pipeline shuffles (seeded); Keras would warn, ignore it
            callbacks=[stream],
        )
    return stream


def load_for_resume(path: Path) -> keras.Model:
    """A candidate's saved model (``save_keras``), compiled with its optimizer state, to train
    on. Safe mode: a ``.keras`` file holding code (a Lambda layer) is refused, not run."""
    return keras.saving.load_model(path, compile=True, safe_mode=True)


def train_candidate(
    genome: dict,
    data: Splits,
    num_classes: int,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    on_epoch: EpochHook | None = None,
    should_stop: StopHook | None = None,
    hopeless: HopelessHook | None = None,
    rung: Rung | None = None,
    mixed_precision: bool = False,
    jit_compile: bool = False,
    cosine_decay: bool = False,
    resume: keras.Model | None = None,
    initial_epoch: int = 0,
    steps_per_execution: int = STEPS_PER_EXECUTION,
) -> TrainResult:
    """Train on the train split, score on validation; the test split is not touched.

    ``hopeless`` may end training after an epoch; the result is then scored at that epoch
    (``early_stopped_at``, ``metrics["epochs_trained"]``). ``rung`` may end it inside the first
    epoch: it is then scored where it stopped (``stopped_at_rung``, ``metrics["stopped_at_rung"]``
    the steps, no epoch trained); a candidate past its rung keeps the rung's score in
    ``metrics["rung_val_accuracy"]`` (and ``rung_steps``), for later candidates' rungs.
    ``resume`` (``load_for_resume``) trains an earlier candidate's model on from
    ``initial_epoch`` to ``epochs``: a confirmation continues where the candidate stopped
    instead of starting again (``metrics["epochs_trained"]`` then counts this run's epochs
    only; ``resumed_at`` says from where). ``cosine_decay`` anneals the learning rate to zero
    over the ``epochs`` (a resumed model keeps the schedule it was compiled with)."""
    model, stream = _fit(
        genome,
        (data.x_train, data.y_train),
        (data.x_val, data.y_val),
        num_classes,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        hooks=(on_epoch, should_stop),
        hopeless=hopeless,
        rung=rung,
        mixed_precision=mixed_precision,
        jit_compile=jit_compile,
        cosine_decay=cosine_decay,
        resume=resume,
        initial_epoch=initial_epoch if resume is not None else 0,
        steps_per_execution=steps_per_execution,
    )
    last = stream.history[-1] if stream.history else (stream.rung_point or {})
    metrics = dict(last)
    metrics["epochs_trained"] = float(len(stream.history))
    if resume is not None:
        metrics["resumed_at"] = float(initial_epoch)
    metrics["in_epochs_s"] = round(stream.in_epochs_s, 4)
    if stream.early_stopped_at is not None:
        metrics["early_stopped_at"] = float(stream.early_stopped_at)
    if stream.rung_point is not None and rung is not None:
        metrics["rung_steps"] = float(rung.steps)
        if "val_accuracy" in stream.rung_point:
            metrics["rung_val_accuracy"] = stream.rung_point["val_accuracy"]
    if stream.stopped_at_rung is not None:
        metrics["stopped_at_rung"] = float(stream.stopped_at_rung)
    metrics["latency_ms"] = inference_latency_ms(model, data.x_val)
    return TrainResult(
        model=model,
        history=stream.history,
        metrics=metrics,
        stopped=stream.stopped,
        early_stopped_at=stream.early_stopped_at,
        rung_point=stream.rung_point,
        stopped_at_rung=stream.stopped_at_rung,
    )


def classification_report(
    y_true: np.ndarray, y_pred: np.ndarray, num_classes: int
) -> dict[str, Any]:
    """Accuracy, macro precision/recall/F1 and the confusion matrix (rows: true class)."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y_true.astype(int), y_pred.astype(int)), 1)
    tp = np.diag(cm).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    actual = cm.sum(axis=1).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {
        "test_accuracy": float(tp.sum() / max(1, cm.sum())),
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
        "confusion_matrix": cm.tolist(),
    }


def final_train(
    genome: dict,
    data: Splits,
    num_classes: int,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    on_epoch: EpochHook | None = None,
    should_stop: StopHook | None = None,
    cosine_decay: bool = False,
    steps_per_execution: int = STEPS_PER_EXECUTION,
) -> FinalResult:
    """Retrain from scratch on train+validation, then score once on the test split.

    ``cosine_decay`` anneals the learning rate to zero over the epochs: off in the product and
    the protocol; ``bench/final_noise.py --schedule cosine`` measures what it changes."""
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    model, stream = _fit(
        genome,
        (x, y),
        None,
        num_classes,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        hooks=(on_epoch, should_stop),
        cosine_decay=cosine_decay,
        steps_per_execution=steps_per_execution,
    )
    probs = model.predict(_dataset(data.x_test, data.y_test, 512, None), verbose=0)
    report = classification_report(data.y_test, probs.argmax(axis=1), num_classes)
    report["epochs"] = len(stream.history)
    report["latency_ms"] = inference_latency_ms(model, data.x_test)
    return FinalResult(model=model, history=stream.history, metrics=report)


def save_keras(model: keras.Model, path: Path) -> None:
    """Write atomically: a reader never sees a half-written model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_beside(path)  # Keras wants the .keras suffix: it keeps it
    model.save(tmp)
    tmp.replace(path)
