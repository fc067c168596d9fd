"""The spine scenario, run against any deployment: submit on digits, follow SSE, download."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx

from tests.support.sse import SseEvent, read_events

TERMINAL_CANDIDATE = {"completed", "reused", "failed", "cancelled"}


def tiny_search(presets: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "integration digits",
        "dataset": "digits",
        "strategy": "evolution",
        "population_size": 4,
        "generations": 2,
        "epochs_per_candidate": 1,
        "batch_size": 64,
        "seed": 11,
        "final_epochs": 4,
        "search_space": presets["tiny"],
    }
    body.update(overrides)
    return body


def epoch_values(url: str, candidate_id: int) -> dict[int, float]:
    """A candidate's stored curve: validation accuracy by epoch (GET /api/candidates/{id})."""
    detail = httpx.get(f"{url}/api/candidates/{candidate_id}", timeout=10).json()
    return {e["epoch"]: e["val_accuracy"] for e in detail["epochs"]}


def check_event_order(events: list[SseEvent]) -> None:
    ids = [e.id for e in events]
    assert ids == list(range(1, len(ids) + 1)), f"event ids must be 1..N without gaps: {ids}"
    assert events[0].type == "search_status" and events[0].data["status"] == "queued"
    assert events[-1].type == "search_finished"


def run_digits_search(url: str, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Submit, follow the stream to the end, and check every promise of the spine."""
    presets = httpx.get(f"{url}/api/presets", timeout=10).json()
    response = httpx.post(f"{url}/api/searches", json=tiny_search(presets, **overrides), timeout=30)
    assert response.status_code == 201, response.text
    search_id = response.json()["id"]

    events = read_events(f"{url}/api/searches/{search_id}/events", timeout=900)
    check_event_order(events)
    search = httpx.get(f"{url}/api/searches/{search_id}", timeout=10).json()
    assert search["status"] == "succeeded", search
    assert events[-1].data["status"] == "succeeded"

    candidates = httpx.get(
        f"{url}/api/searches/{search_id}/candidates", params={"limit": 500}, timeout=10
    ).json()
    assert candidates["count"] == search["progress"]["candidates_total"]
    generations = sorted({c["generation"] for c in candidates["items"]})
    assert generations == [0, 1]
    trained = [c for c in candidates["items"] if c["status"] == "completed"]
    assert trained, "no candidate trained"
    assert all(c["status"] in {"completed", "reused"} for c in candidates["items"])
    for cand in trained:
        detail = httpx.get(f"{url}/api/candidates/{cand['id']}", timeout=10).json()
        assert [e["epoch"] for e in detail["epochs"]] == [1]
        assert 0.0 <= detail["epochs"][0]["val_accuracy"] <= 1.0
        assert cand["params"] and cand["params"] > 0
    epoch_events = [e for e in events if e.type == "epoch"]
    assert sorted(e.data["candidate_id"] for e in epoch_events) == sorted(c["id"] for c in trained)
    assert [e.data["generation"] for e in events if e.type == "generation_finished"] == [0, 1]
    best = search["best"]
    assert best is not None
    assert best["val_accuracy"] == max(c["val_accuracy"] for c in candidates["items"])

    model = httpx.get(
        f"{url}/api/searches/{search_id}/model", params={"format": "keras"}, timeout=60
    )
    assert model.status_code == 200
    assert model.headers["etag"].strip('"') == hashlib.sha256(model.content).hexdigest()
    assert f"search{search_id}" in model.headers["content-disposition"]
    path = tmp_path / "best.keras"
    path.write_bytes(model.content)
    return {"search": search, "events": events, "candidates": candidates["items"], "model": path}


def test_accuracy_of(model_path: Path) -> float:
    """Load with safe_mode=True (no arbitrary code) and score on the digits test split."""
    import keras

    from backend.datasets.builtin import load_digits

    model = keras.saving.load_model(model_path, safe_mode=True)
    splits = load_digits()
    predictions = model.predict(splits.x_test, verbose=0).argmax(axis=1)
    return float((predictions == splits.y_test).mean())


test_accuracy_of.__test__ = False  # type: ignore[attr-defined]
