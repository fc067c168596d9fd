"""Genome JSON -> ``keras.Model``, through a fixed allow-list of ops.

Nothing in the genome is deserialised: each op maps to one Keras layer class built from
validated ints, floats and allow-listed strings. Layer names are the node ids (plus ``input``
and ``softmax``) so the drawn graph and the model line up. This module and the evaluator are
the only places that import TensorFlow/Keras.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import keras

from backend.search.genome import Genome, GenomeError, validate_genome

_LAYERS: dict[str, Callable[[str, dict[str, Any]], keras.layers.Layer]] = {
    "conv2d": lambda name, p: keras.layers.Conv2D(
        filters=int(p["filters"]),
        kernel_size=int(p["kernel_size"]),
        strides=int(p["strides"]),
        padding=str(p["padding"]),
        activation=str(p["activation"]),
        name=name,
    ),
    "max_pool": lambda name, p: keras.layers.MaxPooling2D(
        pool_size=int(p["pool_size"]),
        strides=int(p["strides"]),
        padding=str(p["padding"]),
        name=name,
    ),
    "avg_pool": lambda name, p: keras.layers.AveragePooling2D(
        pool_size=int(p["pool_size"]),
        strides=int(p["strides"]),
        padding=str(p["padding"]),
        name=name,
    ),
    "batch_norm": lambda name, p: keras.layers.BatchNormalization(name=name),
    "dropout": lambda name, p: keras.layers.Dropout(rate=float(p["rate"]), name=name),
    "add": lambda name, p: keras.layers.Add(name=name),
    "concat": lambda name, p: keras.layers.Concatenate(axis=-1, name=name),
    "flatten": lambda name, p: keras.layers.Flatten(name=name),
    "global_avg_pool": lambda name, p: keras.layers.GlobalAveragePooling2D(name=name),
    "global_max_pool": lambda name, p: keras.layers.GlobalMaxPooling2D(name=name),
    "dense": lambda name, p: keras.layers.Dense(
        units=int(p["units"]), activation=str(p["activation"]), name=name
    ),
}


def build_model(
    genome: Genome,
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    output_dtype: str | None = None,
) -> keras.Model:
    """The functional model of ``genome`` with ``Dense(num_classes, softmax)`` on top.

    ``output_dtype="float32"`` keeps the softmax in float32 when the model is built under a
    mixed-precision policy (float16 probabilities would make the loss unstable).
    Raises ``GenomeError`` (a ValueError) for a genome that ``validate_genome`` rejects.
    """
    problems = validate_genome(genome, input_shape)
    if problems:
        raise GenomeError("; ".join(problems))
    inputs = keras.Input(shape=tuple(int(d) for d in input_shape), name="input")
    tensors: dict[str, Any] = {"input": inputs}
    for node in genome["nodes"]:
        layer = _LAYERS[node["op"]](node["id"], node["params"])
        args = [tensors[s] for s in node["inputs"]]
        tensors[node["id"]] = layer(args if node["op"] in ("add", "concat") else args[0])
    outputs = keras.layers.Dense(
        num_classes, activation="softmax", name="softmax", dtype=output_dtype
    )(tensors[genome["output"]])
    return keras.Model(inputs=inputs, outputs=outputs, name="candidate")


def make_optimizer(genome: Genome, decay_steps: int | None = None) -> keras.optimizers.Optimizer:
    """The genome's optimizer (adam | sgd with momentum | rmsprop).

    ``decay_steps`` anneals the genome's learning rate to zero over that many steps (cosine);
    None keeps it constant, as the candidates of a search and the protocol's final train."""
    opt = genome["optimizer"]
    name = opt["name"]
    lr: float | keras.optimizers.schedules.LearningRateSchedule = float(opt["learning_rate"])
    if decay_steps is not None:
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=lr)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=float(opt.get("momentum", 0.0)))
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=lr)
    raise GenomeError(f"unknown optimizer {name!r}")


def compile_model(
    model: keras.Model,
    genome: Genome,
    *,
    jit_compile: bool | Literal["auto"] = "auto",
    decay_steps: int | None = None,
    steps_per_execution: int = 1,
) -> keras.Model:
    """Compile for integer labels: sparse categorical cross-entropy and accuracy.

    ``jit_compile=True`` asks for XLA; the default leaves Keras' "auto". Under TensorFlow's op
    determinism (the worker's default, NASBOARD_DETERMINISTIC) Keras keeps XLA off, rightly:
    XLA has no deterministic kernels for some ops (max-pool gradients fail outright), so a
    search that wants XLA runs on workers started with NASBOARD_DETERMINISTIC=false. A model
    built under ``mixed_float16`` gets Keras' loss scaling (a ``LossScaleOptimizer``) here.
    ``decay_steps``: see ``make_optimizer``. ``steps_per_execution`` runs that many batches
    per call into TensorFlow (the same updates in the same order; fewer Python round trips):
    the worker passes ``worker.evaluator.STEPS_PER_EXECUTION``, Keras' default is 1."""
    with warnings.catch_warnings():
        # Keras warns when it keeps XLA off under op determinism; the metrics record it.
        warnings.filterwarnings("ignore", message=".*jit_compile.*")
        model.compile(
            optimizer=make_optimizer(genome, decay_steps),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
        )
    return model
