"""Pure search core: genome format, search spaces, operators, strategies and the ask/tell engine.

Imports nothing of nasboard outside this package and no TensorFlow, database or HTTP code, so
an install without TensorFlow can run searches' logic and its tests.
"""

from __future__ import annotations

from .cost import NodeInfo, cost, infer
from .crossover import crossover
from .engine import Engine, EngineConfig, Proposal, Result, build_engine
from .genome import (
    GenomeError,
    canonical_json,
    from_json,
    genome_hash,
    infer_shapes,
    to_json,
    validate_genome,
)
from .graph import describe
from .mutation import mutate
from .sampling import random_genome
from .space import PRESETS, BranchSpace, SearchSpace, baseline_genome

__all__ = [
    "PRESETS",
    "BranchSpace",
    "Engine",
    "EngineConfig",
    "GenomeError",
    "NodeInfo",
    "Proposal",
    "Result",
    "SearchSpace",
    "baseline_genome",
    "build_engine",
    "canonical_json",
    "cost",
    "crossover",
    "describe",
    "from_json",
    "genome_hash",
    "infer",
    "infer_shapes",
    "mutate",
    "random_genome",
    "to_json",
    "validate_genome",
]
