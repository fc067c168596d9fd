"""The CLI side of accounts: serve refuses a non-loopback host without auth; users, tokens."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from backend.cli import is_loopback
from tests.support.processes import NASBOARD, ROOT, Proc, free_port, nasboard_env, wait_healthy


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("nas.example", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3"])
def test_serve_on_a_non_loopback_host_without_auth_refuses(tmp_path: Path, host: str) -> None:
    env = nasboard_env(tmp_path / "data", NASBOARD_AUTH="off")
    result = subprocess.run(
        [*NASBOARD, "serve", "--host", host, "--port", str(free_port()), "--no-migrate"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "refusing to serve" in result.stderr and "NASBOARD_AUTH=required" in result.stderr


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_users_and_tokens_from_the_cli_against_a_live_server(tmp_path: Path) -> None:
    """`user create`, `token create/revoke` and a real `nasboard serve` with auth required."""
    env = nasboard_env(tmp_path / "data", NASBOARD_AUTH="required")
    assert _cli(env, "db", "upgrade").returncode == 0
    made = _cli(env, "user", "create", "ada", "--admin", "--password-stdin", stdin="a-long-pass\n")
    assert made.returncode == 0, made.stderr
    assert _cli(env, "user", "create", "ada", "--password-stdin", stdin="x" * 9).returncode == 1
    short = _cli(env, "user", "create", "bea", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least" not in short.stdout
    issued = _cli(env, "token", "create", "ada", "--name", "ci")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert token.startswith("nbt_") and "shown once" in issued.stderr
    listed = _cli(env, "token", "list")
    assert token not in listed.stdout and "ci" in listed.stdout

    log = tmp_path / "server.log"
    port = free_port()
    proc = Proc([*NASBOARD, "serve", "--port", str(port), "--no-embedded-worker"], env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        assert httpx.get(f"{url}/api/searches").status_code == 401
        auth = {"Authorization": f"Bearer {token}"}
        me = httpx.get(f"{url}/api/auth/me", headers=auth)
        assert me.status_code == 200 and me.json()["name"] == "ada"
        page = httpx.get(f"{url}/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        login = httpx.post(
            f"{url}/api/auth/login", json={"username": "ada", "password": "a-long-pass"}
        )
        assert login.status_code == 200
        cookie = {"nasboard_session": login.cookies["nasboard_session"]}
        assert httpx.get(f"{url}/api/searches", cookies=cookie).status_code == 200
        revoked = _cli(env, "token", "revoke", "--token-stdin", stdin=token + "\n")
        assert revoked.returncode == 0, revoked.stderr
        assert httpx.get(f"{url}/api/searches", headers=auth).status_code == 401
    finally:
        proc.stop()
