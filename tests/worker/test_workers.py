"""The workers registry on real processes: a worker registers when it starts, finds its device,
shows what it trains while a search runs, and counts what it did; each candidate records the
device it trained on."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import (
    get_workers,
    nasboard_env,
    services_stack,
    start_server,
    wait_workers,
)
from tests.support.scenario import tiny_search

TERMINAL = {"succeeded", "failed", "cancelled"}


def _submit(url: str, **overrides: Any) -> int:
    presets = httpx.get(f"{url}/api/presets", timeout=10).json()
    body = tiny_search(presets, **overrides)
    response = httpx.post(f"{url}/api/searches", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _status(url: str, search_id: int) -> str:
    return str(httpx.get(f"{url}/api/searches/{search_id}", timeout=10).json()["status"])


def _watch_while_running(
    url: str, search_id: int, done: Callable[[list[dict[str, Any]]], bool], timeout: float
) -> list[list[dict[str, Any]]]:
    """Poll GET /api/workers every 0.2 s while the search runs; every answer's items, until
    ``done(items)`` or the search ends."""
    seen: list[list[dict[str, Any]]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = get_workers(url)["items"]
        seen.append(items)
        if done(items) or _status(url, search_id) in TERMINAL:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"timed out watching workers: {seen[-1:]}")


def _wait_terminal(url: str, search_id: int, timeout: float = 900) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        search = httpx.get(f"{url}/api/searches/{search_id}", timeout=10).json()
        if search["status"] in TERMINAL:
            return dict(search)
        time.sleep(0.5)
    raise AssertionError(f"search {search_id} did not finish in {timeout}s")


def _candidates(url: str, search_id: int) -> list[dict[str, Any]]:
    page = httpx.get(
        f"{url}/api/searches/{search_id}/candidates", params={"limit": 500}, timeout=10
    ).json()
    return list(page["items"])


def _trains(items: list[dict[str, Any]], search_id: int) -> bool:
    return any(
        w["alive"] and w["device"] and (w["current_candidate"] or {}).get("search_id") == search_id
        for w in items
    )


def test_embedded_worker_registers_trains_and_counts(tmp_path: Path) -> None:
    env = nasboard_env(tmp_path / "data")
    server, url = start_server(env, tmp_path / "serve.log", embedded_worker=True)
    try:
        # Two epochs per candidate over two generations: long enough to see it training.
        search_id = _submit(url, epochs_per_candidate=2, batch_size=16)
        seen = _watch_while_running(url, search_id, lambda items: _trains(items, search_id), 300)
        items = seen[-1]
        assert _trains(items, search_id), f"never saw the worker training: {items}"
        (worker,) = [w for w in items if w["alive"]]
        assert worker["device"].startswith(("CPU: ", "GPU: ")), worker["device"]
        assert worker["concurrency"] == 1
        assert worker["tf_threads"] == int(env["NASBOARD_TF_THREADS"])
        host, _, pid = worker["name"].rpartition(":")
        assert host == worker["hostname"] and int(pid) == worker["pid"]
        current = worker["current_candidate"]
        cand = httpx.get(f"{url}/api/candidates/{current['id']}", timeout=10).json()
        assert (cand["search_id"], cand["generation"], cand["index"]) == (
            search_id,
            current["generation"],
            current["index"],
        )

        search = _wait_terminal(url, search_id)
        assert search["status"] == "succeeded", search
        candidates = _candidates(url, search_id)
        completed = [c for c in candidates if c["status"] == "completed"]
        assert completed
        for c in completed:
            assert c["worker"] == worker["name"], c
            assert c["metrics"]["device"] == worker["device"], c["metrics"]
            assert "mixed_precision" not in c["metrics"] and "jit_compile" not in c["metrics"]

        after = get_workers(url)
        (final,) = [w for w in after["items"] if w["name"] == worker["name"]]
        assert final["alive"] is True
        assert final["current_candidate"] is None  # the final training is not a candidate
        assert final["candidates_done"] == len(completed) > 0
        assert final["busy_s"] > 0
        assert 0 < final["busy_fraction"] <= 1
        assert final["throughput_per_min"] > 0
    except BaseException:
        print("--- serve ---\n" + server.tail(120))
        raise
    finally:
        server.stop()


def test_accelerator_options_reach_the_candidates(tmp_path: Path) -> None:
    """mixed_precision and jit_compile are accepted end to end (on a CPU they only cost
    time): candidates train, record the options and the device, and the search succeeds."""
    env = nasboard_env(tmp_path / "data")
    server, url = start_server(env, tmp_path / "serve.log", embedded_worker=True)
    try:
        search_id = _submit(
            url, mixed_precision=True, jit_compile=True, population_size=2, generations=1
        )
        search = _wait_terminal(url, search_id)
        assert search["status"] == "succeeded", search
        assert search["config"]["mixed_precision"] is True
        completed = [c for c in _candidates(url, search_id) if c["status"] == "completed"]
        assert completed
        for c in completed:
            assert c["metrics"]["mixed_precision"] is True
            # Requested, but kept off by the workers' deterministic ops (see compile_model).
            assert c["metrics"]["jit_compile"] is False
            assert c["metrics"]["device"]
            assert 0.0 <= c["val_accuracy"] <= 1.0
        # The final model stays float32: it downloads and loads like any other.
        model = httpx.get(
            f"{url}/api/searches/{search_id}/model", params={"format": "keras"}, timeout=60
        )
        assert model.status_code == 200
    except BaseException:
        print("--- serve ---\n" + server.tail(120))
        raise
    finally:
        server.stop()


@pytest.mark.services
def test_prefork_pool_registers_each_training_process(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    """`nasboard worker --concurrency 2`: each pool process is a worker of its own (host:pid,
    as on its candidates); the pool's parent trains nothing and is not listed."""
    with services_stack(tmp_path, postgres_url, redis_url, concurrency=2) as (_, worker, url):
        alive = wait_workers(url, 2)
        assert {w["concurrency"] for w in alive} == {2}
        assert worker.popen.pid not in {w["pid"] for w in alive}
        names = {w["name"] for w in alive}

        search_id = _submit(url)
        search = _wait_terminal(url, search_id)
        assert search["status"] == "succeeded", search
        completed = [c for c in _candidates(url, search_id) if c["status"] == "completed"]
        assert completed and {c["worker"] for c in completed} <= names
        after = {w["name"]: w for w in get_workers(url)["items"] if w["name"] in names}
        assert sum(w["candidates_done"] for w in after.values()) == len(completed)
        assert all(w["alive"] for w in after.values())


@pytest.mark.tf
def test_registry_thread_registers_finds_the_device_and_heartbeats(tmp_path: Path) -> None:
    """In-process: the thread a pool process starts (worker.registry.start)."""
    import threading

    from sqlalchemy import select

    from backend.db.migrate import upgrade
    from backend.db.models import Worker
    from backend.db.session import Database
    from worker import registry, runner

    url = f"sqlite:///{tmp_path / 'reg.db'}"
    upgrade(url)
    db = Database(url)
    stop = threading.Event()
    thread = registry.start(db, interval=0.2, stop=stop)
    try:
        deadline = time.monotonic() + 120
        row = None
        while time.monotonic() < deadline:
            with db.read() as session:
                row = session.scalar(select(Worker).where(Worker.name == runner.worker_name()))
            if row is not None and row.device:
                break
            time.sleep(0.1)
        assert row is not None and row.device, row
        assert row.device.startswith(("CPU: ", "GPU: ")), row.device
        first_beat = row.heartbeat_at
        time.sleep(1.0)
        with db.read() as session:
            later = session.scalar(select(Worker.heartbeat_at).where(Worker.id == row.id))
        assert later is not None and later > first_beat
    finally:
        stop.set()
        thread.join(timeout=10)
        db.engine.dispose()
    assert not thread.is_alive()
