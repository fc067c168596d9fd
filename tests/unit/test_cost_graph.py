from backend.search import baseline_genome, cost, describe, infer


def test_cost_counts_every_layer_kind():
    g = {
        "nodes": [
            {
                "id": "c",
                "op": "conv2d",
                "inputs": ["input"],
                "params": {
                    "filters": 4,
                    "kernel_size": 3,
                    "strides": 1,
                    "padding": "same",
                    "activation": "relu",
                },
            },
            {"id": "bn", "op": "batch_norm", "inputs": ["c"], "params": {}},
            {
                "id": "b",
                "op": "conv2d",
                "inputs": ["input"],
                "params": {
                    "filters": 2,
                    "kernel_size": 1,
                    "strides": 1,
                    "padding": "valid",
                    "activation": "linear",
                },
            },
            {"id": "cat", "op": "concat", "inputs": ["bn", "b"], "params": {}},
            {
                "id": "p",
                "op": "avg_pool",
                "inputs": ["cat"],
                "params": {"pool_size": 2, "strides": 2, "padding": "valid"},
            },
            {"id": "g", "op": "global_max_pool", "inputs": ["p"], "params": {}},
            {
                "id": "d",
                "op": "dense",
                "inputs": ["g"],
                "params": {"units": 5, "activation": "tanh"},
            },
        ],
        "output": "d",
        "optimizer": {"name": "sgd", "learning_rate": 0.01, "momentum": 0.9},
    }
    shape, classes = (6, 6, 3), 7
    infos = {i.id: i for i in infer(g, shape, classes)}
    assert infos["c"].params == 3 * 3 * 3 * 4 + 4
    assert infos["c"].flops == 2 * 6 * 6 * 4 * 3 * 3 * 3
    assert infos["bn"].params == 4 * 4
    assert infos["b"].params == 3 * 2 + 2
    assert infos["cat"].output_shape == (6, 6, 6)
    assert infos["p"].output_shape == (3, 3, 6)
    assert infos["d"].params == 6 * 5 + 5 and infos["d"].flops == 2 * 6 * 5
    assert infos["softmax"].params == 5 * 7 + 7 and infos["softmax"].output_shape == (7,)
    params, flops = cost(g, shape, classes)
    assert params == sum(i.params for i in infos.values())
    assert flops == sum(i.flops for i in infos.values())


def test_describe_is_a_drawable_dag():
    shape = (28, 28, 1)
    g = baseline_genome(shape)
    d = describe(g, shape, 10)
    ids = [n["id"] for n in d["nodes"]]
    assert ids[0] == "input" and ids[-1] == "softmax"
    assert ids[1:-1] == [n["id"] for n in g["nodes"]]
    assert ["input", g["nodes"][0]["id"]] in d["edges"]
    assert [g["output"], "softmax"] in d["edges"]
    assert all(src in ids and dst in ids for src, dst in d["edges"])
    assert (d["total_params"], d["total_flops"]) == cost(g, shape, 10)
    for n in d["nodes"]:
        assert set(n) == {"id", "op", "label", "params", "output_shape", "param_count", "flops"}
    assert d["nodes"][1]["label"].startswith("Conv 32 3x3")
    assert d["nodes"][-1]["output_shape"] == [10]
