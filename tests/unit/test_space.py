import json

import pytest
from pydantic import ValidationError

from backend.search import PRESETS, SearchSpace, baseline_genome, cost, validate_genome
from backend.search.arch import decode


def test_seed_preset_is_the_seed_space():
    s = PRESETS["seed"]
    assert (s.conv_blocks_min, s.conv_blocks_max) == (1, 4)
    assert s.filters == (16, 32, 64, 128)
    assert s.kernel_sizes == (3, 5) and s.strides == (1, 2)
    assert set(s.paddings) == {"same", "valid"}
    assert set(s.activations) == {"relu", "tanh", "sigmoid"}
    assert set(s.pooling) == {"none", "max"} and (s.pool_size, s.pool_strides) == (2, 2)
    assert s.heads == ("flatten",)
    assert (s.dense_layers_min, s.dense_layers_max) == (0, 2) and s.units == (64, 128, 256)
    assert s.dropout_rates == (0.0, 0.25, 0.5)
    assert s.optimizers == ("adam",) and s.learning_rates == (1e-3, 3e-4)
    assert s.batch_norm == (False,) and s.branches.max_branches == 0


def test_presets_exist_and_dag_has_dag_features():
    assert {"seed", "tiny", "dag"} <= set(PRESETS)
    ops = set(PRESETS["dag"].allowed_ops())
    assert {"add", "concat", "batch_norm", "avg_pool", "global_avg_pool"} <= ops


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_space_json_round_trip(name):
    space = PRESETS[name]
    text = json.dumps(space.model_dump(mode="json"))
    assert SearchSpace.model_validate(json.loads(text)) == space


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"filters": []}, "filters"),
        ({"filters": [0, 8]}, "filters"),
        ({"kernel_sizes": [3, 3]}, "kernel_sizes"),
        ({"paddings": ["full"]}, "paddings"),
        ({"activations": ["relu", "softmax2"]}, "activations"),
        ({"dropout_rates": [1.5]}, "dropout_rates"),
        ({"learning_rates": [-1.0]}, "learning_rates"),
        ({"branches": {"probability": 2.0}}, "branches.probability"),
        ({"heads": ["gap"]}, "heads"),
        ({"unknown_knob": 1}, "unknown_knob"),
        ({"conv_blocks_min": -1}, "conv_blocks_min"),
    ],
)
def test_validation_errors_name_the_field(change, field):
    data = PRESETS["seed"].model_dump(mode="json") | change
    with pytest.raises(ValidationError) as info:
        SearchSpace.model_validate(data)
    locs = {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}
    assert any(loc == field or loc.startswith(field + ".") for loc in locs), locs


def test_min_above_max_is_rejected_with_field_names():
    with pytest.raises(ValidationError, match="conv_blocks_min"):
        SearchSpace(conv_blocks_min=3, conv_blocks_max=2)


@pytest.mark.parametrize("shape", [(28, 28, 1), (8, 8, 1), (32, 32, 3), (3, 3, 1)])
def test_baseline_is_valid_and_is_the_seed_cnn(shape):
    g = baseline_genome(shape)
    assert validate_genome(g, shape) == []
    arch = decode(g)
    assert [b.conv.filters for b in arch.blocks] == [32, 64]
    assert all(b.conv.kernel_size == 3 and b.conv.activation == "relu" for b in arch.blocks)
    assert all(b.pool is not None and b.pool.kind == "max" for b in arch.blocks)
    assert arch.head == "flatten" and [d.units for d in arch.dense] == [128]
    assert g["optimizer"] == {"name": "adam", "learning_rate": 0.001}


def test_baseline_cost_matches_hand_count_on_28x28():
    # conv 3*3*1*32+32, conv 3*3*32*64+64, dense 7*7*64*128+128, softmax 128*10+10
    expected = (9 * 32 + 32) + (9 * 32 * 64 + 64) + (7 * 7 * 64 * 128 + 128) + (128 * 10 + 10)
    assert cost(baseline_genome((28, 28, 1)), (28, 28, 1), 10)[0] == expected
