"""Model downloads and the model card over HTTP (files seeded as the worker leaves them)."""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient

from backend.core.config import Settings
from backend.db.models import Artifact, Candidate, Search
from backend.db.models.artifact import BEST_MODEL, CANDIDATE_MODEL
from backend.db.session import get_database
from backend.services.model_card import build_card

FILES = {
    "keras": b"PK keras archive",
    "savedmodel": b"PK savedmodel zip",
    "tflite": b"TFL3 flatbuffer",
}


def _seed(settings: Settings, *, with_extras: bool = True) -> tuple[int, int]:
    db = get_database(settings.resolved_database_url)
    folder = settings.data_dir / "artifacts" / "search_1"
    folder.mkdir(parents=True, exist_ok=True)
    card = build_card(
        search={"id": 1, "name": "<b>seeded</b>", "config": {"seed": 4, "batch_size": 32}},
        candidate={"id": 1, "generation": 0, "index": 0, "val_accuracy": 0.5},
        genome={"arch": "x"},
        layers=[{"name": "dense", "type": "Dense", "output_shape": [None, 3], "params": 12}],
        metrics={"test_accuracy": 0.75, "f1": 0.7, "confusion_matrix": [[3, 1], [0, 4]]},
        dataset={"id": "digits", "checksum_sha256": "ab" * 32, "class_names": ["a", "b"]},
        exports={},
        frameworks={},
    )
    contents = {**FILES, "card": json.dumps(card).encode()}
    names = {
        "keras": "best.keras",
        "savedmodel": "best.savedmodel.zip",
        "tflite": "best.tflite",
        "card": "best.card.json",
    }
    with db.write() as session:
        search = Search(
            name="s", dataset="digits", strategy="evolution", status="succeeded", config={}
        )
        session.add(search)
        session.flush()
        cand = Candidate(
            search_id=search.id,
            generation=0,
            index=0,
            genome={},
            genome_hash="h",
            status="completed",
        )
        session.add(cand)
        session.flush()
        for fmt, data in contents.items():
            if fmt != "keras" and not with_extras:
                continue
            path = folder / names[fmt]
            path.write_bytes(data)
            session.add(
                Artifact(
                    search_id=search.id,
                    candidate_id=None,
                    kind=BEST_MODEL,
                    format=fmt,
                    path=f"artifacts/search_1/{names[fmt]}",
                    sha256=hashlib.sha256(data).hexdigest(),
                    size=len(data),
                )
            )
        cpath = folder / f"candidate_{cand.id}.keras"
        cpath.write_bytes(b"candidate keras")
        session.add(
            Artifact(
                search_id=search.id,
                candidate_id=cand.id,
                kind=CANDIDATE_MODEL,
                format="keras",
                path=f"artifacts/search_1/{cpath.name}",
                sha256=hashlib.sha256(b"candidate keras").hexdigest(),
                size=15,
            )
        )
        return search.id, cand.id


@pytest.mark.parametrize(
    ("fmt", "suffix"),
    [("keras", ".keras"), ("savedmodel", ".savedmodel.zip"), ("tflite", ".tflite")],
)
def test_best_model_downloads_in_each_format(
    client: TestClient, settings: Settings, fmt: str, suffix: str
) -> None:
    search_id, _ = _seed(settings)
    response = client.get(f"/api/searches/{search_id}/model", params={"format": fmt})
    assert response.status_code == 200, response.text
    assert response.content == FILES[fmt]
    digest = hashlib.sha256(FILES[fmt]).hexdigest()
    assert response.headers["etag"] == f'"{digest}"'
    assert (
        f'filename="nasboard-search{search_id}-best{suffix}"'
        in response.headers["content-disposition"]
    )
    again = client.get(
        f"/api/searches/{search_id}/model",
        params={"format": fmt},
        headers={"If-None-Match": f'"{digest}"'},
    )
    assert again.status_code == 304


def test_unknown_format_is_422(client: TestClient, settings: Settings) -> None:
    search_id, cand_id = _seed(settings)
    for url in (f"/api/searches/{search_id}/model", f"/api/candidates/{cand_id}/model"):
        response = client.get(url, params={"format": "onnx"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "format"]


def test_missing_export_is_409_naming_it(client: TestClient, settings: Settings) -> None:
    search_id, _ = _seed(settings, with_extras=False)
    response = client.get(f"/api/searches/{search_id}/model", params={"format": "tflite"})
    assert response.status_code == 409
    assert "tflite" in response.json()["detail"]
    assert client.get(f"/api/searches/{search_id}/model-card").status_code == 409


def test_candidate_keras_and_409_for_other_formats(client: TestClient, settings: Settings) -> None:
    _, cand_id = _seed(settings)
    response = client.get(f"/api/candidates/{cand_id}/model")
    assert response.status_code == 200 and response.content == b"candidate keras"
    assert "-g0-c0.keras" in response.headers["content-disposition"]
    for fmt in ("savedmodel", "tflite"):
        refused = client.get(f"/api/candidates/{cand_id}/model", params={"format": fmt})
        assert refused.status_code == 409
        assert "best model" in refused.json()["detail"]


def test_model_card_json_and_html(client: TestClient, settings: Settings) -> None:
    search_id, _ = _seed(settings)
    card = client.get(f"/api/searches/{search_id}/model-card")
    assert card.status_code == 200
    body = card.json()
    assert body["metrics"]["test_accuracy"] == 0.75
    assert body["dataset"]["checksum_sha256"] == "ab" * 32
    assert body["seed"] == 4 and body["versions"]["nasboard"]
    page = client.get(f"/api/searches/{search_id}/model-card", params={"format": "html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "&lt;b&gt;seeded&lt;/b&gt;" in page.text and "<b>seeded</b>" not in page.text
    assert "Confusion matrix" in page.text
    assert client.get("/api/searches/999/model-card").status_code == 404


def test_server_never_loads_user_models(client: TestClient) -> None:
    """There is no model upload: no route that takes a body has 'model' in its path."""
    for route in client.app.routes:  # type: ignore[attr-defined]
        methods: set[str] = getattr(route, "methods", set()) or set()
        path = getattr(route, "path", "")
        if {"POST", "PUT", "PATCH"} & methods:
            assert "model" not in path, path
