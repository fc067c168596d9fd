"""Deployments for kill tests: short leases so a lost worker's candidate returns quickly."""

from __future__ import annotations

from pathlib import Path

FAST_RECOVERY = {
    "NASBOARD_LEASE_S": "6",
    "NASBOARD_HEARTBEAT_S": "1",
    "NASBOARD_RECONCILE_S": "1",
    "NASBOARD_RESEND_AFTER_S": "5",
}


def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
