"""Kill anything at any moment: the search finishes, every candidate counted exactly once.

These tests kill real processes (Celery workers, the API) and restart a real Redis.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.resilience.conftest import FAST_RECOVERY
from tests.support.processes import (
    Proc,
    nasboard_env,
    start_server,
    start_worker,
    wait_workers,
)
from tests.support.scenario import tiny_search
from tests.support.sse import read_events, read_until

pytestmark = pytest.mark.services


def _submit(url: str, **overrides: Any) -> int:
    presets = httpx.get(f"{url}/api/presets", timeout=10).json()
    body = tiny_search(presets, **overrides)
    response = httpx.post(f"{url}/api/searches", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _candidates(url: str, search_id: int) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{url}/api/searches/{search_id}/candidates", params={"limit": 500}, timeout=10
    )
    return list(response.json()["items"])


def _genomes(url: str, search_id: int) -> dict[tuple[int, int], str]:
    return {(c["generation"], c["index"]): c["genome_hash"] for c in _candidates(url, search_id)}


def _wait_finished(url: str, search_id: int) -> dict[str, Any]:
    events = read_events(f"{url}/api/searches/{search_id}/events", timeout=600)
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    return dict(httpx.get(f"{url}/api/searches/{search_id}", timeout=10).json())


def _dump(*procs: Proc) -> None:
    for proc in procs:
        print(f"--- {proc.log_path.name} ---\n{proc.tail(80)}")


def test_sigkill_worker_mid_training(tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    env = nasboard_env(
        tmp_path / "data",
        NASBOARD_DATABASE_URL=postgres_url,
        NASBOARD_BROKER_URL=redis_url,
        **FAST_RECOVERY,
    )
    server, url = start_server(env, tmp_path / "api.log", embedded_worker=False)
    first = start_worker(env, tmp_path / "worker1.log")
    procs = [server, first]
    try:
        # Small batches and 5 epochs: after the first epoch is seen, the other four (~0.3 s
        # each on an idle 2-core machine) leave ample time to kill the worker mid-training.
        slow = {"epochs_per_candidate": 5, "batch_size": 16}
        reference = _submit(url, **slow)
        assert _wait_finished(url, reference)["status"] == "succeeded"

        victim_search = _submit(url, **slow)
        seen = read_until(
            f"{url}/api/searches/{victim_search}/events",
            lambda e: e.type == "epoch" and e.data["epoch"] == 1,
        )
        victim = seen[-1].data["candidate_id"]
        first.kill()  # SIGKILL in the middle of the candidate's training
        at_kill = httpx.get(f"{url}/api/candidates/{victim}", timeout=10).json()
        assert at_kill["status"] == "running" and len(at_kill["epochs"]) < 5, at_kill
        second = start_worker(env, tmp_path / "worker2.log")
        procs.append(second)

        search = _wait_finished(url, victim_search)
        assert search["status"] == "succeeded", search
        candidates = _candidates(url, victim_search)
        keys = [(c["generation"], c["index"]) for c in candidates]
        assert len(keys) == len(set(keys)), "a (generation, index) was stored twice"
        assert all(c["status"] in {"completed", "reused"} for c in candidates)
        killed = next(c for c in candidates if c["id"] == victim)
        assert killed["attempts"] == 2, killed
        assert str(second.popen.pid) in killed["worker"]
        assert _genomes(url, victim_search) == _genomes(url, reference)
    except BaseException:
        _dump(*procs)
        raise
    finally:
        for proc in procs:
            proc.stop()


def test_redis_restarted_empty_mid_search(
    tmp_path: Path, postgres_url: str, redis_server_factory: Any
) -> None:
    broker = redis_server_factory
    env = nasboard_env(
        tmp_path / "data",
        NASBOARD_DATABASE_URL=postgres_url,
        NASBOARD_BROKER_URL=broker.url,
        **FAST_RECOVERY,
    )
    server, url = start_server(env, tmp_path / "api.log", embedded_worker=False)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        search_id = _submit(url, population_size=6)
        read_until(
            f"{url}/api/searches/{search_id}/events", lambda e: e.type == "candidate_finished"
        )
        broker.flushall()
        broker.restart()  # queued tasks are gone; the database still knows the work
        broker.flushall()
        search = _wait_finished(url, search_id)
        assert search["status"] == "succeeded", search
        candidates = _candidates(url, search_id)
        assert len(candidates) == search["progress"]["candidates_total"]
        assert all(c["status"] in {"completed", "reused"} for c in candidates)
    except BaseException:
        _dump(server, worker)
        raise
    finally:
        worker.stop()
        server.stop()


def test_api_killed_and_restarted_sse_resumes_exactly_once(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    env = nasboard_env(
        tmp_path / "data",
        NASBOARD_DATABASE_URL=postgres_url,
        NASBOARD_BROKER_URL=redis_url,
        **FAST_RECOVERY,
    )
    server, url = start_server(env, tmp_path / "api1.log", embedded_worker=False)
    worker = start_worker(env, tmp_path / "worker.log")
    procs = [server, worker]
    try:
        search_id = _submit(url)
        before = read_until(
            f"{url}/api/searches/{search_id}/events", lambda e: e.type == "candidate_finished"
        )
        server.kill()
        time.sleep(3)  # the worker keeps writing while the API is down
        port = url.rsplit(":", 1)[1]
        argv_env = dict(env)
        restarted = Proc([*_serve_argv(port)], argv_env, tmp_path / "api2.log")
        procs.append(restarted)
        _wait_health(url, restarted)
        after = read_events(
            f"{url}/api/searches/{search_id}/events", last_id=before[-1].id, timeout=600
        )
        ids = [e.id for e in before + after]
        assert ids == list(range(1, len(ids) + 1)), "missed or repeated events across restart"
        everything = read_events(f"{url}/api/searches/{search_id}/events")
        assert [(e.id, e.type, e.data) for e in everything] == [
            (e.id, e.type, e.data) for e in before + after
        ]
        assert everything[-1].data["status"] == "succeeded"
    except BaseException:
        _dump(*procs)
        raise
    finally:
        for proc in procs:
            proc.stop()


def _serve_argv(port: str) -> list[str]:
    from tests.support.processes import NASBOARD

    return [*NASBOARD, "serve", "--port", port, "--no-embedded-worker"]


def _wait_health(url: str, proc: Proc) -> None:
    from tests.support.processes import wait_healthy

    wait_healthy(url, proc)


def test_candidate_failing_every_time_is_marked_failed_and_search_finishes(
    tmp_path: Path,
) -> None:
    env = nasboard_env(tmp_path / "data", NASBOARD_FAULT_FAIL="0:1", **FAST_RECOVERY)
    server, url = start_server(env, tmp_path / "serve.log", embedded_worker=True)
    try:
        search_id = _submit(url)
        search = _wait_finished(url, search_id)
        assert search["status"] == "succeeded", search
        failed = [c for c in _candidates(url, search_id) if c["status"] == "failed"]
        assert [(c["generation"], c["index"]) for c in failed] == [(0, 1)]
        assert failed[0]["attempts"] == 3
        assert "injected fault" in failed[0]["error"]
        assert "failed 3 times" in failed[0]["error"]
    except BaseException:
        _dump(server)
        raise
    finally:
        server.stop()


def test_sqlite_api_and_two_workers_never_locked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = nasboard_env(data, **FAST_RECOVERY)
    server, url = start_server(env, tmp_path / "serve.log", embedded_worker=True)
    extra = start_worker(env, tmp_path / "worker2.log")
    procs = [server, extra]
    try:
        wait_workers(url, 2)  # the embedded one and the extra one, both taking tasks
        ids = [_submit(url, seed=s, population_size=4) for s in (1, 2)]
        statuses: list[int] = []
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            for search_id in ids:
                for path in ("", "/candidates", "/generations"):
                    statuses.append(httpx.get(f"{url}/api/searches/{search_id}{path}").status_code)
                statuses.append(httpx.post(f"{url}/api/searches", json={"name": ""}).status_code)
            states = [httpx.get(f"{url}/api/searches/{i}").json()["status"] for i in ids]
            if all(s in {"succeeded", "failed", "cancelled"} for s in states):
                break
            time.sleep(0.2)
        searches = [httpx.get(f"{url}/api/searches/{i}").json() for i in ids]
        assert states == ["succeeded", "succeeded"], [(s["status"], s["error"]) for s in searches]
        assert set(statuses) <= {200, 422}, sorted(set(statuses))
        workers = {c["worker"] for i in ids for c in _candidates(url, i) if c["worker"]}
        assert len(workers) == 2, f"both workers should have trained candidates: {workers}"
        for proc in procs:
            output = proc.tail(100_000)
            assert "database is locked" not in output
            # Each worker's structured log says what it did to which search and candidate.
            assert re.search(r'msg="candidate finished" search=[12] candidate=\d+', output), output
    except BaseException:
        _dump(*procs)
        raise
    finally:
        extra.stop()
        server.stop()
    import sqlite3

    with sqlite3.connect(data / "nasboard.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
