"""The whole spine on real processes: API server, Celery worker, database, broker."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.support.processes import embedded_stack, nasboard_env, services_stack, start_server
from tests.support.scenario import run_digits_search, test_accuracy_of

CHANCE = 0.1


def _assert_model_beats_chance(result: dict) -> None:
    accuracy = test_accuracy_of(result["model"])
    assert accuracy > 2 * CHANCE, f"best model test accuracy {accuracy:.3f} is near chance"
    final = result["search"]["final"]
    assert final["test_accuracy"] == pytest.approx(accuracy, abs=0.02)
    assert len(final["confusion_matrix"]) == 10


@pytest.mark.services
def test_celery_worker_over_redis_writing_to_postgres(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    with services_stack(tmp_path, postgres_url, redis_url) as (_, worker, url):
        result = run_digits_search(url, tmp_path)
        health = result["search"]
        assert health["status"] == "succeeded"
        _assert_model_beats_chance(result)
        workers = {c["worker"] for c in result["candidates"] if c["status"] == "completed"}
        assert all(w and str(worker.popen.pid) in w for w in workers), workers


def test_embedded_default_sqlite_and_embedded_worker(tmp_path: Path) -> None:
    with embedded_stack(tmp_path) as (_, url):
        result = run_digits_search(url, tmp_path)
        _assert_model_beats_chance(result)
        assert (tmp_path / "data" / "nasboard.db").exists()


def test_quick_start_demo_beats_the_seed_cnn(tmp_path: Path) -> None:
    """`scripts/run.sh` = `nasboard serve --demo`: the demo search submits itself on the embedded
    default, succeeds, and shows what a search is for: a best candidate above the seed CNN."""
    env = nasboard_env(tmp_path / "data", NASBOARD_TF_THREADS="2")  # the laptop run's 2 cores
    server, url = start_server(env, tmp_path / "serve.log", embedded_worker=True, demo=True)
    try:
        deadline = time.monotonic() + 300
        search: dict = {}
        while time.monotonic() < deadline:
            items = httpx.get(f"{url}/api/searches", timeout=10).json()["items"]
            if items:
                search = httpx.get(f"{url}/api/searches/{items[0]['id']}", timeout=10).json()
                if search["status"] not in ("queued", "running"):
                    break
            time.sleep(1)
        assert search.get("name") == "demo: digits, evolution", search
        assert search["status"] == "succeeded", search.get("error")
        final = search["final"]
        assert search["best"]["val_accuracy"] > final["baseline_val_accuracy"], search["best"]
        assert final["test_accuracy"] >= 0.95, final["test_accuracy"]
    except BaseException:
        print("--- serve ---\n" + server.tail(120))
        raise
    finally:
        server.stop()
