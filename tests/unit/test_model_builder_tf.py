"""The Keras model built from a genome matches the pure cost/shape inference exactly."""

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")

from backend.search import PRESETS, baseline_genome, cost, infer, mutate, random_genome  # noqa: E402
from worker.model_builder import build_model, compile_model  # noqa: E402


def sample_genomes(shape, per_preset=4, seed=0):
    rng = np.random.default_rng(seed)
    out = [baseline_genome(shape)]
    for name in ("seed", "tiny", "dag"):
        space = PRESETS[name]
        for _ in range(per_preset):
            g = random_genome(rng, space, shape)[0]
            out.append(mutate(g, space, shape, rng)[0])
    return out


def check_model(genome, shape, classes=10):
    model = build_model(genome, shape, classes)
    params, _ = cost(genome, shape, classes)
    assert model.count_params() == params
    for info in infer(genome, shape, classes):
        layer = model.get_layer(info.id)
        assert tuple(layer.output.shape[1:]) == info.output_shape, info.id
    return model


@pytest.mark.parametrize("shape", [(28, 28, 1), (8, 8, 1)])
def test_built_models_match_inferred_params_and_shapes(shape):
    for genome in sample_genomes(shape):
        check_model(genome, shape)


def test_dag_features_build_and_train_one_step():
    shape = (8, 8, 1)
    rng = np.random.default_rng(4)
    space = PRESETS["dag"]
    genome = None
    for _ in range(200):  # find a sample with a merge and batch norm
        g = random_genome(rng, space, shape)[0]
        ops = {n["op"] for n in g["nodes"]}
        if {"batch_norm"} <= ops and ops & {"add", "concat"}:
            genome = g
            break
    assert genome is not None
    keras.utils.set_random_seed(0)  # op determinism may be on (the evaluator enables it)
    model = compile_model(check_model(genome, shape), genome)
    x = np.random.default_rng(0).random((4, *shape), dtype=np.float32)
    y = np.arange(4) % 10
    hist = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(hist.history["loss"][0])
    assert model.optimizer.__class__.__name__.lower() == genome["optimizer"]["name"]


def test_build_rejects_invalid_genomes():
    bad = baseline_genome((8, 8, 1))
    bad["nodes"][0]["op"] = "lambda"
    with pytest.raises(ValueError, match="unknown op"):
        build_model(bad, (8, 8, 1), 10)


def test_mixed_precision_keeps_a_float32_softmax_and_xla_yields_to_determinism():
    """What the evaluator does for mixed_precision / jit_compile: float16 compute, a float32
    softmax, loss scaling, the global policy back to float32; under op determinism (which the
    worker enables) Keras keeps XLA off, and training still works."""
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    shape = (8, 8, 1)
    genome = baseline_genome(shape)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(genome, shape, 10, output_dtype="float32")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert keras.mixed_precision.global_policy().name == "float32"
    assert model.get_layer("softmax").dtype_policy.name == "float32"
    assert model.output.dtype == "float32"
    hidden = [layer for layer in model.layers if layer.name not in ("input", "softmax")]
    assert hidden and all(layer.dtype_policy.name == "mixed_float16" for layer in hidden)

    was_deterministic = tf_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        compile_model(model, genome, jit_compile=True)
        # XLA has no deterministic max-pool gradient: under op determinism Keras keeps it off.
        assert model.jit_compile is False
        assert type(model.optimizer).__name__ == "LossScaleOptimizer"
        x = np.random.default_rng(0).random((8, *shape), dtype=np.float32)
        y = np.arange(8) % 10
        keras.utils.set_random_seed(0)
        hist = model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    finally:
        if not was_deterministic:
            tf_config.disable_op_determinism()
    assert np.isfinite(hist.history["loss"][0])
    assert model.predict(x[:2], verbose=0).dtype == np.float32


def test_compile_leaves_xla_to_keras_unless_asked():
    shape = (8, 8, 1)
    genome = baseline_genome(shape)
    model = compile_model(build_model(genome, shape, 10), genome)
    assert model.get_layer("softmax").dtype_policy.name == "float32"
    assert type(model.optimizer).__name__ != "LossScaleOptimizer"


@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop"])
def test_cosine_decay_anneals_the_genome_learning_rate_to_zero(name):
    """The final's optional schedule starts at the genome's rate and ends at zero; without
    ``decay_steps`` the rate stays the genome's (what candidates and the protocol train with)."""
    from worker.model_builder import make_optimizer

    genome = baseline_genome((8, 8, 1))
    genome["optimizer"] = {"name": name, "learning_rate": 0.003, "momentum": 0.9}
    constant = make_optimizer(genome)
    annealed = make_optimizer(genome, decay_steps=10)
    for step, expected in ((0, 0.003), (5, 0.0015), (10, 0.0)):
        constant.iterations.assign(step)
        annealed.iterations.assign(step)
        assert float(constant.learning_rate) == pytest.approx(0.003)
        assert float(annealed.learning_rate) == pytest.approx(expected, abs=1e-7)
