"""REST contract of /api/searches: creation, validation, lookups, cancel, model conflicts."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.api.app import PLOTLY_URL

VALID = {
    "name": "api test",
    "dataset": "digits",
    "population_size": 4,
    "generations": 2,
    "epochs_per_candidate": 1,
    "seed": 1,
}


def _count(client: TestClient) -> int:
    return int(client.get("/api/searches").json()["count"])


def test_create_returns_201_with_defaults_resolved(client: TestClient) -> None:
    response = client.post("/api/searches", json=VALID)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "queued"
    assert body["strategy"] == "evolution"
    assert response.headers["location"] == f"/api/searches/{body['id']}"
    seed_space = client.get("/api/presets").json()["seed"]
    assert body["config"]["search_space"] == seed_space
    assert body["progress"]["candidates_done"] == 0
    assert client.get(f"/api/searches/{body['id']}").json()["id"] == body["id"]
    assert _count(client) == 1


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"population_size": 1}, "population_size"),
        ({"population_size": 10_000}, "population_size"),
        ({"generations": 0}, "generations"),
        ({"epochs_per_candidate": "many"}, "epochs_per_candidate"),
        ({"strategy": "gradient-magic"}, "strategy"),
        ({"name": ""}, "name"),
        ({"crossover_prob": 1.5}, "crossover_prob"),
        ({"search_space": {"conv_blocks": "lots"}}, "search_space"),
        ({"include_baseline": False, "warm_start": True}, "warm_start"),
    ],
)
def test_invalid_body_is_422_naming_the_field(
    client: TestClient, patch: dict[str, Any], field: str
) -> None:
    response = client.post("/api/searches", json={**VALID, **patch})
    assert response.status_code == 422
    locs = [err["loc"] for err in response.json()["detail"]]
    assert any(field in loc for loc in locs), locs
    assert _count(client) == 0


def test_missing_field_is_422(client: TestClient) -> None:
    body = {k: v for k, v in VALID.items() if k != "dataset"}
    response = client.post("/api/searches", json=body)
    assert response.status_code == 422
    assert ["body", "dataset"] in [err["loc"] for err in response.json()["detail"]]
    assert _count(client) == 0


def test_unknown_dataset_is_422_naming_dataset(client: TestClient) -> None:
    response = client.post("/api/searches", json={**VALID, "dataset": "imagenet"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "dataset"]
    assert _count(client) == 0


def test_mass_assignment_is_ignored(client: TestClient) -> None:
    response = client.post(
        "/api/searches", json={**VALID, "status": "succeeded", "id": 999, "owner": "eve"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "queued"
    assert body["id"] != 999


@pytest.mark.parametrize(
    "path",
    [
        "/api/searches/4242",
        "/api/searches/4242/candidates",
        "/api/searches/4242/generations",
        "/api/searches/4242/model",
        "/api/searches/4242/events",
        "/api/candidates/4242",
        "/api/candidates/4242/graph",
        "/api/candidates/4242/model",
    ],
)
def test_unknown_ids_are_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "not found" in response.json()["detail"]


def test_cancel_unknown_is_404(client: TestClient) -> None:
    assert client.post("/api/searches/4242/cancel").status_code == 404


def test_model_of_unfinished_search_is_409_with_message(client: TestClient) -> None:
    search_id = client.post("/api/searches", json=VALID).json()["id"]
    response = client.get(f"/api/searches/{search_id}/model", params={"format": "keras"})
    assert response.status_code == 409
    assert "no final model yet" in response.json()["detail"]


def test_cancel_then_cancel_again_conflicts(client: TestClient) -> None:
    search_id = client.post("/api/searches", json=VALID).json()["id"]
    first = client.post(f"/api/searches/{search_id}/cancel")
    assert first.status_code == 200
    assert first.json()["status"] == "cancelled"
    second = client.post(f"/api/searches/{search_id}/cancel")
    assert second.status_code == 409
    assert client.get(f"/api/searches/{search_id}").json()["status"] == "cancelled"


def test_events_of_a_cancelled_search_replay_in_order_and_end(client: TestClient) -> None:
    search_id = client.post("/api/searches", json=VALID).json()["id"]
    client.post(f"/api/searches/{search_id}/cancel")
    with client.stream("GET", f"/api/searches/{search_id}/events") as response:
        text = "".join(response.iter_text())
    assert "id: 1\nevent: search_status" in text
    assert "id: 2\nevent: search_status" in text
    assert text.index('"status":"queued"') < text.index('"status":"cancelled"')
    assert text.rstrip().splitlines()[-2] == "event: end"
    with client.stream(
        "GET", f"/api/searches/{search_id}/events", headers={"Last-Event-ID": "1"}
    ) as response:
        resumed = "".join(response.iter_text())
    assert "id: 1\n" not in resumed and "id: 2\n" in resumed


def test_idempotency_key_creates_one_search(client: TestClient) -> None:
    headers = {"Idempotency-Key": "submit-abc"}
    first = client.post("/api/searches", json=VALID, headers=headers)
    second = client.post("/api/searches", json=VALID, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert _count(client) == 1


def test_list_pagination_bounds(client: TestClient) -> None:
    assert client.get("/api/searches", params={"limit": 0}).status_code == 422
    assert client.get("/api/searches", params={"limit": 100_000}).status_code == 422


def test_health_and_datasets(client: TestClient) -> None:
    health = client.get("/api/health").json()
    assert health == {"status": "ok", "database": "sqlite", "broker": "embedded"}
    ids = {d["id"] for d in client.get("/api/datasets").json()}
    assert {"digits", "fashion-mnist"} <= ids


def test_dashboard_page_and_plotly_are_served(client: TestClient) -> None:
    for path in ("/", "/searches/1", "/new"):
        page = client.get(path)
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
    plotly_js = client.get("/static/plotly.min.js")
    assert plotly_js.status_code == 200
    assert len(plotly_js.content) > 1_000_000
    # The page names a versioned copy that browsers may keep for good.
    page = client.get("/").text
    assert f'<meta name="plotly-src" content="{PLOTLY_URL}">' in page
    assert "/static/plotly.min.js" not in page
    versioned = client.get(PLOTLY_URL)
    assert versioned.status_code == 200
    assert versioned.content == plotly_js.content
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_pause_and_resume_need_the_right_state(client: TestClient) -> None:
    search_id = client.post("/api/searches", json=VALID).json()["id"]
    paused = client.post(f"/api/searches/{search_id}/pause")
    assert paused.status_code == 409
    assert "only a running search can be paused" in paused.json()["detail"]
    resumed = client.post(f"/api/searches/{search_id}/resume")
    assert resumed.status_code == 409
    assert client.post("/api/searches/4242/pause").status_code == 404


def test_cross_field_errors_name_their_field(client: TestClient) -> None:
    response = client.post("/api/searches", json={**VALID, "elitism": 4})
    assert response.status_code == 422
    assert ["body", "elitism"] in [e["loc"] for e in response.json()["detail"]]
    response = client.post("/api/searches", json={**VALID, "tournament_size": 5})
    assert ["body", "tournament_size"] in [e["loc"] for e in response.json()["detail"]]


def test_search_public_carries_stream_position_and_baseline_note(client: TestClient) -> None:
    body = client.post("/api/searches", json=VALID).json()
    assert body["last_event_id"] == 1  # the "queued" status event
    assert body["baseline_note"] == "not proposed yet"
    off = client.post("/api/searches", json={**VALID, "include_baseline": False}).json()
    assert off["baseline_note"] == "not requested"
