"""Genome -> nodes and edges for drawing a left-to-right DAG in the browser."""

from __future__ import annotations

from typing import Any

from .cost import SOFTMAX_ID, infer
from .genome import Genome

_ABBREV = {
    "max_pool": "MaxPool",
    "avg_pool": "AvgPool",
    "global_avg_pool": "GlobalAvgPool",
    "global_max_pool": "GlobalMaxPool",
    "batch_norm": "BatchNorm",
    "dropout": "Dropout",
    "flatten": "Flatten",
    "add": "Add",
    "concat": "Concat",
}


def label(op: str, params: dict[str, Any]) -> str:
    """A short human label such as ``Conv 32 3x3/1 same relu``."""
    if op == "conv2d":
        k = params["kernel_size"]
        return (
            f"Conv {params['filters']} {k}x{k}/{params['strides']} {params['padding']} "
            f"{params['activation']}"
        )
    if op in ("max_pool", "avg_pool"):
        k = params["pool_size"]
        return f"{_ABBREV[op]} {k}x{k}/{params['strides']} {params['padding']}"
    if op == "dense":
        return f"Dense {params['units']} {params['activation']}"
    if op == "dropout":
        return f"Dropout {params['rate']}"
    return _ABBREV.get(op, op)


def describe(genome: Genome, input_shape: tuple[int, ...], num_classes: int) -> dict[str, Any]:
    """Nodes (with shapes and costs), edges, and totals, including ``input`` and ``softmax``.

    Shapes exclude the batch axis and are lists, so the result is JSON-ready.
    """
    infos = infer(genome, input_shape, num_classes)
    by_id = {n["id"]: n for n in genome["nodes"]}
    nodes: list[dict[str, Any]] = [
        {
            "id": "input",
            "op": "input",
            "label": "Input " + "x".join(map(str, input_shape)),
            "params": {},
            "output_shape": list(input_shape),
            "param_count": 0,
            "flops": 0,
        }
    ]
    edges: list[list[str]] = []
    for info in infos:
        if info.id == SOFTMAX_ID:
            params: dict[str, Any] = {"units": num_classes, "activation": "softmax"}
            text = f"Dense {num_classes} softmax"
        else:
            params = dict(by_id[info.id]["params"])
            text = label(info.op, params)
        nodes.append(
            {
                "id": info.id,
                "op": "softmax" if info.id == SOFTMAX_ID else info.op,
                "label": text,
                "params": params,
                "output_shape": list(info.output_shape),
                "param_count": info.params,
                "flops": info.flops,
            }
        )
        edges.extend([src, info.id] for src in info.inputs)
    return {
        "nodes": nodes,
        "edges": edges,
        "total_params": sum(i.params for i in infos),
        "total_flops": sum(i.flops for i in infos),
    }
