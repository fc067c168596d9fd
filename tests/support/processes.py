"""Start real nasboard processes (API server, Celery workers) for integration tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
NASBOARD = [sys.executable, "-m", "backend.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nasboard_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NASBOARD_DATABASE_URL", None)
    env.pop("NASBOARD_BROKER_URL", None)
    env["NASBOARD_DATA_DIR"] = str(data_dir)
    env["NASBOARD_TF_THREADS"] = env.get("NASBOARD_TF_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class Proc:
    """A child process whose output goes to a log file the test can print on failure."""

    def __init__(self, argv: list[str], env: Mapping[str, str], log: Path) -> None:
        self.log_path = log
        self._log = log.open("ab")
        self.popen = subprocess.Popen(
            argv,
            env=dict(env),
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self._log.close()

    def kill(self) -> None:
        self.stop(signal.SIGKILL, timeout=10)

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def start_server(
    env: Mapping[str, str], log: Path, *, embedded_worker: bool, demo: bool = False
) -> tuple[Proc, str]:
    port = free_port()
    argv = [*NASBOARD, "serve", "--port", str(port)]
    if not embedded_worker:
        argv.append("--no-embedded-worker")
    if demo:
        argv.append("--demo")
    proc = Proc(argv, env, log)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc)
    return proc, url


def start_worker(env: Mapping[str, str], log: Path, concurrency: int = 1) -> Proc:
    return Proc([*NASBOARD, "worker", "--concurrency", str(concurrency)], env, log)


@contextlib.contextmanager
def embedded_stack(tmp: Path) -> Iterator[tuple[Proc, str]]:
    """The embedded default: ``nasboard serve`` with its worker, on SQLite under ``tmp``; its
    log printed if the body fails, the process stopped in any case."""
    server, url = start_server(nasboard_env(tmp / "data"), tmp / "serve.log", embedded_worker=True)
    try:
        yield server, url
    except BaseException:
        print("--- serve ---\n" + server.tail(120))
        raise
    finally:
        server.stop()


@contextlib.contextmanager
def services_stack(
    tmp: Path, postgres_url: str, redis_url: str, concurrency: int = 1
) -> Iterator[tuple[Proc, Proc, str]]:
    """Scale-out: the API (no embedded worker) and one real ``celery worker`` process of
    ``concurrency`` over Redis, both on PostgreSQL; their logs printed if the body fails."""
    env = nasboard_env(
        tmp / "data", NASBOARD_DATABASE_URL=postgres_url, NASBOARD_BROKER_URL=redis_url
    )
    server, url = start_server(env, tmp / "api.log", embedded_worker=False)
    worker = start_worker(env, tmp / "worker.log", concurrency=concurrency)
    try:
        yield server, worker, url
    except BaseException:
        print("--- api ---\n" + server.tail() + "\n--- worker ---\n" + worker.tail())
        raise
    finally:
        worker.stop()
        server.stop()


def wait_healthy(url: str, proc: Proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"server exited early:\n{proc.tail()}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"server not healthy in {timeout}s:\n{proc.tail()}")


def get_workers(url: str) -> dict[str, Any]:
    """GET /api/workers: the training processes the API knows, alive or recently gone."""
    response = httpx.get(f"{url}/api/workers", timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_workers(url: str, count: int, timeout: float = 120) -> list[dict[str, Any]]:
    """The alive training processes (GET /api/workers) once ``count`` have registered with their
    device, each when it starts. A test that needs every worker to take tasks submits after
    this: a worker still importing TensorFlow when the queue drains trains nothing."""
    deadline = time.monotonic() + timeout
    alive: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        alive = [w for w in get_workers(url)["items"] if w["alive"] and w["device"]]
        if len(alive) >= count:
            break
        time.sleep(0.5)
    assert len(alive) == count, alive
    return alive
