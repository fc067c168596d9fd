"""Hostile and extreme input: server limits name the field, bodies are bounded, per-user caps,
security headers and CORS, and the pinned versions past known CVEs."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.api.app import create_app
from backend.core.config import Settings
from tests.api.conftest import Team

VALID = {
    "name": "limits",
    "dataset": "digits",
    "population_size": 4,
    "generations": 2,
    "epochs_per_candidate": 1,
}


@pytest.fixture
def tight(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "max_population": 10,
            "max_generations": 5,
            "max_epochs": 3,
            "max_final_epochs": 4,
            "max_batch_size": 256,
            "max_time_budget_s": 600.0,
            "max_conv_blocks": 3,
            "max_dense_layers": 2,
            "max_filters": 64,
            "max_units": 128,
            "max_kernel_size": 5,
            "max_branches": 1,
        }
    )


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"population_size": 11}, ["body", "population_size"]),
        ({"generations": 6}, ["body", "generations"]),
        ({"epochs_per_candidate": 4}, ["body", "epochs_per_candidate"]),
        ({"final_epochs": 5}, ["body", "final_epochs"]),
        ({"batch_size": 512}, ["body", "batch_size"]),
        ({"time_budget_s": 601}, ["body", "time_budget_s"]),
        ({"search_space": {"conv_blocks_max": 4}}, ["body", "search_space", "conv_blocks_max"]),
        ({"search_space": {"dense_layers_max": 3}}, ["body", "search_space", "dense_layers_max"]),
        ({"search_space": {"filters": [16, 65536]}}, ["body", "search_space", "filters"]),
        ({"search_space": {"units": [64, 4096]}}, ["body", "search_space", "units"]),
        ({"search_space": {"kernel_sizes": [3, 7]}}, ["body", "search_space", "kernel_sizes"]),
        (
            {"search_space": {"branches": {"max_branches": 2, "probability": 0.5}}},
            ["body", "search_space", "branches", "max_branches"],
        ),
    ],
)
def test_server_limits_are_422_naming_the_field(
    tight: Settings, patch: dict[str, Any], loc: list[str]
) -> None:
    body = {**VALID, **patch}
    if "search_space" in patch:
        body["search_space"] = {
            "conv_blocks_max": 2,
            "dense_layers_max": 1,
            "filters": [16, 32],
            "units": [64],
            **patch["search_space"],
        }
    with TestClient(create_app(tight)) as client:
        response = client.post("/api/searches", json=body)
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert detail[0]["loc"] == loc, detail
        assert "on this server" in detail[0]["msg"]
        assert client.get("/api/searches").json()["count"] == 0
        # Within the limits the same request is accepted.
        assert client.post("/api/searches", json=VALID).status_code == 201


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"population_size": 10**9}, "population_size"),
        ({"generations": -1}, "generations"),
        ({"seed": 2**70}, "seed"),
        ({"name": "x" * 10_000}, "name"),
        ({"search_space": {"conv_blocks_max": 10**6}}, "search_space"),
        ({"search_space": {"filters": list(range(1, 5000))}}, "search_space"),
        ({"search_space": {"activations": ["relu", "__import__('os')"]}}, "search_space"),
        ({"search_space": {"layer": "keras.layers.Lambda"}}, "search_space"),
        ({"time_budget_s": 1e300}, "time_budget_s"),
        ({"learning_rate": "NaN", "crossover_prob": float("inf")}, "crossover_prob"),
    ],
)
def test_extreme_requests_are_4xx(client: TestClient, patch: dict[str, Any], field: str) -> None:
    response = client.post(
        "/api/searches",
        content=_json({**VALID, **patch}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert any(field in err["loc"] for err in response.json()["detail"])


def _json(body: dict[str, Any]) -> bytes:
    import json

    return json.dumps(body).encode()


def test_large_search_space_choice_lists_are_bounded(client: TestClient) -> None:
    """A choice list as long as the body limit allows is still refused quickly (no 5xx)."""
    body = {**VALID, "search_space": {"learning_rates": [1e-3 + i * 1e-9 for i in range(20_000)]}}
    response = client.post("/api/searches", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:3] == ["body", "search_space", "learning_rates"]


def test_request_bodies_are_bounded(client: TestClient, settings: Settings) -> None:
    big = b'{"name": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    response = client.post(
        "/api/searches", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert str(settings.max_body_bytes) in response.json()["detail"]

    def chunks() -> Any:
        yield b'{"name": "'
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    streamed = client.post(
        "/api/searches", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


def test_page_sizes_are_bounded(client: TestClient) -> None:
    assert client.get("/api/searches", params={"limit": 201}).status_code == 422
    assert client.get("/api/searches/1/candidates", params={"limit": 501}).status_code == 422
    assert client.get("/api/searches", params={"offset": -1}).status_code == 422


def test_concurrent_searches_per_user_are_429(auth_client: TestClient, team: Team) -> None:
    for _ in range(3):  # the fixture's max_active_searches
        assert (
            auth_client.post("/api/searches", json=VALID, headers=team.auth("bob")).status_code
            == 201
        )
    refused = auth_client.post("/api/searches", json=VALID, headers=team.auth("bob"))
    assert refused.status_code == 429
    assert "limit is 3" in refused.json()["detail"]
    # Others are not held back by bob, and a cancelled search frees a place.
    assert (
        auth_client.post("/api/searches", json=VALID, headers=team.auth("alice")).status_code == 201
    )
    first = auth_client.get("/api/searches", headers=team.auth("bob")).json()["items"][-1]["id"]
    auth_client.post(f"/api/searches/{first}/cancel", headers=team.auth("bob"))
    assert (
        auth_client.post("/api/searches", json=VALID, headers=team.auth("bob")).status_code == 201
    )


def test_upload_mass_assignment_is_refused(auth_client: TestClient, team: Team) -> None:
    from tests.datasets.helpers import digits_arrays, npz_bytes

    files = {"file": ("d.npz", npz_bytes(**digits_arrays(200)), "application/octet-stream")}
    for extra in ("owner_id", "id", "builtin", "sha256"):
        response = auth_client.post(
            "/api/datasets",
            data={"name": "mine", extra: str(team.ids["alice"])},
            files=files,
            headers=team.auth("bob"),
        )
        assert response.status_code == 422, extra
        assert response.json()["detail"][0]["loc"] == ["body", extra]
    ok = auth_client.post(
        "/api/datasets", data={"name": "mine"}, files=files, headers=team.auth("bob")
    )
    assert ok.status_code == 201
    dataset_id = ok.json()["id"]
    from backend.db.models import Dataset

    with team.db.read() as session:
        row = session.get(Dataset, dataset_id)
        assert row is not None and row.owner_id == team.ids["bob"]
    assert (
        auth_client.get(f"/api/datasets/{dataset_id}", headers=team.auth("alice")).status_code
        == 404
    )
    assert (
        auth_client.get(
            f"/api/datasets/{dataset_id}/preview.png", headers=team.auth("alice")
        ).status_code
        == 404
    )
    assert (
        auth_client.delete(f"/api/datasets/{dataset_id}", headers=team.auth("alice")).status_code
        == 404
    )
    assert (
        auth_client.delete(f"/api/datasets/{dataset_id}", headers=team.auth("bob")).status_code
        == 204
    )


def test_uploads_per_user_are_capped(auth_settings: Settings, team: Team) -> None:
    from tests.datasets.helpers import digits_arrays, npz_bytes

    files = {"file": ("d.npz", npz_bytes(**digits_arrays(200)), "application/octet-stream")}
    settings = auth_settings.model_copy(update={"max_datasets_per_user": 1})
    with TestClient(create_app(settings)) as client:
        first = client.post(
            "/api/datasets", data={"name": "a"}, files=files, headers=team.auth("bob")
        )
        assert first.status_code == 201
        second = client.post(
            "/api/datasets", data={"name": "b"}, files=files, headers=team.auth("bob")
        )
        assert second.status_code == 429
        assert "limit is 1" in second.json()["detail"]


def test_security_headers_on_pages_and_api(client: TestClient) -> None:
    for path in (
        "/",
        "/login",
        "/api/health",
        "/api/searches",
        "/static/js/app.js",
        "/api/searches/999",
    ):
        response = client.get(path)
        headers = response.headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
        assert "frame-ancestors 'none'" in csp and "'unsafe-eval'" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        # The login page keeps its origin for its form's POST (see backend/api/pages.py).
        expected = "same-origin" if path == "/login" else "no-referrer"
        assert headers["referrer-policy"] == expected, path
    assert client.get("/api/searches").headers["cache-control"] == "no-store"


def test_dashboard_has_no_inline_script() -> None:
    """script-src 'self' holds only while every script is a file of our own."""
    import re

    from backend.api.app import FRONTEND_DIR

    html = (FRONTEND_DIR / "index.html").read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    assert not re.search(r"\son[a-z]+=", html), "inline event handlers need 'unsafe-inline'"


def test_cors_is_off_unless_origins_are_listed(settings: Settings) -> None:
    preflight = {
        "Origin": "https://lab.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    with TestClient(create_app(settings)) as client:
        response = client.options("/api/searches", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
        got = client.get("/api/health", headers={"Origin": "https://lab.example"})
        assert "access-control-allow-origin" not in got.headers
    allowed = settings.model_copy(update={"cors_origins": ["https://lab.example"]})
    with TestClient(create_app(allowed)) as client:
        response = client.options("/api/searches", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://lab.example"
        assert response.headers["access-control-allow-credentials"] == "true"
        other = client.options(
            "/api/searches", headers={**preflight, "Origin": "https://x.example"}
        )
        assert other.headers.get("access-control-allow-origin") != "https://x.example"


def test_cors_origins_setting_parses_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASBOARD_CORS_ORIGINS", "https://a.example, http://b.example:8080/")
    assert Settings().cors_origins == ["https://a.example", "http://b.example:8080"]
    monkeypatch.setenv("NASBOARD_CORS_ORIGINS", '["https://c.example"]')
    assert Settings().cors_origins == ["https://c.example"]
    monkeypatch.delenv("NASBOARD_CORS_ORIGINS")
    assert Settings().cors_origins == []


def _version(name: str) -> tuple[int, ...] | None:
    try:
        raw = metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
    from packaging.version import Version

    return Version(raw).release


def test_installed_versions_are_past_known_cves() -> None:
    """Starlette >= 0.40 (multipart limits, CVE-2024-47874), python-multipart >= 0.0.18
    (CVE-2024-53981), Keras >= 3.12 (model-loading CVEs, where TensorFlow is installed)."""
    starlette = _version("starlette")
    assert starlette is not None and starlette >= (0, 40), starlette
    multipart = _version("python-multipart")
    assert multipart is not None and multipart >= (0, 0, 18), multipart
    keras = _version("keras")
    if keras is not None:
        assert keras >= (3, 12), keras


def test_pins_in_pyproject_are_past_known_cves() -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    deps = " ".join(project["dependencies"])
    assert "starlette>=0.40" in deps
    assert "python-multipart>=0.0.18" in deps
    for extra in ("tf", "gpu"):
        assert "keras>=3.12" in project["optional-dependencies"][extra]
