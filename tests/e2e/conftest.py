"""A real nasboard API and worker (SQLite + the embedded broker) and Debian's Chromium for e2e."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _nasboard() -> list[str]:
    script = Path(sys.executable).with_name("nasboard")
    return [str(script)] if script.exists() else [sys.executable, "-m", "backend.cli"]


def _stop_group(pgid: int, grace_s: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


class Stack:
    """``nasboard serve --no-embedded-worker`` and a separate ``nasboard worker`` sharing one
    data dir (SQLite + the embedded filesystem broker), so a test can kill the API alone and
    start it again on the same port while the worker goes on training."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "NASBOARD_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
        self.env.pop("NASBOARD_DATABASE_URL", None)
        self.env.pop("NASBOARD_BROKER_URL", None)
        self.env.pop("NASBOARD_AUTH", None)
        self.api: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def _spawn(self, argv: list[str], log_name: str) -> subprocess.Popen[bytes]:
        log = (self.data_dir / log_name).open("ab")
        try:
            return subprocess.Popen(
                argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()  # the child has its own descriptor

    def start_api(self, timeout: float = 60) -> None:
        self.starts += 1
        argv = [*_nasboard(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.api = self._spawn([*argv, "--no-embedded-worker"], "api.log")
        deadline = time.monotonic() + timeout
        while True:
            if self.api.poll() is not None:
                raise RuntimeError(f"nasboard serve exited ({self.api.returncode}):\n{self.logs()}")
            try:
                if httpx.get(f"{self.base}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"nasboard serve not healthy in {timeout} s:\n{self.logs()}")
            time.sleep(0.2)

    def kill_api(self) -> None:
        """SIGKILL: no shutdown, open streams just break."""
        assert self.api is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.api.pid, signal.SIGKILL)
        self.api.wait(timeout=10)

    def start_worker(self) -> None:
        self.worker = self._spawn([*_nasboard(), "worker"], "worker.log")

    def logs(self, chars: int = 3000) -> str:
        out = []
        for name in ("api.log", "worker.log"):
            path = self.data_dir / name
            if path.exists():
                out.append(f"--- {name}\n" + path.read_text(errors="replace")[-chars:])
        return "\n".join(out)

    def stop(self) -> None:
        # The worker may be finishing a task (Celery's warm shutdown): wait, then force it.
        for proc in (self.api, self.worker):
            if proc is not None:
                _stop_group(proc.pid)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The API and a worker in a private data dir; both stopped after the session."""
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("the worker needs TensorFlow (pip install -e '.[tf]')")
    st = Stack(tmp_path_factory.mktemp("nasboard-data"))
    try:
        st.start_api()  # migrates the database before the worker opens it
        st.start_worker()
        yield st
    finally:
        st.stop()


@pytest.fixture(scope="session")
def server(stack: Stack) -> str:
    return stack.base


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


class ConsoleErrors(list):
    """JS errors the page logged; a test fails on any it did not announce with ``allow``."""

    def __init__(self) -> None:
        super().__init__()
        self.allowed: list[str] = []

    def allow(self, fragment: str) -> None:
        """An expected message, e.g. the browser's log line for a deliberate 422."""
        self.allowed.append(fragment)

    def check(self) -> None:
        bad = [e for e in self if not any(a in e for a in self.allowed)]
        assert not bad, "JavaScript errors in the page:\n" + "\n".join(bad)


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    pg = context.new_page()
    errors = ConsoleErrors()
    pg.on(
        "console",
        lambda m: (
            errors.append(f"console.{m.type}: {m.text} ({m.location.get('url', '')})")
            if m.type == "error"
            else None
        ),
    )
    pg.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    pg.errors = errors
    pg.base = server
    pg.set_default_timeout(20_000)
    yield pg
    context.close()
    errors.check()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
