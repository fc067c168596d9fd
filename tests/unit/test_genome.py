import copy
import json
import re
from typing import Any

import pytest

from backend.search import (
    baseline_genome,
    canonical_json,
    from_json,
    genome_hash,
    infer_shapes,
    to_json,
    validate_genome,
)


def conv(nid, src, filters=8, k=3, s=1, pad="same"):
    params = {
        "filters": filters,
        "kernel_size": k,
        "strides": s,
        "padding": pad,
        "activation": "relu",
    }
    return {"id": nid, "op": "conv2d", "inputs": [src], "params": params}


def genome(nodes, output):
    return {"nodes": nodes, "output": output, "optimizer": {"name": "adam", "learning_rate": 1e-3}}


CONTRACT_EXAMPLE: dict[str, Any] = {
    "nodes": [
        {
            "id": "n0",
            "op": "conv2d",
            "inputs": ["input"],
            "params": {
                "filters": 32,
                "kernel_size": 3,
                "strides": 1,
                "padding": "same",
                "activation": "relu",
            },
        },
        {
            "id": "n1",
            "op": "max_pool",
            "inputs": ["n0"],
            "params": {"pool_size": 2, "strides": 2, "padding": "valid"},
        },
        {"id": "n2", "op": "flatten", "inputs": ["n1"], "params": {}},
        {
            "id": "n3",
            "op": "dense",
            "inputs": ["n2"],
            "params": {"units": 128, "activation": "relu"},
        },
        {"id": "n4", "op": "dropout", "inputs": ["n3"], "params": {"rate": 0.25}},
    ],
    "output": "n4",
    "optimizer": {"name": "adam", "learning_rate": 0.001},
}


def test_contract_example_is_valid_with_expected_shapes():
    assert validate_genome(CONTRACT_EXAMPLE, (28, 28, 1)) == []
    shapes = infer_shapes(CONTRACT_EXAMPLE, (28, 28, 1))
    assert shapes["n0"] == (28, 28, 32) and shapes["n1"] == (14, 14, 32)
    assert shapes["n2"] == (14 * 14 * 32,) and shapes["n4"] == (128,)


def test_valid_padding_and_stride_arithmetic():
    g = genome(
        [
            conv("a", "input", k=5, s=2, pad="valid"),
            conv("b", "a", k=3, s=2),
            {"id": "f", "op": "flatten", "inputs": ["b"], "params": {}},
        ],
        "f",
    )
    shapes = infer_shapes(g, (28, 28, 3))
    assert shapes["a"] == (12, 12, 8)  # floor((28-5)/2)+1
    assert shapes["b"] == (6, 6, 8)  # ceil(12/2)


@pytest.mark.parametrize(
    ("mutilate", "message"),
    [
        (lambda g: g["nodes"].__setitem__(0, conv("n0", "input", k=5, pad="valid")), "collapses"),
        (lambda g: g.__setitem__("output", "n1"), "vector"),
        (lambda g: g["nodes"][0].__setitem__("op", "lambda"), "unknown op"),
        (lambda g: g["nodes"][0]["params"].__setitem__("activation", "eval"), "activation"),
        (lambda g: g["nodes"][0]["params"].__setitem__("config", {}), "params must be"),
        (lambda g: g["nodes"][1].__setitem__("inputs", ["n9"]), "not an earlier node"),
        (lambda g: g["nodes"][1].__setitem__("id", "n0"), "duplicate"),
        (lambda g: g["optimizer"].__setitem__("name", "lbfgs"), "optimizer"),
        (lambda g: g["optimizer"].__setitem__("learning_rate", 0), "learning_rate"),
        (lambda g: g["nodes"][4]["params"].__setitem__("rate", 1.0), "rate"),
        (lambda g: g.__setitem__("output", "n3"), "do not lead to the output"),
        (lambda g: g["nodes"][3].__setitem__("inputs", ["n1"]), "vector input"),
    ],
)
def test_invalid_genomes_are_reported(mutilate, message):
    g = copy.deepcopy(CONTRACT_EXAMPLE)
    g["nodes"][0]["params"]["kernel_size"] = 3
    mutilate(g)
    problems = validate_genome(g, (4, 4, 1))
    assert problems and message in problems[0], problems


def test_add_and_concat_shape_rules():
    ok_add = genome(
        [
            conv("a", "input"),
            conv("b", "input"),
            {"id": "m", "op": "add", "inputs": ["a", "b"], "params": {}},
            {"id": "g", "op": "global_avg_pool", "inputs": ["m"], "params": {}},
        ],
        "g",
    )
    assert validate_genome(ok_add, (8, 8, 1)) == []
    bad_add = copy.deepcopy(ok_add)
    bad_add["nodes"][1] = conv("b", "input", filters=4)
    assert "add inputs differ" in validate_genome(bad_add, (8, 8, 1))[0]
    cat = copy.deepcopy(bad_add)
    cat["nodes"][2]["op"] = "concat"
    assert validate_genome(cat, (8, 8, 1)) == []
    assert infer_shapes(cat, (8, 8, 1))["m"] == (8, 8, 12)
    bad_cat = copy.deepcopy(cat)
    bad_cat["nodes"][1] = conv("b", "input", filters=4, s=2)
    assert "concat inputs differ" in validate_genome(bad_cat, (8, 8, 1))[0]
    single = copy.deepcopy(ok_add)
    single["nodes"][2]["inputs"] = ["a"]
    assert validate_genome(single, (8, 8, 1))  # merges need >= 2 inputs


def test_json_round_trip():
    for g in (CONTRACT_EXAMPLE, baseline_genome((8, 8, 1))):
        assert from_json(to_json(g)) == g


def _reorder_keys(value):
    if isinstance(value, dict):
        return {k: _reorder_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reorder_keys(v) for v in value]
    return value


def test_hash_ignores_key_order_and_node_names():
    g = CONTRACT_EXAMPLE
    assert genome_hash(_reorder_keys(g)) == genome_hash(g)
    renamed = json.loads(re.sub(r'"n(\d)"', r'"layer_\1"', json.dumps(g)))
    assert renamed["nodes"][0]["id"] == "layer_0"
    assert validate_genome(renamed, (28, 28, 1)) == []
    assert genome_hash(renamed) == genome_hash(g)
    assert canonical_json(renamed) == canonical_json(g)


def test_hash_changes_with_any_gene():
    g = copy.deepcopy(CONTRACT_EXAMPLE)
    base = genome_hash(g)
    g["nodes"][0]["params"]["kernel_size"] = 5
    assert genome_hash(g) != base
    g2 = copy.deepcopy(CONTRACT_EXAMPLE)
    g2["optimizer"]["learning_rate"] = 3e-4
    assert genome_hash(g2) != base
