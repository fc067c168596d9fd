"""The early stop's rung inside the first epoch (``early_stop_rung_steps``), end to end: the
embedded default (SQLite, embedded worker) and a real ``celery worker`` over Redis writing to
PostgreSQL. One worker process trains one candidate at a time, so the peers each rung judged
against are the completed candidates that finished before it started: replay the rule at the
rung (and, past it, after epoch 1) on the stored scores and compare, candidate by candidate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.search.early_stop import EarlyStopRule, chance_floor, is_hopeless, stop_threshold
from tests.support.processes import embedded_stack, nasboard_env, services_stack, start_server
from tests.support.scenario import epoch_values, tiny_search
from tests.support.sse import read_events

RUNG = 32  # digits at batch 16: 90 steps an epoch, the worker's calls take 16 at a time
EPOCHS = 2


def _run(url: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[Any]]:
    presets = httpx.get(f"{url}/api/presets", timeout=10).json()
    body = tiny_search(
        presets,
        population_size=6,
        generations=2,
        epochs_per_candidate=EPOCHS,
        batch_size=16,
        final_epochs=1,
        early_stop=True,
        early_stop_quantile=0.5,
        early_stop_min_peers=2,
        early_stop_rung_steps=RUNG,
    )
    response = httpx.post(f"{url}/api/searches", json=body, timeout=30)
    assert response.status_code == 201, response.text
    search_id = response.json()["id"]
    events = read_events(f"{url}/api/searches/{search_id}/events", timeout=600)
    search = httpx.get(f"{url}/api/searches/{search_id}", timeout=10).json()
    items = httpx.get(
        f"{url}/api/searches/{search_id}/candidates", params={"limit": 500}, timeout=10
    ).json()["items"]
    return search, items, events


def _check(url: str) -> None:
    search, items, events = _run(url)
    assert search["status"] == "succeeded", search
    rule = EarlyStopRule(quantile=0.5, min_peers=2, chance=1 / 10)  # digits: 10 classes
    trained = sorted(
        (c for c in items if c["status"] == "completed"),
        key=lambda c: c["started_at"],
    )
    curves = {c["id"]: epoch_values(url, c["id"]) for c in trained}
    at_rung, at_epoch = [], []
    for c in trained:
        m = c["metrics"]
        assert m["rung_steps"] == RUNG, m  # every judged candidate was scored at the rung
        before = [
            d
            for d in trained
            if d["finished_at"] <= c["started_at"] and "rung_val_accuracy" in d["metrics"]
        ]
        peers = [d["metrics"]["rung_val_accuracy"] for d in before]
        curve = curves[c["id"]]
        if is_hopeless(m["rung_val_accuracy"], 0, EPOCHS, peers, rule):
            at_rung.append(c["id"])
            assert m["stopped_at_rung"] == RUNG, (c["id"], m, peers)
            _check_why(m, peers, rule)
            assert m["epochs_trained"] == 0.0 and curve == {}  # no epoch trained or stored
            assert c["val_accuracy"] == m["rung_val_accuracy"]  # scored where it stopped
            assert "early_stopped_at" not in m
            continue
        assert "stopped_at_rung" not in m, (c["id"], m, peers)
        epoch_peers = [curves[d["id"]][1] for d in before if 1 in curves[d["id"]]]
        if is_hopeless(curve[1], 1, EPOCHS, epoch_peers, rule):
            at_epoch.append(c["id"])
            assert m["early_stopped_at"] == 1.0
            _check_why(m, epoch_peers, rule)
        else:
            assert sorted(curve) == [1, 2] and "early_stopped_at" not in m
    assert at_rung, "the rung never stopped anyone: the test would prove nothing"
    assert len(at_rung) < len(trained)
    assert search["best"]["candidate_id"] not in at_rung
    finished = {e.data["candidate_id"]: e.data for e in events if e.type == "candidate_finished"}
    assert all(finished[cid]["stopped_at_rung"] == RUNG for cid in at_rung)


def _check_why(metrics: dict[str, Any], peers: list[float], rule: EarlyStopRule) -> None:
    """A stopped candidate's metrics say what it was held against: the rule's threshold over
    these peers, or chance."""
    threshold = stop_threshold(peers, rule)
    assert metrics["early_stop_peers"] == len(peers), (metrics, peers)
    if threshold is None:
        assert metrics["early_stop_threshold"] is None
    else:
        assert metrics["early_stop_threshold"] == pytest.approx(threshold)
    reason = "peers" if metrics["val_accuracy"] > chance_floor(rule.chance or 0.0) else "chance"
    assert metrics["early_stop_reason"] == reason


def test_rung_on_the_embedded_default(tmp_path: Path) -> None:
    with embedded_stack(tmp_path) as (_, url):
        _check(url)


@pytest.mark.services
def test_rung_on_a_celery_worker_over_redis_and_postgres(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    with services_stack(tmp_path, postgres_url, redis_url) as (_, _, url):
        _check(url)


def test_rung_steps_are_checked_naming_the_field(tmp_path: Path) -> None:
    server, url = start_server(
        nasboard_env(tmp_path / "data"), tmp_path / "serve.log", embedded_worker=False
    )
    try:
        presets = httpx.get(f"{url}/api/presets", timeout=10).json()
        for value in (0, -3, 1.5, "many"):
            body = tiny_search(presets, early_stop=True, early_stop_rung_steps=value)
            response = httpx.post(f"{url}/api/searches", json=body, timeout=30)
            assert response.status_code == 422, response.text
            assert response.json()["detail"][0]["loc"][-1] == "early_stop_rung_steps"
        # A rung without the early stop it belongs to would be ignored: refused instead.
        body = tiny_search(presets, early_stop_rung_steps=48)
        response = httpx.post(f"{url}/api/searches", json=body, timeout=30)
        assert response.status_code == 422, response.text
        (error,) = response.json()["detail"]
        assert error["loc"][-1] == "early_stop_rung_steps" and "early_stop" in error["msg"]
        assert httpx.get(f"{url}/api/searches", timeout=10).json()["items"] == []
    finally:
        server.stop()
