"""GET /api/searches/{id}/candidates?fields=summary: what the dashboard's charts read."""

from __future__ import annotations

from fastapi.testclient import TestClient

from backend.core.config import Settings
from backend.db.models import Candidate
from backend.db.session import Database

SUMMARY_KEYS = {
    "id", "generation", "index", "status", "origin", "val_accuracy", "params", "flops",
    "duration_s",
}  # fmt: skip


def _search_with_candidates(client: TestClient, settings: Settings, n: int) -> int:
    created = client.post("/api/searches", json={"name": "s", "dataset": "digits"})
    assert created.status_code == 201, created.text
    search_id = int(created.json()["id"])
    db = Database(settings.resolved_database_url)
    with db.write() as session:
        for i in range(n):
            session.add(
                Candidate(
                    search_id=search_id, generation=i // 10, index=i % 10, status="completed",
                    genome={"nodes": []}, genome_hash=f"h{i}", origin="random",
                    val_accuracy=i / n, params=100 + i, flops=1000 + i,
                )
            )  # fmt: skip
    return search_id


def test_summary_leaves_genomes_out_and_pages_past_500(
    client: TestClient, settings: Settings
) -> None:
    search_id = _search_with_candidates(client, settings, 620)
    url = f"/api/searches/{search_id}/candidates"
    page = client.get(url, params={"fields": "summary", "limit": 5000, "sort": "id"})
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["count"] == 620 and len(body["items"]) == 620
    assert set(body["items"][0]) == SUMMARY_KEYS
    assert [c["id"] for c in body["items"]] == sorted(c["id"] for c in body["items"])
    best = client.get(
        url, params={"fields": "summary", "limit": 1, "sort": "val_accuracy", "order": "desc"}
    )
    assert best.json()["items"][0]["val_accuracy"] == 619 / 620
    # Full candidates keep their limit of 500 per page, and say so on the field.
    full = client.get(url, params={"limit": 501})
    assert full.status_code == 422
    assert full.json()["detail"][0]["loc"] == ["query", "limit"]
    assert "genome" in client.get(url, params={"limit": 1}).json()["items"][0]
