"""`nasboard serve`'s embedded worker ends with the server, however the server ends."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from tests.support.processes import nasboard_env, start_server, wait_workers


def _stat(pid: int | str) -> list[str] | None:
    """``state ppid ...`` of /proc/PID/stat ("pid (comm) state ppid ...": comm may hold
    spaces, so split after its ")"); None once the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(entry.name)
            if fields is not None and int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _gone(pid: int) -> bool:
    fields = _stat(pid)
    return fields is None or fields[0] == "Z"  # exited, not yet reaped by its (new) parent


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_embedded_worker_ends_with_the_server(tmp_path: Path, sig: signal.Signals) -> None:
    env = nasboard_env(tmp_path / "data")
    server, url = start_server(env, tmp_path / "serve.log", embedded_worker=True)
    workers: list[int] = []
    try:
        wait_workers(url, 1)  # the worker is up (its TensorFlow imported), not still starting
        workers = _children(server.popen.pid)
        assert len(workers) == 1, workers
        os.kill(server.popen.pid, sig)  # the server alone, as `kill` or a service manager does
        assert server.popen.wait(timeout=30) in (-sig, 128 + sig)
        deadline = time.monotonic() + 30
        while not _gone(workers[0]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _gone(workers[0]), f"the embedded worker {workers[0]} outlived the server"
    except BaseException:
        print("--- serve ---\n" + server.tail(80))
        raise
    finally:
        server.stop()
        for pid in workers:  # left behind when the test fails: not into the next test
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
