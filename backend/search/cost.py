"""Parameter and FLOP counts of a genome, computed without TensorFlow.

Cost is knowable before training, so the engine can reject candidates that are too big and the
browser can show sizes at once. ``params`` equals Keras ``model.count_params()`` for the model
``worker/model_builder.py`` builds (including the evaluator's ``Dense(num_classes, softmax)``;
batch norm counts 4 per channel: gamma, beta, moving mean, moving variance).
FLOPs are 2 x multiply-accumulates of the conv and dense layers (the usual convention);
pooling, batch norm, merges and activations are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from .genome import Genome, Shape, infer_shapes

SOFTMAX_ID = "softmax"


@dataclass(frozen=True)
class NodeInfo:
    """One layer's inferred facts."""

    id: str
    op: str
    inputs: tuple[str, ...]
    output_shape: Shape
    params: int
    flops: int


def _node_cost(op: str, p: dict, ins: list[Shape], out: Shape) -> tuple[int, int]:
    if op == "conv2d":
        k, cin = p["kernel_size"], ins[0][-1]
        weights = k * k * cin * p["filters"]
        return weights + p["filters"], 2 * out[0] * out[1] * weights
    if op == "dense":
        return ins[0][0] * p["units"] + p["units"], 2 * ins[0][0] * p["units"]
    if op == "batch_norm":
        return 4 * ins[0][-1], 0
    return 0, 0


def infer(genome: Genome, input_shape: tuple[int, ...], num_classes: int) -> list[NodeInfo]:
    """Per-node shapes and costs, in genome order, plus a final ``softmax`` classifier node.

    Raises ``GenomeError`` for an invalid genome.
    """
    shapes = infer_shapes(genome, input_shape)
    infos: list[NodeInfo] = []
    for node in genome["nodes"]:
        ins = [shapes[s] for s in node["inputs"]]
        params, flops = _node_cost(node["op"], node["params"], ins, shapes[node["id"]])
        infos.append(
            NodeInfo(
                node["id"], node["op"], tuple(node["inputs"]), shapes[node["id"]], params, flops
            )
        )
    vec = shapes[genome["output"]][0]
    infos.append(
        NodeInfo(
            SOFTMAX_ID,
            "dense",
            (genome["output"],),
            (num_classes,),
            vec * num_classes + num_classes,
            2 * vec * num_classes,
        )
    )
    return infos


def cost(genome: Genome, input_shape: tuple[int, ...], num_classes: int) -> tuple[int, int]:
    """``(params, flops)`` of the whole model the evaluator trains."""
    infos = infer(genome, input_shape, num_classes)
    return sum(i.params for i in infos), sum(i.flops for i in infos)
