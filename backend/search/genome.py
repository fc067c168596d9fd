"""Helpers over the genome JSON: validation, shape inference, canonical form, hashing.

The genome is the contract between the engine, the database, the browser and the evaluator, so
it is validated here without TensorFlow: a genome that passes ``validate_genome`` builds in Keras
with exactly the inferred shapes (``tests/unit/test_model_builder_tf.py`` checks this).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

Shape = tuple[int, ...]
Genome = dict[str, Any]

ACTIVATIONS = frozenset({"relu", "sigmoid", "tanh", "elu", "selu", "gelu", "swish", "linear"})
OPTIMIZERS = frozenset({"adam", "sgd", "rmsprop"})
PADDINGS = frozenset({"same", "valid"})
#: op -> required params (name -> kind). Unknown params are rejected, so nothing is smuggled in.
OP_PARAMS: dict[str, dict[str, str]] = {
    "conv2d": {
        "filters": "pos_int",
        "kernel_size": "pos_int",
        "strides": "pos_int",
        "padding": "padding",
        "activation": "activation",
    },
    "max_pool": {"pool_size": "pos_int", "strides": "pos_int", "padding": "padding"},
    "avg_pool": {"pool_size": "pos_int", "strides": "pos_int", "padding": "padding"},
    "batch_norm": {},
    "dropout": {"rate": "rate"},
    "add": {},
    "concat": {},
    "flatten": {},
    "global_avg_pool": {},
    "global_max_pool": {},
    "dense": {"units": "pos_int", "activation": "activation"},
}
MERGE_OPS = frozenset({"add", "concat"})
RESERVED_IDS = frozenset({"input", "softmax"})
_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class GenomeError(ValueError):
    """A genome that is malformed or infeasible for the given input shape."""


def to_json(genome: Genome) -> str:
    """Serialise a genome (stable key order, so stored text diffs cleanly)."""
    return json.dumps(genome, sort_keys=True)


def from_json(text: str) -> Genome:
    """Parse a genome serialised by ``to_json`` (or any JSON with the same structure)."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise GenomeError("a genome must be a JSON object")
    return value


def _conv_out(size: int, kernel: int, stride: int, padding: str) -> int:
    """Keras output length of a conv/pool window along one axis."""
    if padding == "same":
        return -(-size // stride)
    return (size - kernel) // stride + 1 if size >= kernel else 0


def _check_param(node_id: str, name: str, kind: str, value: Any) -> None:
    where = f"node {node_id}: param {name}"
    if kind == "pos_int":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65536:
            raise GenomeError(f"{where} must be an integer in [1, 65536], got {value!r}")
    elif kind == "padding":
        if value not in PADDINGS:
            raise GenomeError(f"{where} must be one of {sorted(PADDINGS)}, got {value!r}")
    elif kind == "activation":
        if value not in ACTIVATIONS:
            raise GenomeError(f"{where} must be one of {sorted(ACTIVATIONS)}, got {value!r}")
    elif kind == "rate" and (
        isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < 1.0
    ):
        raise GenomeError(f"{where} must be a number in [0, 1), got {value!r}")


def _node_shape(node: dict[str, Any], ins: list[Shape]) -> Shape:
    """Output shape (without batch) of one node, or GenomeError if infeasible."""
    op, nid, p = node["op"], node["id"], node["params"]
    if op in MERGE_OPS:
        if len(ins) < 2:
            raise GenomeError(f"node {nid}: {op} needs at least 2 inputs")
    elif len(ins) != 1:
        raise GenomeError(f"node {nid}: {op} takes exactly 1 input")
    x = ins[0]
    image_ops = {"conv2d", "max_pool", "avg_pool", "flatten", "global_avg_pool", "global_max_pool"}
    if op in image_ops and len(x) != 3:
        raise GenomeError(f"node {nid}: {op} needs an image input, got shape {x}")
    if op == "conv2d":
        k, s, pad = p["kernel_size"], p["strides"], p["padding"]
        h, w = _conv_out(x[0], k, s, pad), _conv_out(x[1], k, s, pad)
        out: Shape = (h, w, p["filters"])
    elif op in ("max_pool", "avg_pool"):
        k, s, pad = p["pool_size"], p["strides"], p["padding"]
        out = (_conv_out(x[0], k, s, pad), _conv_out(x[1], k, s, pad), x[2])
    elif op in ("batch_norm", "dropout"):
        out = x
    elif op == "add":
        if any(s != x for s in ins):
            raise GenomeError(f"node {nid}: add inputs differ in shape {ins}")
        out = x
    elif op == "concat":
        if any(len(s) != len(x) or s[:-1] != x[:-1] for s in ins):
            raise GenomeError(f"node {nid}: concat inputs differ outside channels {ins}")
        out = (*x[:-1], sum(s[-1] for s in ins))
    elif op == "flatten":
        out = (x[0] * x[1] * x[2],)
    elif op in ("global_avg_pool", "global_max_pool"):
        out = (x[2],)
    elif op == "dense":
        if len(x) != 1:
            raise GenomeError(f"node {nid}: dense needs a vector input, got shape {x}")
        out = (p["units"],)
    else:  # pragma: no cover - ops are checked before
        raise GenomeError(f"node {nid}: unknown op {op!r}")
    if any(d < 1 for d in out):
        raise GenomeError(f"node {nid}: {op} collapses a spatial dimension to {out}")
    return out


def infer_shapes(genome: Genome, input_shape: tuple[int, ...]) -> dict[str, Shape]:
    """Check structure and feasibility; return every node's output shape (batch excluded).

    The result includes ``"input"``. Raises ``GenomeError`` with a message naming the node.
    """
    if not isinstance(genome, dict):
        raise GenomeError("a genome must be an object")
    extra = set(genome) - {"nodes", "output", "optimizer"}
    if extra:
        raise GenomeError(f"unknown genome keys {sorted(extra)}")
    nodes = genome.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        raise GenomeError("nodes must be a non-empty list")
    if len(input_shape) != 3 or any(int(d) < 1 for d in input_shape):
        raise GenomeError(f"input_shape must be (height, width, channels), got {input_shape}")
    shapes: dict[str, Shape] = {"input": tuple(int(d) for d in input_shape)}
    consumers: set[str] = set()
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or set(node) != {"id", "op", "inputs", "params"}:
            raise GenomeError(f"nodes[{i}] must have exactly id, op, inputs, params")
        nid, op, inputs, params = node["id"], node["op"], node["inputs"], node["params"]
        if not isinstance(nid, str) or not _ID_RE.match(nid) or nid in RESERVED_IDS:
            raise GenomeError(f"nodes[{i}]: invalid id {nid!r}")
        if nid in shapes:
            raise GenomeError(f"nodes[{i}]: duplicate id {nid!r}")
        if op not in OP_PARAMS:
            raise GenomeError(f"node {nid}: unknown op {op!r}")
        if not isinstance(inputs, list) or not all(isinstance(s, str) for s in inputs):
            raise GenomeError(f"node {nid}: inputs must be a list of ids")
        for src in inputs:
            if src not in shapes:
                raise GenomeError(f"node {nid}: input {src!r} is not an earlier node")
        if len(set(inputs)) != len(inputs):
            raise GenomeError(f"node {nid}: repeated input")
        if not isinstance(params, dict):
            raise GenomeError(f"node {nid}: params must be an object")
        spec = OP_PARAMS[op]
        if set(params) != set(spec):
            raise GenomeError(f"node {nid}: {op} params must be exactly {sorted(spec)}")
        for name, kind in spec.items():
            _check_param(nid, name, kind, params[name])
        shapes[nid] = _node_shape(node, [shapes[s] for s in inputs])
        consumers.update(inputs)
    out = genome.get("output")
    if not isinstance(out, str) or out not in shapes or out == "input":
        raise GenomeError(f"output must name a node, got {out!r}")
    if len(shapes[out]) != 1:
        raise GenomeError(f"output node {out} must be a vector, got shape {shapes[out]}")
    dangling = [n["id"] for n in nodes if n["id"] != out and n["id"] not in consumers]
    if dangling:
        raise GenomeError(f"nodes {dangling} do not lead to the output")
    _check_optimizer(genome.get("optimizer"))
    return shapes


def _check_optimizer(opt: Any) -> None:
    if not isinstance(opt, dict):
        raise GenomeError("optimizer must be an object")
    name = opt.get("name")
    if name not in OPTIMIZERS:
        raise GenomeError(f"optimizer.name must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    allowed = {"name", "learning_rate", "momentum"} if name == "sgd" else {"name", "learning_rate"}
    if set(opt) - allowed or "learning_rate" not in opt:
        raise GenomeError(f"optimizer keys must be within {sorted(allowed)} with learning_rate")
    lr = opt["learning_rate"]
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 < lr <= 10:
        raise GenomeError(f"optimizer.learning_rate must be in (0, 10], got {lr!r}")
    mom = opt.get("momentum", 0.0)
    if isinstance(mom, bool) or not isinstance(mom, int | float) or not 0 <= mom < 1:
        raise GenomeError(f"optimizer.momentum must be in [0, 1), got {mom!r}")


def validate_genome(genome: Any, input_shape: tuple[int, ...]) -> list[str]:
    """Problems that stop ``genome`` from building for ``input_shape``; empty means valid."""
    try:
        infer_shapes(genome, input_shape)
    except GenomeError as exc:
        return [str(exc)]
    except (KeyError, TypeError, AttributeError) as exc:  # defensive: malformed values
        return [f"malformed genome: {exc!r}"]
    return []


def canonical(genome: Genome) -> Genome:
    """The genome with node ids renamed by position (``n0``, ``n1``...).

    Two genomes that differ only in how their nodes are named share this form.
    """
    rename = {"input": "input"}
    for i, node in enumerate(genome["nodes"]):
        rename[node["id"]] = f"n{i}"
    nodes = [
        {
            "id": rename[n["id"]],
            "op": n["op"],
            "inputs": [rename.get(s, s) for s in n["inputs"]],
            "params": dict(n["params"]),
        }
        for n in genome["nodes"]
    ]
    return {
        "nodes": nodes,
        "output": rename.get(genome["output"], genome["output"]),
        "optimizer": copy.deepcopy(genome["optimizer"]),
    }


def canonical_json(genome: Genome) -> str:
    """Compact, key-sorted JSON of ``canonical(genome)``."""
    return json.dumps(canonical(genome), sort_keys=True, separators=(",", ":"))


def genome_hash(genome: Genome) -> str:
    """sha256 hex digest of the canonical form: key order and node naming do not matter."""
    return hashlib.sha256(canonical_json(genome).encode()).hexdigest()
