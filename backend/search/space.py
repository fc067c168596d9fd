"""The search space: a declarative, validated description of which CNNs a search may propose.

A search carries its space as JSON (the web form edits it), so every field is a plain list of
choices or a bound, and pydantic names the offending field when a value is wrong.
The architecture family is fixed (see ``arch.py``): ``conv blocks -> head -> dense layers``, where
a conv block is ``conv [-> batch_norm] [+ parallel branches merged by add|concat] [-> pool]
[-> dropout]`` and each dense layer may be followed by dropout.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Activation = Literal["relu", "sigmoid", "tanh", "elu", "selu", "gelu", "swish", "linear"]
ACTIVATIONS: tuple[str, ...] = ("relu", "sigmoid", "tanh", "elu", "selu", "gelu", "swish", "linear")
Padding = Literal["same", "valid"]
PoolKind = Literal["none", "max", "avg"]
Merge = Literal["add", "concat"]
Head = Literal["flatten", "global_avg", "global_max"]
OptimizerName = Literal["adam", "sgd", "rmsprop"]


# A choice list longer than this is refused (it only bloats the stored config).
MAX_CHOICES = 64


def _unique_nonempty(value: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(value) == 0:
        raise ValueError("must offer at least one choice")
    if len(value) > MAX_CHOICES:
        raise ValueError(f"must offer at most {MAX_CHOICES} choices")
    if len(set(value)) != len(value):
        raise ValueError("choices must be distinct")
    return value


class BranchSpace(BaseModel):
    """Parallel branches: short conv paths from a block's input merged into its output."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_branches: int = Field(default=0, ge=0, le=4, description="0 disables branches")
    max_depth: int = Field(default=1, ge=1, le=3, description="convs per branch")
    merge: tuple[Merge, ...] = ("add", "concat")
    probability: float = Field(
        default=0.0, ge=0.0, le=1.0, description="chance a sampled block branches"
    )

    @field_validator("merge")
    @classmethod
    def _choices(cls, v: tuple[Any, ...]) -> tuple[Any, ...]:
        return _unique_nonempty(v)


class SearchSpace(BaseModel):
    """All choices a search may make; every operator only picks values listed here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conv_blocks_min: int = Field(default=1, ge=0, le=32)
    conv_blocks_max: int = Field(default=4, ge=0, le=32)
    dense_layers_min: int = Field(default=0, ge=0, le=16)
    dense_layers_max: int = Field(default=2, ge=0, le=16)
    filters: tuple[int, ...] = (16, 32, 64, 128)
    kernel_sizes: tuple[int, ...] = (3, 5)
    strides: tuple[int, ...] = (1, 2)
    paddings: tuple[Padding, ...] = ("same", "valid")
    activations: tuple[Activation, ...] = ("relu", "tanh", "sigmoid")
    pooling: tuple[PoolKind, ...] = Field(default=("none", "max"), description="pool after a block")
    pool_size: int = Field(default=2, ge=1, le=8)
    pool_strides: int = Field(default=2, ge=1, le=8)
    batch_norm: tuple[bool, ...] = Field(
        default=(False,), description="batch norm after a block's conv"
    )
    block_dropout_rates: tuple[float, ...] = Field(
        default=(0.0,), description="dropout after a block"
    )
    branches: BranchSpace = BranchSpace()
    heads: tuple[Head, ...] = ("flatten",)
    units: tuple[int, ...] = (64, 128, 256)
    dropout_rates: tuple[float, ...] = Field(
        default=(0.0, 0.25, 0.5), description="after a dense layer"
    )
    optimizers: tuple[OptimizerName, ...] = ("adam",)
    learning_rates: tuple[float, ...] = (1e-3, 3e-4)
    momentums: tuple[float, ...] = Field(default=(0.9,), description="used by sgd only")
    max_params: int | None = Field(default=None, ge=1, description="reject candidates above this")
    max_flops: int | None = Field(default=None, ge=1, description="reject candidates above this")

    @field_validator(
        "filters",
        "kernel_sizes",
        "strides",
        "paddings",
        "activations",
        "pooling",
        "batch_norm",
        "block_dropout_rates",
        "heads",
        "units",
        "dropout_rates",
        "optimizers",
        "learning_rates",
        "momentums",
    )
    @classmethod
    def _choices(cls, v: tuple[Any, ...]) -> tuple[Any, ...]:
        return _unique_nonempty(v)

    @field_validator("filters", "units", "kernel_sizes", "strides")
    @classmethod
    def _positive_ints(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(x < 1 or x > 65536 for x in v):
            raise ValueError("values must be between 1 and 65536")
        return v

    @field_validator("block_dropout_rates", "dropout_rates")
    @classmethod
    def _rates(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0.0 <= x < 1.0 for x in v):
            raise ValueError("dropout rates must be in [0, 1)")
        return v

    @field_validator("learning_rates")
    @classmethod
    def _lrs(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0.0 < x <= 10.0 for x in v):
            raise ValueError("learning rates must be in (0, 10]")
        return v

    @field_validator("momentums")
    @classmethod
    def _momentums(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0.0 <= x < 1.0 for x in v):
            raise ValueError("momentum must be in [0, 1)")
        return v

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.conv_blocks_min > self.conv_blocks_max:
            raise ValueError("conv_blocks_min must be <= conv_blocks_max")
        if self.dense_layers_min > self.dense_layers_max:
            raise ValueError("dense_layers_min must be <= dense_layers_max")
        return self

    def allowed_ops(self) -> list[str]:
        """The genome ops this space can produce (for display and checks)."""
        ops = ["conv2d"] if self.conv_blocks_max > 0 else []
        if "max" in self.pooling:
            ops.append("max_pool")
        if "avg" in self.pooling:
            ops.append("avg_pool")
        if True in self.batch_norm:
            ops.append("batch_norm")
        if self.branches.max_branches > 0 and self.conv_blocks_max > 0:
            ops += list(self.branches.merge)
        ops += [
            {"flatten": "flatten", "global_avg": "global_avg_pool"}.get(h, "global_max_pool")
            for h in self.heads
        ]
        if self.dense_layers_max > 0:
            ops.append("dense")
        if any(r > 0 for r in self.block_dropout_rates + self.dropout_rates):
            ops.append("dropout")
        return ops


#: Ready-made spaces. ``seed`` is exactly the seed primer's space (and PEERS.md protocol).
PRESETS: dict[str, SearchSpace] = {
    "seed": SearchSpace(),
    "tiny": SearchSpace(
        conv_blocks_min=1,
        conv_blocks_max=2,
        dense_layers_min=0,
        dense_layers_max=1,
        filters=(4, 8, 16),
        kernel_sizes=(3,),
        strides=(1,),
        paddings=("same", "valid"),
        activations=("relu", "tanh"),
        pooling=("none", "max"),
        units=(16, 32),
        dropout_rates=(0.0, 0.25),
        learning_rates=(1e-2, 3e-3),
    ),
    "dag": SearchSpace(
        conv_blocks_min=1,
        conv_blocks_max=5,
        dense_layers_min=0,
        dense_layers_max=2,
        filters=(16, 32, 64),
        kernel_sizes=(1, 3, 5),
        strides=(1, 2),
        paddings=("same", "valid"),
        activations=("relu", "elu", "swish", "gelu"),
        pooling=("none", "max", "avg"),
        batch_norm=(False, True),
        block_dropout_rates=(0.0, 0.1),
        branches=BranchSpace(max_branches=2, max_depth=2, merge=("add", "concat"), probability=0.4),
        heads=("flatten", "global_avg", "global_max"),
        units=(64, 128),
        dropout_rates=(0.0, 0.25),
        optimizers=("adam", "sgd", "rmsprop"),
        learning_rates=(1e-3, 3e-4, 1e-2),
        momentums=(0.0, 0.9),
    ),
}


def baseline_genome(input_shape: tuple[int, int, int]) -> dict[str, Any]:
    """The seed's hand-designed CNN: Conv32-Pool-Conv64-Pool-Flatten-Dense128, adam 1e-3.

    The seed uses ``same`` convs and 2x2/2 valid pools; a pool that would collapse a tiny
    input switches to ``same`` padding so the model stays buildable (8x8 digits work).
    """
    h, w = input_shape[0], input_shape[1]
    nodes: list[dict[str, Any]] = []
    prev = "input"
    for filters in (32, 64):
        cid, pid = f"n{len(nodes)}", f"n{len(nodes) + 1}"
        nodes.append(
            {
                "id": cid,
                "op": "conv2d",
                "inputs": [prev],
                "params": {
                    "filters": filters,
                    "kernel_size": 3,
                    "strides": 1,
                    "padding": "same",
                    "activation": "relu",
                },
            }
        )
        pad = "valid" if min(h, w) >= 2 else "same"
        nodes.append(
            {
                "id": pid,
                "op": "max_pool",
                "inputs": [cid],
                "params": {"pool_size": 2, "strides": 2, "padding": pad},
            }
        )
        h = (h - 2) // 2 + 1 if pad == "valid" else -(-h // 2)
        w = (w - 2) // 2 + 1 if pad == "valid" else -(-w // 2)
        prev = pid
    nodes.append({"id": "n4", "op": "flatten", "inputs": [prev], "params": {}})
    nodes.append(
        {
            "id": "n5",
            "op": "dense",
            "inputs": ["n4"],
            "params": {"units": 128, "activation": "relu"},
        }
    )
    return {"nodes": nodes, "output": "n5", "optimizer": {"name": "adam", "learning_rate": 0.001}}
