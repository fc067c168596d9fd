"""Fault injection for resilience tests and drills: ``NASBOARD_FAULT_FAIL=G:I[,G:I...]`` makes
the candidate at generation G, index I fail on every attempt. Off unless the variable is set."""

from __future__ import annotations

import os


class InjectedFault(RuntimeError):
    pass


def check(generation: int, index: int) -> None:
    spec = os.environ.get("NASBOARD_FAULT_FAIL", "")
    targets = {item.strip() for item in spec.split(",") if item.strip()}
    if f"{generation}:{index}" in targets:
        raise InjectedFault(f"injected fault for candidate {generation}:{index}")
