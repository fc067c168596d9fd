"""End to end on real processes: upload an .npz, search on it, download every format (HTTP
and the CLI), read the model card, and check each export predicts like the trained model."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import httpx
import pytest

from backend.datasets.splits import load_npz
from tests.datasets.helpers import digits_arrays, npz_bytes
from tests.export.runtimes import agreement, keras_classes, savedmodel_classes, tflite_classes
from tests.support.processes import NASBOARD, ROOT, nasboard_env, start_server
from tests.support.scenario import tiny_search
from tests.support.sse import read_events

pytestmark = pytest.mark.tf

SUFFIX = {"keras": ".keras", "savedmodel": ".savedmodel.zip", "tflite": ".tflite"}


def _download(url: str, search_id: int, fmt: str, target: Path) -> str:
    response = httpx.get(
        f"{url}/api/searches/{search_id}/model", params={"format": fmt}, timeout=60
    )
    assert response.status_code == 200, response.text
    digest = hashlib.sha256(response.content).hexdigest()
    assert response.headers["etag"].strip('"') == digest
    assert (
        f"nasboard-search{search_id}-best{SUFFIX[fmt]}" in response.headers["content-disposition"]
    )
    target.write_bytes(response.content)
    return digest


def test_search_on_uploaded_npz_exports_every_format(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = nasboard_env(data_dir)
    server, url = start_server(env, tmp_path / "serve.log", embedded_worker=True)
    try:
        upload = httpx.post(
            f"{url}/api/datasets",
            files={
                "file": ("digits.npz", npz_bytes(**digits_arrays()), "application/octet-stream")
            },
            data={"name": "uploaded digits", "split_seed": "2"},
            timeout=60,
        )
        assert upload.status_code == 201, upload.text
        dataset = upload.json()
        presets = httpx.get(f"{url}/api/presets", timeout=10).json()
        body = tiny_search(
            presets, name="on an upload", dataset=dataset["id"], generations=1, final_epochs=5
        )
        created = httpx.post(f"{url}/api/searches", json=body, timeout=30)
        assert created.status_code == 201, created.text
        search_id = created.json()["id"]

        events = read_events(f"{url}/api/searches/{search_id}/events", timeout=900)
        search = httpx.get(f"{url}/api/searches/{search_id}", timeout=10).json()
        assert search["status"] == "succeeded", (search, events[-3:])
        assert search["dataset"] == dataset["id"]

        paths = {fmt: tmp_path / f"best{SUFFIX[fmt]}" for fmt in SUFFIX}
        digests = {fmt: _download(url, search_id, fmt, paths[fmt]) for fmt in SUFFIX}

        cli_target = tmp_path / "cli.tflite"
        cli = subprocess.run(
            [
                *NASBOARD,
                "download",
                str(search_id),
                "--format",
                "tflite",
                "-o",
                str(cli_target),
                "--url",
                url,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cli.returncode == 0, cli.stderr
        assert hashlib.sha256(cli_target.read_bytes()).hexdigest() == digests["tflite"]
        assert digests["tflite"] in cli.stdout

        card = httpx.get(f"{url}/api/searches/{search_id}/model-card", timeout=10).json()
        assert card["dataset"]["id"] == dataset["id"]
        assert card["dataset"]["checksum_sha256"] == dataset["checksum"]
        assert card["model"]["candidate_id"] == search["best"]["candidate_id"]
        assert card["seed"] == body["seed"]
        assert card["training"]["final_epochs"] == 5
        assert len(card["metrics"]["confusion_matrix"]) == 10
        assert 0.0 <= card["metrics"]["f1"] <= 1.0
        assert card["layers"] and card["genome"]
        assert card["versions"]["nasboard"] and card["versions"]["tensorflow"]
        for fmt in SUFFIX:
            assert card["exports"][fmt]["sha256"] == digests[fmt]
        page = httpx.get(
            f"{url}/api/searches/{search_id}/model-card", params={"format": "html"}, timeout=10
        )
        assert page.status_code == 200 and "Confusion matrix" in page.text

        splits = load_npz(str(data_dir / "datasets" / f"{dataset['id']}.npz"))
        x, y = splits.x_test, splits.y_test
        reference = keras_classes(paths["keras"], x)
        accuracy = float((reference == y).mean())
        assert accuracy > 0.2, f"the best model is near chance ({accuracy:.3f})"
        assert card["metrics"]["test_accuracy"] == pytest.approx(accuracy, abs=0.02)
        assert agreement(savedmodel_classes(paths["savedmodel"], x, tmp_path), reference) >= 0.99
        assert agreement(tflite_classes(paths["tflite"], x), reference) >= 0.99

        # The search ended, so its dataset may go now.
        assert httpx.delete(f"{url}/api/datasets/{dataset['id']}", timeout=10).status_code == 204
        assert not (data_dir / "datasets" / f"{dataset['id']}.npz").exists()
    except BaseException:
        print("--- serve ---\n" + server.tail(150))
        raise
    finally:
        server.stop()
