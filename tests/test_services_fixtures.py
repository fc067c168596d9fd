"""The service fixtures give real, working, isolated PostgreSQL and Redis servers."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
import redis

from tests.fixtures_services import (
    PostgresServer,
    RedisServer,
    RedisServerFactory,
    forced_throwaway,
    redis_url_with_db,
    to_libpq_url,
    to_sqlalchemy_url,
    wait_for_port,
    with_database,
)

pytestmark = pytest.mark.services


def _pg(url: str) -> psycopg.Connection[tuple[object, ...]]:
    assert url.startswith("postgresql+psycopg://")
    return psycopg.connect(to_libpq_url(url), autocommit=True, connect_timeout=10)


def _db_exists(server_url: str, name: str) -> bool:
    with _pg(server_url) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def test_postgres_url_is_a_fresh_empty_database(postgres_url: str) -> None:
    with _pg(postgres_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert row == (0,)
        conn.execute("CREATE TABLE t (id integer PRIMARY KEY, name text)")
        conn.execute("INSERT INTO t VALUES (1, 'one')")
        assert conn.execute("SELECT name FROM t").fetchall() == [("one",)]


def test_postgres_databases_are_isolated_and_dropped(
    postgres_server_url: str, make_postgres_db: Callable[[], str]
) -> None:
    first, second = make_postgres_db(), make_postgres_db()
    assert first != second
    with _pg(first) as a, _pg(second) as b:
        a.execute("CREATE TABLE shared_name (v text)")
        a.execute("INSERT INTO shared_name VALUES ('from a')")
        b.execute("CREATE TABLE shared_name (v integer)")
        assert b.execute("SELECT count(*) FROM shared_name").fetchone() == (0,)
        assert a.execute("SELECT v FROM shared_name").fetchall() == [("from a",)]
    name = first.rsplit("/", 1)[1]
    assert name.startswith("nasboard_t_")
    assert _db_exists(postgres_server_url, name)


# A database whose connection a test leaves open, checked by the next test.
_left_open: list[tuple[str, psycopg.Connection[tuple[object, ...]]]] = []


def test_postgres_database_left_open(make_postgres_db: Callable[[], str]) -> None:
    url = make_postgres_db()
    conn = _pg(url)
    conn.execute("CREATE TABLE x (v integer)")
    # The teardown must terminate this connection and still drop the database.
    _left_open.append((url, conn))


def test_postgres_database_left_open_was_dropped(postgres_server_url: str) -> None:
    if not _left_open:
        pytest.skip("runs after test_postgres_database_left_open")
    url, conn = _left_open.pop()
    try:
        assert not _db_exists(postgres_server_url, url.rsplit("/", 1)[1])
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    finally:
        conn.close()


def test_redis_url_set_get_and_starts_empty(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert client.dbsize() == 0
    client.set("nasboard:test:key", "value")
    assert client.get("nasboard:test:key") == b"value"
    client.close()


def test_redis_leases_are_distinct_databases(redis_server: RedisServer) -> None:
    with redis_server.lease_db() as first, redis_server.lease_db() as second:
        assert first != second
        with redis.Redis.from_url(first) as a, redis.Redis.from_url(second) as b:
            a.set("k", "first")
            assert b.get("k") is None
            b.set("k", "second")
            assert a.get("k") == b"first"
    with redis.Redis.from_url(first) as a:
        assert a.get("k") is None  # flushed when the lease ended


def test_redis_server_factory_restart_and_flush(redis_server_factory: RedisServerFactory) -> None:
    port = redis_server_factory.port
    url = redis_server_factory.url
    with redis.Redis.from_url(url) as client:
        client.set("job", "queued")
        assert client.get("job") == b"queued"
    redis_server_factory.stop()
    assert not wait_for_port("127.0.0.1", port, timeout=0.2)
    with pytest.raises(redis.ConnectionError), redis.Redis.from_url(url) as client:
        client.ping()
    redis_server_factory.start()
    assert redis_server_factory.port == port
    with redis.Redis.from_url(url) as client:
        # Not persistent: a restarted broker comes back empty.
        assert client.get("job") is None
        client.set("job", "again")
    redis_server_factory.flushall()
    with redis.Redis.from_url(url) as client:
        assert client.dbsize() == 0


def test_redis_persistent_server_survives_restart_until_flushall(
    redis_server_factory: RedisServerFactory,
) -> None:
    server = redis_server_factory(persistent=True)
    with server.client() as client:
        client.set("job", "queued")
    server.restart()
    with server.client() as client:
        assert client.get("job") == b"queued"
    server.flushall()
    server.restart()
    with server.client() as client:
        assert client.get("job") is None
    server.kill()
    assert not server.running
    server.start()
    with server.client() as client:
        assert client.ping()


def test_url_helpers() -> None:
    assert to_sqlalchemy_url("postgres://u:p@h:1/d") == "postgresql+psycopg://u:p@h:1/d"
    assert to_sqlalchemy_url("postgresql+asyncpg://h/d") == "postgresql+psycopg://h/d"
    assert to_libpq_url("postgresql+psycopg://u@h:5/d?sslmode=disable") == (
        "postgresql://u@h:5/d?sslmode=disable"
    )
    assert with_database("postgresql+psycopg://u@h:5/d?x=1", "e") == (
        "postgresql+psycopg://u@h:5/e?x=1"
    )
    assert redis_url_with_db("redis://h:1/0", 3) == "redis://h:1/3"
    assert redis_url_with_db("redis://h:1?db=2", 4) == "redis://h:1/4"
    with pytest.raises(ValueError):
        to_sqlalchemy_url("mysql://h/d")


def test_forced_throwaway_servers_are_our_own(
    postgres_server: PostgresServer, redis_server: RedisServer
) -> None:
    if forced_throwaway("postgres"):
        assert postgres_server.source == "throwaway"
        assert postgres_server.data_dir is not None
        assert (postgres_server.data_dir / "postmaster.pid").exists()
        assert ":5432/" not in postgres_server.url
    if forced_throwaway("redis"):
        assert redis_server.source == "throwaway"
        assert redis_server.throwaway is not None and redis_server.throwaway.running
        assert ":6379/" not in redis_server.url
    with _pg(postgres_server.url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
