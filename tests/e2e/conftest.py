"""A real nasboard server (SQLite + embedded Celery worker) and Debian's Chromium for e2e tests."""

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


def _serve_argv(port: int) -> list[str]:
    script = Path(sys.executable).with_name("nasboard")
    fallback = [sys.executable, "-c", "from backend.cli import main; main()"]
    head = [str(script)] if script.exists() else fallback
    return [*head, "serve", "--host", "127.0.0.1", "--port", str(port)]


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


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``nasboard serve`` in a private data dir; yield its base URL; SIGTERM it after."""
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("the embedded worker needs TensorFlow (pip install -e '.[tf]')")
    data_dir = tmp_path_factory.mktemp("nasboard-data")
    port = _free_port()
    env = {**os.environ, "NASBOARD_DATA_DIR": str(data_dir)}
    env.pop("NASBOARD_DATABASE_URL", None)
    env.pop("NASBOARD_BROKER_URL", None)
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        _serve_argv(port),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"nasboard serve exited ({proc.returncode}):\n"
                    + (data_dir / "server.log").read_text(errors="replace")[-3000:]
                )
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("nasboard serve did not become healthy in 60 s")
            time.sleep(0.3)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        # The embedded worker lives in the server's process group (start_new_session) and may
        # still be finishing a task (Celery's warm shutdown): wait for it, then force it.
        _stop_group(proc.pid)
        log.close()


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
        lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None,
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
