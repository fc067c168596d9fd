"""A child process that lives exactly as long as its parent: `nasboard serve`'s embedded worker.

Why: the embedded worker trains searches from the server's data dir; one left behind after the
server is gone keeps taking (and half-finishing) work that a restarted server hands out again.
Two ways a server ends without its ``finally`` running are handled here:

- SIGTERM (``kill``, a service manager, ``docker stop``): uvicorn shuts down gracefully, then
  restores the handler it found and raises the signal again; with Python's default handler that
  ends the process on the spot. ``exit_on_sigterm`` installs one that raises ``SystemExit``, so
  the caller's ``finally`` stops the child.
- SIGKILL or a crash: no code runs in the parent at all. On Linux the child asks the kernel for
  SIGTERM when its parent dies (``PR_SET_PDEATHSIG``); elsewhere it may outlive the parent.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from types import FrameType

#: prctl(2) option: the signal the calling process gets when its parent thread dies.
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """In the child, before exec: SIGTERM when the parent dies (and now, if it already did)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def start(argv: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start ``argv`` as a child that gets SIGTERM when this process dies (Linux)."""
    if sys.platform.startswith("linux"):
        parent = os.getpid()
        return subprocess.Popen(argv, env=dict(env), preexec_fn=lambda: _die_with_parent(parent))
    return subprocess.Popen(argv, env=dict(env))


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    """SIGTERM (a Celery worker's warm shutdown: it finishes its task), then SIGKILL after
    ``timeout_s``; the killed task's lease expires and another worker takes it up again."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def exit_on_sigterm() -> None:
    """SIGTERM raises ``SystemExit(143)`` in the main thread, so ``finally`` blocks run."""
    signal.signal(signal.SIGTERM, _raise_exit)
