"""Pytest plugin: real PostgreSQL and Redis servers for the tests that need them.

Enable it from the top-level ``tests/conftest.py``::

    pytest_plugins = ["tests.fixtures_services"]

Where the servers come from, in order:

PostgreSQL (``postgres_server_url``)
    1. ``NASBOARD_TEST_POSTGRES_URL`` (any ``postgresql[+driver]://`` URL to a database the
       user can ``CREATE DATABASE`` from);
    2. a server already answering on 127.0.0.1:5432 (user ``postgres``, trust auth, database
       ``test``, then ``postgres``);
    3. a throwaway cluster: ``initdb`` into a temporary folder and ``pg_ctl start`` on a free
       port, run as the ``postgres`` OS user when we are root; stopped at session end.

Redis (``redis_server_url``)
    1. ``NASBOARD_TEST_REDIS_URL`` (its database index is ignored: see Isolation);
    2. a server answering PING on 127.0.0.1:6379;
    3. a throwaway ``redis-server`` on a free port (no persistence); stopped at session end.

``NASBOARD_TEST_FORCE_THROWAWAY`` = ``1``/``all`` (both), ``postgres`` or ``redis`` skips
steps 1 and 2 for that service. A service that cannot be found or started makes the fixture
FAIL with the reasons; it never skips.

Isolation: ``postgres_url`` is a fresh empty database per test (dropped afterwards);
``redis_url`` is a Redis database index 1..N-1 leased for the test (flushed before and after;
on a shared server the lease is a key in database 0, so concurrent test sessions on one
machine never get the same index). Pub/sub channels are server-wide, not per index.

Tests that use any of these fixtures are marked ``services`` automatically, so
``pytest -m "not services"`` runs without PostgreSQL or Redis.

Only the standard library, psycopg and redis are used here.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from psycopg import sql

ENV_POSTGRES_URL = "NASBOARD_TEST_POSTGRES_URL"
ENV_REDIS_URL = "NASBOARD_TEST_REDIS_URL"
ENV_FORCE_THROWAWAY = "NASBOARD_TEST_FORCE_THROWAWAY"

LOCAL_HOST = "127.0.0.1"
LOCAL_POSTGRES_PORT = 5432
LOCAL_REDIS_PORT = 6379

TEST_DB_PREFIX = "nasboard_t_"
# Leases of Redis database indexes on a shared server live in database 0 under this prefix;
# tests get indexes 1..N-1.
REDIS_LEASE_PREFIX = "nasboard:test:redis-db-lease:"
REDIS_LEASE_TTL_S = 3600
REDIS_LEASE_WAIT_S = 120.0

SQLALCHEMY_SCHEME = "postgresql+psycopg"


# --------------------------------------------------------------------------- helpers


def wait_for_port(host: str, port: int, timeout: float = 30.0, interval: float = 0.05) -> bool:
    """Wait until a TCP connect to ``host:port`` succeeds; True if it did within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=min(1.0, timeout)):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)


def free_port(host: str = LOCAL_HOST) -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def forced_throwaway(service: str) -> bool:
    """Whether ``NASBOARD_TEST_FORCE_THROWAWAY`` asks for a throwaway ``service``."""
    value = os.environ.get(ENV_FORCE_THROWAWAY, "").strip().lower()
    if value in ("", "0", "no", "false", "off"):
        return False
    if value in ("1", "yes", "true", "on", "all"):
        return True
    return service in {part.strip() for part in value.split(",")}


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def to_sqlalchemy_url(url: str) -> str:
    """``postgres://``, ``postgresql://`` or ``postgresql+x://`` -> ``postgresql+psycopg://``."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgres", "postgresql"):
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    return f"{SQLALCHEMY_SCHEME}://{rest}"


def to_libpq_url(url: str) -> str:
    """A SQLAlchemy-style PostgreSQL URL as libpq (psycopg.connect) accepts it."""
    _, _, rest = url.partition("://")
    return f"postgresql://{rest}"


def with_database(url: str, dbname: str) -> str:
    """``url`` pointing at database ``dbname`` instead (query string kept)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def _redact(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


# --------------------------------------------------------------------------- PostgreSQL


@dataclass
class PostgresServer:
    """A PostgreSQL server the tests may create databases on."""

    url: str  # SQLAlchemy URL of the admin database (postgresql+psycopg://...)
    source: str  # "env", "local" or "throwaway"
    data_dir: Path | None = None
    owner: str | None = None  # OS user that runs the throwaway cluster (None: ourselves)
    bindir: Path | None = None
    version_num: int = 0
    reaper: subprocess.Popen[bytes] | None = None  # stops the cluster if pytest dies

    @property
    def libpq_url(self) -> str:
        return to_libpq_url(self.url)

    def connect(self, dbname: str | None = None) -> psycopg.Connection[Any]:
        url = self.libpq_url if dbname is None else with_database(self.libpq_url, dbname)
        return psycopg.connect(url, autocommit=True, connect_timeout=10)

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database; return its SQLAlchemy URL."""
        name = name or f"{TEST_DB_PREFIX}{uuid.uuid4().hex[:16]}"
        with self.connect() as conn:
            # template0: nobody is ever connected to it, so concurrent CREATEs never clash.
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
            )
        return with_database(self.url, name)

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            force = sql.SQL(" WITH (FORCE)") if self.version_num >= 130000 else sql.SQL("")
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {}{}").format(sql.Identifier(name), force)
            )


def _probe_postgres(url: str) -> tuple[int | None, str]:
    """(server_version_num, "") if ``url`` accepts a connection, else (None, reason)."""
    try:
        with psycopg.connect(to_libpq_url(url), autocommit=True, connect_timeout=5) as conn:
            return conn.info.server_version, ""
    except Exception as exc:
        return None, f"{_redact(url)}: {type(exc).__name__}: {str(exc).strip()}"


def _find_pg_bindir() -> Path | None:
    candidates: list[Path] = []
    env_bindir = os.environ.get("NASBOARD_TEST_PG_BINDIR")
    if env_bindir:
        candidates.append(Path(env_bindir))

    def version_key(path: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", path)) or (0,)

    for initdb in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version_key)[::-1]:
        candidates.append(Path(initdb).parent)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


# Runs beside a throwaway cluster: when its stdin closes (the test process ended, however it
# ended: a crash, SIGKILL, a pytest-timeout), it stops the cluster and removes its folder.
_REAPER = r"""
import shutil, subprocess, sys
stop, root = sys.argv[1:-1], sys.argv[-1]
sys.stdin.buffer.read()
subprocess.run(stop, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
               timeout=120, check=False)
shutil.rmtree(root, ignore_errors=True)
"""


def _start_reaper(stop_argv: list[str], root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", _REAPER, *stop_argv, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C to pytest's process group must not kill it
    )


def _stop_reaper(reaper: subprocess.Popen[bytes] | None) -> None:
    if reaper is None:
        return
    if reaper.stdin is not None:
        reaper.stdin.close()
    try:
        reaper.wait(timeout=150)
    except subprocess.TimeoutExpired:
        reaper.kill()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """Linux: the child gets SIGTERM when the test process dies (PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))
    except Exception:
        pass


def _as_owner(owner: str | None, argv: list[str]) -> list[str]:
    if owner is None:
        return argv
    return ["runuser", "-u", owner, "--", *argv]


def start_throwaway_postgres(base_dir: Path | None = None) -> PostgresServer:
    """initdb + pg_ctl start on a free port; raise RuntimeError with the reason on failure."""
    bindir = _find_pg_bindir()
    if bindir is None:
        raise RuntimeError(
            "no PostgreSQL server binaries (initdb, pg_ctl) found in /usr/lib/postgresql/*/bin,"
            " $NASBOARD_TEST_PG_BINDIR or PATH; install Debian's `postgresql` package"
        )
    owner: str | None = None
    owner_ids: tuple[int, int] | None = None
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: run it as the `postgres` OS user.
        import pwd

        owner = "postgres"
        try:
            pw = pwd.getpwnam(owner)
        except KeyError as exc:
            raise RuntimeError(
                "running as root and there is no `postgres` OS user to run a throwaway cluster"
            ) from exc
        owner_ids = (pw.pw_uid, pw.pw_gid)
        if shutil.which("runuser") is None:
            raise RuntimeError("running as root and `runuser` is missing (util-linux)")
    root = Path(tempfile.mkdtemp(prefix="nasboard-pg-", dir=base_dir))
    if owner_ids is not None:
        os.chown(root, *owner_ids)
    data_dir = root / "data"
    log = root / "postgres.log"
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    cwd = str(root)  # the owner may not be able to enter our working directory

    init = subprocess.run(
        _as_owner(
            owner,
            [
                str(bindir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        ),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")

    reaper = _start_reaper(
        _as_owner(
            owner, [str(bindir / "pg_ctl"), "stop", "-D", str(data_dir), "-m", "immediate", "-w"]
        ),
        root,
    )
    last_error = ""
    for _attempt in range(3):
        port = free_port()
        options = (
            f"-F -p {port} -c listen_addresses={LOCAL_HOST}"
            f" -c unix_socket_directories={root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
        )
        start = subprocess.run(
            _as_owner(
                owner,
                [
                    str(bindir / "pg_ctl"),
                    "start",
                    "-D",
                    str(data_dir),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                ],
            ),
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        url = f"{SQLALCHEMY_SCHEME}://postgres@{LOCAL_HOST}:{port}/postgres"
        if start.returncode == 0 and wait_for_port(LOCAL_HOST, port, timeout=30):
            version, reason = _probe_postgres(url)
            if version is not None:
                return PostgresServer(
                    url=url,
                    source="throwaway",
                    data_dir=data_dir,
                    owner=owner,
                    bindir=bindir,
                    version_num=version,
                    reaper=reaper,
                )
            last_error = reason
        else:
            last_error = f"pg_ctl start failed ({start.returncode}): {start.stdout}{start.stderr}"
        _pg_ctl_stop(bindir, data_dir, owner, cwd)
    log_tail = _tail(log)
    shutil.rmtree(root, ignore_errors=True)
    _stop_reaper(reaper)
    raise RuntimeError(f"throwaway PostgreSQL did not start: {last_error}\n{log_tail}")


def _pg_ctl_stop(bindir: Path, data_dir: Path, owner: str | None, cwd: str) -> None:
    if not (data_dir / "postmaster.pid").exists():
        return
    subprocess.run(
        _as_owner(owner, [str(bindir / "pg_ctl"), "stop", "-D", str(data_dir), "-m", "fast", "-w"]),
        cwd=cwd,
        capture_output=True,
        timeout=120,
        check=False,
    )


def stop_throwaway_postgres(server: PostgresServer) -> None:
    if server.source != "throwaway" or server.data_dir is None or server.bindir is None:
        return
    root = server.data_dir.parent
    _pg_ctl_stop(server.bindir, server.data_dir, server.owner, str(root))
    shutil.rmtree(root, ignore_errors=True)
    _stop_reaper(server.reaper)


def find_or_start_postgres() -> PostgresServer:
    """Env URL, else the local server, else a throwaway one; pytest.fail with reasons."""
    reasons: list[str] = []
    if not forced_throwaway("postgres"):
        env_url = os.environ.get(ENV_POSTGRES_URL, "").strip()
        if env_url:
            try:
                url = to_sqlalchemy_url(env_url)
            except ValueError as exc:
                pytest.fail(f"{ENV_POSTGRES_URL}: {exc}", pytrace=False)
            version, reason = _probe_postgres(url)
            if version is None:
                # An explicit setting that does not work is an error, not a hint to improvise.
                pytest.fail(f"{ENV_POSTGRES_URL} does not answer: {reason}", pytrace=False)
            return PostgresServer(url=url, source="env", version_num=version)
        if wait_for_port(LOCAL_HOST, LOCAL_POSTGRES_PORT, timeout=0.5):
            for dbname in ("test", "postgres"):
                url = f"{SQLALCHEMY_SCHEME}://postgres@{LOCAL_HOST}:{LOCAL_POSTGRES_PORT}/{dbname}"
                version, reason = _probe_postgres(url)
                if version is not None:
                    return PostgresServer(url=url, source="local", version_num=version)
                reasons.append(reason)
        else:
            reasons.append(f"nothing listens on {LOCAL_HOST}:{LOCAL_POSTGRES_PORT}")
    else:
        reasons.append(f"{ENV_FORCE_THROWAWAY} asks for a throwaway server")
    try:
        return start_throwaway_postgres()
    except Exception as exc:
        reasons.append(f"throwaway: {exc}")
    pytest.fail(
        "no PostgreSQL server for the tests. Set "
        f"{ENV_POSTGRES_URL}, run one on {LOCAL_HOST}:{LOCAL_POSTGRES_PORT} (user postgres, "
        "trust auth), or install Debian's `postgresql` package. Tried:\n  - "
        + "\n  - ".join(reasons),
        pytrace=False,
    )


# --------------------------------------------------------------------------- Redis


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)


def _probe_redis(url: str) -> str:
    """Empty string if ``url`` answers PING, else the reason."""
    try:
        with redis_client(url) as client:
            client.ping()
        return ""
    except Exception as exc:
        return f"{_redact(url)}: {type(exc).__name__}: {exc}"


def redis_url_with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in parts.query.split("&") if q and not q.startswith("db="))
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", query, parts.fragment))


def _find_redis_server_binary() -> str:
    binary = os.environ.get("NASBOARD_TEST_REDIS_SERVER") or shutil.which("redis-server")
    if not binary and Path("/usr/bin/redis-server").is_file():
        binary = "/usr/bin/redis-server"
    if not binary:
        raise RuntimeError(
            "`redis-server` not found on PATH (or $NASBOARD_TEST_REDIS_SERVER); install"
            " Debian's `redis-server` package"
        )
    return binary


@dataclass
class ThrowawayRedis:
    """A ``redis-server`` process of our own on a fixed port: stop it, start it again.

    ``persistent=True`` keeps an append-only file in its folder, so data survives
    ``stop()``/``start()`` (like the compose service); otherwise a restart starts empty.
    """

    port: int = 0
    persistent: bool = False
    host: str = LOCAL_HOST
    dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="nasboard-redis-")))
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        if not self.port:
            self.port = free_port(self.host)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def url_for_db(self, db: int) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self, db: int = 0) -> redis.Redis:
        return redis_client(self.url_for_db(db))

    def start(self, timeout: float = 30.0) -> ThrowawayRedis:
        """Start the server (same port every time); raise RuntimeError if it does not answer."""
        if self.running:
            return self
        log = self.dir / "redis.log"
        argv = [
            _find_redis_server_binary(),
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.persistent else "no",
            "--maxmemory-policy",
            "noeviction",
            "--daemonize",
            "no",
            "--logfile",
            str(log),
        ]
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            cwd=str(self.dir),
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        deadline = time.monotonic() + timeout
        reason = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                reason = f"redis-server exited with {self.process.returncode}"
                break
            reason = _probe_redis(self.url)
            if not reason:
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"throwaway redis-server on port {self.port}: {reason}\n{_tail(log)}")

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful stop (SIGTERM: writes the append-only file when persistent)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        self.process = None

    def kill(self) -> None:
        """Crash it (SIGKILL), as a broker dying under load would."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None

    def restart(self) -> ThrowawayRedis:
        self.stop()
        return self.start()

    def flushall(self) -> None:
        with self.client() as client:
            client.flushall()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServerFactory:
    """Starts throwaway redis-servers for one test; all are stopped when the test ends.

    Call it for a new server (``factory(persistent=True)``), or use the factory itself as
    its first server: ``.url``, ``.port``, ``.stop()``, ``.start()``, ``.kill()``,
    ``.restart()``, ``.flushall()``, ``.client()`` start a default server on first use.
    """

    def __init__(self) -> None:
        self._servers: list[ThrowawayRedis] = []
        self._default: ThrowawayRedis | None = None

    def __call__(self, *, persistent: bool = False, port: int = 0) -> ThrowawayRedis:
        server = ThrowawayRedis(port=port, persistent=persistent)
        self._servers.append(server)
        try:
            return server.start()
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)

    @property
    def default(self) -> ThrowawayRedis:
        if self._default is None:
            self._default = self()
        return self._default

    @property
    def url(self) -> str:
        return self.default.url

    @property
    def port(self) -> int:
        return self.default.port

    def url_for_db(self, db: int) -> str:
        return self.default.url_for_db(db)

    def client(self, db: int = 0) -> redis.Redis:
        return self.default.client(db)

    def start(self) -> ThrowawayRedis:
        try:
            return self.default.start()
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)

    def stop(self) -> None:
        self.default.stop()

    def kill(self) -> None:
        self.default.kill()

    def restart(self) -> ThrowawayRedis:
        self.default.stop()
        return self.start()

    def flushall(self) -> None:
        self.default.flushall()

    def close(self) -> None:
        for server in self._servers:
            server.cleanup()
        self._servers.clear()
        self._default = None


@dataclass
class RedisServer:
    """The Redis server the tests share (its URL has no database index)."""

    url: str  # redis://host:port/0
    source: str  # "env", "local" or "throwaway"
    throwaway: ThrowawayRedis | None = None
    databases: int = 16
    _next_db: int = 1

    def _count_databases(self) -> None:
        try:
            with redis_client(self.url) as client:
                reply: Any = client.config_get("databases")
                self.databases = int(reply.get("databases", 16))
        except Exception:
            self.databases = 16

    @contextlib.contextmanager
    def lease_db(self) -> Iterator[str]:
        """A database URL for one test, flushed before and after."""
        if self.databases <= 1:
            # A server with a single database (some hosted ones): nothing to lease.
            yield from _flushed(redis_url_with_db(self.url, 0))
            return
        if self.throwaway is not None:
            # Our own server: nobody else uses it; rotate to keep tests' leftovers apart.
            db = self._next_db
            self._next_db = db + 1 if db + 1 < self.databases else 1
            yield from _flushed(redis_url_with_db(self.url, db))
            return
        # A shared server (other test sessions may be using it right now): take a lease.
        token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        lock_url = redis_url_with_db(self.url, 0)
        deadline = time.monotonic() + REDIS_LEASE_WAIT_S
        with redis_client(lock_url) as locks:
            db = 0
            while not db:
                for candidate in range(1, self.databases):
                    if locks.set(
                        f"{REDIS_LEASE_PREFIX}{candidate}", token, nx=True, ex=REDIS_LEASE_TTL_S
                    ):
                        db = candidate
                        break
                else:
                    if time.monotonic() > deadline:
                        pytest.fail(
                            f"all Redis databases 1..{self.databases - 1} on"
                            f" {_redact(self.url)} stayed leased for {REDIS_LEASE_WAIT_S:.0f}s"
                            f" (keys {REDIS_LEASE_PREFIX}* in db 0)",
                            pytrace=False,
                        )
                    time.sleep(0.2)
            try:
                yield from _flushed(redis_url_with_db(self.url, db))
            finally:
                key = f"{REDIS_LEASE_PREFIX}{db}"
                if locks.get(key) == token.encode():
                    locks.delete(key)


def _flushed(url: str) -> Iterator[str]:
    with redis_client(url) as client:
        client.flushdb()
    try:
        yield url
    finally:
        with redis_client(url) as client:
            client.flushdb()


def find_or_start_redis() -> RedisServer:
    """Env URL, else the local server, else a throwaway one; pytest.fail with reasons."""
    reasons: list[str] = []
    if not forced_throwaway("redis"):
        env_url = os.environ.get(ENV_REDIS_URL, "").strip()
        if env_url:
            reason = _probe_redis(env_url)
            if reason:
                pytest.fail(f"{ENV_REDIS_URL} does not answer: {reason}", pytrace=False)
            server = RedisServer(url=redis_url_with_db(env_url, 0), source="env")
            server._count_databases()
            return server
        local = f"redis://{LOCAL_HOST}:{LOCAL_REDIS_PORT}/0"
        if wait_for_port(LOCAL_HOST, LOCAL_REDIS_PORT, timeout=0.5):
            reason = _probe_redis(local)
            if not reason:
                server = RedisServer(url=local, source="local")
                server._count_databases()
                return server
            reasons.append(reason)
        else:
            reasons.append(f"nothing listens on {LOCAL_HOST}:{LOCAL_REDIS_PORT}")
    else:
        reasons.append(f"{ENV_FORCE_THROWAWAY} asks for a throwaway server")
    throwaway = ThrowawayRedis()
    try:
        throwaway.start()
    except Exception as exc:
        throwaway.cleanup()
        reasons.append(f"throwaway: {exc}")
    else:
        return RedisServer(url=throwaway.url, source="throwaway", throwaway=throwaway)
    pytest.fail(
        "no Redis server for the tests. Set "
        f"{ENV_REDIS_URL}, run one on {LOCAL_HOST}:{LOCAL_REDIS_PORT}, or install Debian's "
        "`redis-server` package. Tried:\n  - " + "\n  - ".join(reasons),
        pytrace=False,
    )


# --------------------------------------------------------------------------- fixtures

# What the session used, for the terminal summary ("service: source url").
_USED: dict[str, str] = {}


SERVICE_FIXTURES = frozenset(
    {
        "postgres_server",
        "postgres_server_url",
        "make_postgres_db",
        "postgres_url",
        "redis_server",
        "redis_server_url",
        "redis_url",
        "redis_server_factory",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a service fixture ``services`` (``-m "not services"``)."""
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.services)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for service, line in sorted(_USED.items()):
        terminalreporter.write_line(f"nasboard test {service}: {line}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (env, local or throwaway; see the module doc)."""
    server = find_or_start_postgres()
    _USED["postgres"] = f"{server.source} {_redact(server.url)}"
    try:
        yield server
    finally:
        stop_throwaway_postgres(server)


@pytest.fixture(scope="session")
def postgres_server_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL (``postgresql+psycopg://``) of the server's admin database.

    Do not create tables there; use ``postgres_url`` or ``make_postgres_db``.
    """
    return postgres_server.url


@pytest.fixture
def make_postgres_db(postgres_server: PostgresServer) -> Iterator[Callable[[], str]]:
    """Factory: each call creates a fresh empty database and returns its SQLAlchemy URL.

    Every database made is dropped when the test ends (open connections are terminated).
    """
    created: list[str] = []

    def make() -> str:
        name = f"{TEST_DB_PREFIX}{uuid.uuid4().hex[:16]}"
        try:
            url = postgres_server.create_database(name)
        except Exception as exc:
            pytest.fail(
                f"cannot create a test database on {_redact(postgres_server.url)}: {exc}",
                pytrace=False,
            )
        created.append(name)
        return url

    yield make
    errors: list[str] = []
    for name in reversed(created):
        try:
            postgres_server.drop_database(name)
        except Exception as exc:
            errors.append(f"{name}: {exc}")
    if errors:
        pytest.fail("could not drop test databases: " + "; ".join(errors), pytrace=False)


@pytest.fixture
def postgres_url(make_postgres_db: Callable[[], str]) -> str:
    """SQLAlchemy URL of a fresh, empty database for this test alone."""
    return make_postgres_db()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The session's Redis server (env, local or throwaway; see the module doc)."""
    server = find_or_start_redis()
    _USED["redis"] = f"{server.source} {_redact(server.url)}"
    try:
        yield server
    finally:
        if server.throwaway is not None:
            server.throwaway.cleanup()


@pytest.fixture(scope="session")
def redis_server_url(redis_server: RedisServer) -> str:
    """URL of the session's Redis server. Tests should use ``redis_url`` (isolated)."""
    return redis_server.url


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """``redis://host:port/<n>``: a database index for this test alone, empty before and after.

    Note: Redis pub/sub channels are server-wide, not per database index.
    """
    with redis_server.lease_db() as url:
        yield url


@pytest.fixture
def redis_server_factory() -> Iterator[RedisServerFactory]:
    """Throwaway redis-servers this test may stop, flush, kill and restart (same port).

    ``redis_server_factory.url`` / ``.stop()`` / ``.start()`` / ``.flushall()`` act on a
    default server; ``redis_server_factory(persistent=True)`` makes more.
    """
    factory = RedisServerFactory()
    try:
        yield factory
    finally:
        factory.close()
