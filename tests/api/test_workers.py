"""GET /api/workers: alive or gone by heartbeat, throughput and busy share, what each trains
(shown only to who may see that search); and the runner's bookkeeping behind it (claim names
the candidate, an accepted result counts it and adds its training time) — no TensorFlow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.core.config import Settings
from backend.db.base import utcnow
from backend.db.models import Candidate, Search, Worker
from backend.db.session import Database, get_database
from backend.schemas.search import SearchCreate
from backend.search.space import baseline_genome
from tests.api.conftest import Team
from tests.support.stored import stored_search


def _search(db: Database, owner_id: int | None, **overrides: Any) -> int:
    body = SearchCreate(
        name="w",
        dataset="digits",
        population_size=2,
        generations=1,
        epochs_per_candidate=1,
        **overrides,
    )
    return stored_search(db, body, owner_id=owner_id)


def _running_candidate(db: Database, search_id: int, worker: str) -> int:
    with db.write() as session:
        candidate = Candidate(
            search_id=search_id,
            generation=0,
            index=1,
            status="running",
            genome=baseline_genome((8, 8, 1)),
            genome_hash="h",
            origin="random",
            detail="",
            parent_ids=[],
            attempts=1,
            metrics={},
            worker=worker,
        )
        session.add(candidate)
        session.flush()
        return candidate.id


def _seed_workers(db: Database, current_id: int) -> None:
    now = utcnow()
    with db.write() as session:
        session.add_all(
            [
                Worker(  # alive, training alice's candidate
                    name="gpu-node:100",
                    hostname="gpu-node",
                    pid=100,
                    device="GPU: NVIDIA H200",
                    concurrency=1,
                    tf_threads=4,
                    started_at=now - timedelta(minutes=10),
                    heartbeat_at=now - timedelta(seconds=5),
                    current_candidate_id=current_id,
                    candidates_done=5,
                    busy_s=300.0,
                ),
                Worker(  # gone 10 minutes ago, after 20 minutes; its stale id is not shown
                    name="cpu-node:200",
                    hostname="cpu-node",
                    pid=200,
                    device="CPU: Some Processor",
                    concurrency=2,
                    tf_threads=1,
                    started_at=now - timedelta(minutes=30),
                    heartbeat_at=now - timedelta(minutes=10),
                    current_candidate_id=current_id,
                    candidates_done=4,
                    busy_s=600.0,
                ),
                Worker(  # gone for two days: listed only on request
                    name="old-node:300",
                    hostname="old-node",
                    pid=300,
                    device=None,
                    concurrency=1,
                    tf_threads=None,
                    started_at=now - timedelta(days=3),
                    heartbeat_at=now - timedelta(days=2),
                    current_candidate_id=None,
                    candidates_done=0,
                    busy_s=0.0,
                ),
            ]
        )


def test_workers_alive_dead_throughput(client: TestClient, settings: Settings) -> None:
    db = get_database(settings.resolved_database_url)
    search_id = _search(db, None)
    current = _running_candidate(db, search_id, "gpu-node:100")
    _seed_workers(db, current)

    body = client.get("/api/workers").json()
    assert body["count"] == 2 and body["alive"] == 1
    gpu, cpu = body["items"]  # alive first
    assert gpu["name"] == "gpu-node:100" and gpu["alive"] is True
    assert gpu["device"] == "GPU: NVIDIA H200"
    assert gpu["current_candidate"] == {
        "id": current,
        "search_id": search_id,
        "generation": 0,
        "index": 1,
    }
    assert gpu["candidates_done"] == 5
    assert gpu["throughput_per_min"] == pytest.approx(0.5, rel=0.01)
    assert gpu["busy_fraction"] == pytest.approx(0.5, rel=0.01)
    assert gpu["tf_threads"] == 4 and gpu["concurrency"] == 1

    assert cpu["name"] == "cpu-node:200" and cpu["alive"] is False
    assert cpu["current_candidate"] is None  # gone: whatever it held is not "training now"
    # Over the 20 minutes it lived (start to last heartbeat), not diluted since.
    assert cpu["throughput_per_min"] == pytest.approx(0.2, rel=0.01)
    assert cpu["busy_fraction"] == pytest.approx(0.5, rel=0.01)

    everything = client.get("/api/workers", params={"include_old": "true"}).json()
    assert everything["count"] == 3
    assert everything["items"][-1]["name"] == "old-node:300"
    assert everything["items"][-1]["throughput_per_min"] == 0.0


def test_alive_follows_the_reconcile_interval(settings: Settings) -> None:
    from backend.api.app import create_app

    db = get_database(settings.resolved_database_url)
    _seed_workers(db, current_id=999_999)
    # 3 x 300 s: the worker last seen 10 minutes ago still counts as alive.
    slow = settings.model_copy(update={"reconcile_s": 300.0})
    with TestClient(create_app(slow)) as client:
        body = client.get("/api/workers").json()
    assert body["alive"] == 2
    # A candidate id that no longer exists is never shown.
    assert all(w["current_candidate"] is None for w in body["items"])


def test_a_candidate_no_longer_running_there_is_not_current(
    client: TestClient, settings: Settings
) -> None:
    db = get_database(settings.resolved_database_url)
    search_id = _search(db, None)
    current = _running_candidate(db, search_id, "another-node:1")  # re-handed elsewhere
    _seed_workers(db, current)
    gpu = client.get("/api/workers").json()["items"][0]
    assert gpu["alive"] and gpu["current_candidate"] is None


def test_workers_visibility_with_auth(auth_client: TestClient, team: Team) -> None:
    search_id = _search(team.db, team.ids["alice"])
    current = _running_candidate(team.db, search_id, "gpu-node:100")
    _seed_workers(team.db, current)

    assert auth_client.get("/api/workers").status_code == 401

    def gpu(who: str) -> dict:
        response = auth_client.get("/api/workers", headers=team.auth(who))
        assert response.status_code == 200, response.text
        return next(w for w in response.json()["items"] if w["name"] == "gpu-node:100")

    # Everyone signed in sees the workers; only alice (owner) and root (admin) see what the
    # GPU worker trains.
    assert gpu("alice")["current_candidate"]["id"] == current
    assert gpu("root")["current_candidate"]["id"] == current
    theirs = gpu("bob")
    assert theirs["current_candidate"] is None
    assert theirs["alive"] is True and theirs["device"] == "GPU: NVIDIA H200"


# ---- the runner's bookkeeping (worker.runner + worker.registry, no TensorFlow) -----------


def test_claim_and_result_update_this_workers_row(settings: Settings) -> None:
    from worker import registry, runner

    db = get_database(settings.resolved_database_url)
    search_id = _search(db, None, mixed_precision=True, jit_compile=True, include_baseline=False)
    name = registry.register(db)
    assert name == runner.worker_name()
    assert registry.beat(db, "CPU: test") is True

    started = runner.start_search(db, search_id)
    assert len(started.evaluate) == 2
    first, second = started.evaluate
    taken, _ = runner.claim(db, first)
    assert taken is not None
    assert taken.mixed_precision is True and taken.jit_compile is True
    with db.read() as session:
        row = session.query(Worker).filter_by(name=name).one()
        assert row.current_candidate_id == first
        assert row.device == "CPU: test"
        assert session.get_one(Candidate, first).worker == name

    metrics = {"val_accuracy": 0.5, "val_loss": 1.0, "evaluator_s": 2.5, "device": "CPU: test"}
    runner.complete(db, taken, metrics, 100, 1000, None, stopped=False)
    with db.read() as session:
        row = session.query(Worker).filter_by(name=name).one()
        assert (row.current_candidate_id, row.candidates_done) == (None, 1)
        assert row.busy_s == pytest.approx(2.5)
        assert session.get_one(Candidate, first).metrics["device"] == "CPU: test"

    # A failed attempt frees the worker without counting a result. (A unique hash: a twin
    # of the completed genome would be reused, not claimed.)
    with db.write() as session:
        session.get_one(Candidate, second).genome_hash = "unique"
    again, _ = runner.claim(db, second)
    assert again is not None
    runner.fail(db, again, "boom")
    with db.read() as session:
        row = session.query(Worker).filter_by(name=name).one()
        assert (row.current_candidate_id, row.candidates_done) == (None, 1)

    # A fresh registration under the same host:pid (a restarted process) starts from zero.
    registry.register(db, "GPU: test")
    with db.read() as session:
        row = session.query(Worker).filter_by(name=name).one()
        assert (row.candidates_done, row.busy_s, row.device) == (0, 0.0, "GPU: test")


def test_older_searches_have_the_accelerator_options_off(settings: Settings) -> None:
    from worker import runner

    db = get_database(settings.resolved_database_url)
    search_id = _search(db, None, include_baseline=False)
    with db.write() as session:  # a config stored before the options existed
        search = session.get(Search, search_id)
        assert search is not None
        config = dict(search.config)
        config.pop("mixed_precision")
        config.pop("jit_compile")
        search.config = config
    first = runner.start_search(db, search_id).evaluate[0]
    taken, _ = runner.claim(db, first)
    assert taken is not None
    assert (taken.mixed_precision, taken.jit_compile) == (False, False)


def test_warm_start_reaches_the_engine_and_older_searches_start_cold(settings: Settings) -> None:
    from sqlalchemy import select

    from worker import runner

    db = get_database(settings.resolved_database_url)

    def origins(search_id: int) -> list[str]:
        with db.read() as session:
            rows = session.scalars(
                select(Candidate).where(Candidate.search_id == search_id).order_by(Candidate.index)
            )
            return [c.origin for c in rows]

    warm = _search(db, None, warm_start=True)
    runner.start_search(db, warm)
    assert origins(warm) == ["baseline", "mutation"]
    older = _search(db, None)
    with db.write() as session:  # a config stored before the option existed
        search = session.get(Search, older)
        assert search is not None
        search.config = {k: v for k, v in search.config.items() if k != "warm_start"}
    runner.start_search(db, older)
    assert origins(older) == ["baseline", "random"]


def test_search_create_accepts_the_accelerator_options(client: TestClient) -> None:
    body = {
        "name": "gpu",
        "dataset": "digits",
        "population_size": 2,
        "generations": 1,
        "mixed_precision": True,
        "jit_compile": True,
    }
    created = client.post("/api/searches", json=body)
    assert created.status_code == 201, created.text
    config = client.get(f"/api/searches/{created.json()['id']}").json()["config"]
    assert config["mixed_precision"] is True and config["jit_compile"] is True
    plain = client.post("/api/searches", json={**body, "name": "cpu", "mixed_precision": False})
    assert plain.status_code == 201
    bad = client.post("/api/searches", json={**body, "jit_compile": "sometimes"})
    assert bad.status_code == 422
