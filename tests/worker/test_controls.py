"""Controls on a live embedded deployment: cancel stops training promptly, pause holds work
back and resume finishes it, and the CLI submits, watches and downloads."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from backend.search.confirm import MAX_CONFIRM_SHARE
from backend.search.early_stop import EarlyStopRule, is_hopeless
from tests.support.processes import NASBOARD, Proc, nasboard_env, start_server
from tests.support.scenario import epoch_values, tiny_search
from tests.support.sse import read_events, read_until


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proc, str]]:
    tmp = tmp_path_factory.mktemp("controls")
    proc, url = start_server(nasboard_env(tmp / "data"), tmp / "serve.log", embedded_worker=True)
    yield proc, url
    proc.stop()


def _submit(url: str, **overrides: Any) -> int:
    presets = httpx.get(f"{url}/api/presets", timeout=10).json()
    response = httpx.post(f"{url}/api/searches", json=tiny_search(presets, **overrides), timeout=30)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def _wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_cancel_stops_a_training_candidate_promptly(server: tuple[Proc, str]) -> None:
    _, url = server
    # 40 epochs of small batches: the candidate would train for half a minute or more.
    search_id = _submit(url, epochs_per_candidate=40, batch_size=16, population_size=2)
    first = read_until(
        f"{url}/api/searches/{search_id}/events", lambda e: e.type == "epoch", timeout=120
    )[-1]
    candidate_id = first.data["candidate_id"]
    asked = time.monotonic()
    assert httpx.post(f"{url}/api/searches/{search_id}/cancel").json()["status"] == "cancelled"

    def stopped() -> dict[str, Any] | None:
        cand = httpx.get(f"{url}/api/candidates/{candidate_id}").json()
        return cand if cand["status"] == "cancelled" else None

    cand = _wait_for(stopped, 20, "the training candidate to stop")
    assert time.monotonic() - asked < 10
    assert len(cand["epochs"]) < 40
    statuses = {
        c["status"] for c in httpx.get(f"{url}/api/searches/{search_id}/candidates").json()["items"]
    }
    assert statuses <= {"cancelled"}, statuses


def test_pause_holds_back_work_and_resume_finishes(server: tuple[Proc, str]) -> None:
    _, url = server
    search_id = _submit(url, batch_size=16)
    read_until(
        f"{url}/api/searches/{search_id}/events",
        lambda e: e.type == "candidate_finished",
        timeout=120,
    )
    paused = httpx.post(f"{url}/api/searches/{search_id}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"

    def settled() -> bool:
        items = httpx.get(f"{url}/api/searches/{search_id}/candidates").json()["items"]
        return not any(c["status"] == "running" for c in items)

    _wait_for(settled, 60, "the candidate training at pause time to finish")
    done_at_pause = httpx.get(f"{url}/api/searches/{search_id}").json()["progress"]
    time.sleep(3)
    still = httpx.get(f"{url}/api/searches/{search_id}").json()
    assert still["status"] == "paused"
    assert still["progress"]["candidates_done"] == done_at_pause["candidates_done"]
    assert still["progress"]["candidates_done"] < still["progress"]["candidates_total"]

    resumed = httpx.post(f"{url}/api/searches/{search_id}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "running"
    events = read_events(f"{url}/api/searches/{search_id}/events", timeout=300)
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    final = httpx.get(f"{url}/api/searches/{search_id}").json()
    assert final["status"] == "succeeded", final
    statuses = [e.data["status"] for e in events if e.type == "search_status"]
    assert statuses[:4] == ["queued", "running", "paused", "running"]
    items = httpx.get(f"{url}/api/searches/{search_id}/candidates").json()["items"]
    assert len({(c["generation"], c["index"]) for c in items}) == len(items)
    assert all(c["status"] in {"completed", "reused"} for c in items)


def test_cli_submit_watch_and_download(server: tuple[Proc, str], tmp_path: Path) -> None:
    _, url = server
    presets = httpx.get(f"{url}/api/presets", timeout=10).json()
    spec = tmp_path / "search.yaml"
    spec.write_text(yaml.safe_dump(tiny_search(presets, name="from the cli")))
    submitted = subprocess.run(
        [*NASBOARD, "submit", str(spec), "--watch", "--url", url],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert submitted.returncode == 0, submitted.stderr
    assert "generation 0" in submitted.stderr  # tqdm bars write to stderr
    assert "final model: 100%" in submitted.stderr  # the final training's epochs too
    assert "succeeded: best val accuracy" in submitted.stdout
    search_id = int(submitted.stdout.split()[1])
    target = tmp_path / "best.keras"
    downloaded = subprocess.run(
        [*NASBOARD, "download", str(search_id), "-o", str(target), "--url", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert downloaded.returncode == 0, downloaded.stderr
    assert target.stat().st_size > 0
    assert target.read_bytes()[:2] == b"PK"  # a .keras file is a zip

    missing = subprocess.run(
        [*NASBOARD, "watch", "4242", "--url", url], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 1
    assert "not found" in missing.stderr

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "x", "dataset": "digits", "population_size": 0}))
    rejected = subprocess.run(
        [*NASBOARD, "submit", str(bad), "--url", url], capture_output=True, text=True, timeout=60
    )
    assert rejected.returncode == 1
    assert "population_size" in rejected.stderr


def test_target_accuracy_and_time_budget_stop_the_search_early(server: tuple[Proc, str]) -> None:
    _, url = server
    reached = _submit(url, generations=5, target_accuracy=0.01)
    events = read_events(f"{url}/api/searches/{reached}/events", timeout=300)
    final_phase = [e.data for e in events if e.type == "search_status" and e.data.get("phase")]
    assert final_phase and "target accuracy 0.01 reached" in final_phase[-1]["reason"]
    search = httpx.get(f"{url}/api/searches/{reached}").json()
    assert search["status"] == "succeeded"
    assert {c["generation"] for c in _items(url, reached)} == {0}

    budget = _submit(url, generations=50, time_budget_s=3)
    events = read_events(f"{url}/api/searches/{budget}/events", timeout=300)
    reasons = [e.data.get("reason") for e in events if e.type == "search_status"]
    assert "time budget spent" in reasons
    search = httpx.get(f"{url}/api/searches/{budget}").json()
    assert search["status"] == "succeeded"
    assert max(c["generation"] for c in _items(url, budget)) < 49


def _items(url: str, search_id: int) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/searches/{search_id}/candidates", params={"limit": 500})
    return list(response.json()["items"])


def _run_to_success(
    url: str, **overrides: Any
) -> tuple[list[Any], dict[str, Any], list[dict[str, Any]]]:
    """Submit a search and follow its events to the end: the events, the search (succeeded)
    and its candidates."""
    search_id = _submit(url, **overrides)
    events = read_events(f"{url}/api/searches/{search_id}/events", timeout=300)
    search = httpx.get(f"{url}/api/searches/{search_id}").json()
    assert search["status"] == "succeeded", search
    return events, search, _items(url, search_id)


def test_confirmation_retrains_the_best_few_longer_and_the_final_uses_their_winner(
    server: tuple[Proc, str],
) -> None:
    _, url = server
    events, search, items = _run_to_success(url, generations=2, confirm_top=2, confirm_epochs=3)
    found = [c for c in items if c["origin"] != "confirm"]
    confirms = sorted((c for c in items if c["origin"] == "confirm"), key=lambda c: c["index"])

    # The two best distinct genomes of the search phase, by validation accuracy, in order.
    ranked = sorted(
        (c for c in found if c["status"] in ("completed", "reused")),
        key=lambda c: (-c["val_accuracy"], c["params"], c["id"]),
    )
    top: list[dict[str, Any]] = []
    for c in ranked:
        if all(c["genome_hash"] != t["genome_hash"] for t in top):
            top.append(c)
    assert [c["parents"] for c in confirms] == [[top[0]["id"]], [top[1]["id"]]]
    for confirm, source in zip(confirms, top[:2], strict=True):
        assert confirm["generation"] == 2  # after the search's generations 0 and 1
        assert confirm["status"] == "completed"  # trained on, not reused from its source
        assert confirm["reused_from"] is None
        assert confirm["genome_hash"] == source["genome_hash"]
        # It trained on from its source's saved model: the 2 epochs its 1-epoch candidate
        # lacked, not 3 from scratch (worker.resume).
        assert confirm["metrics"]["epochs_trained"] == 2.0
        assert confirm["metrics"]["resumed_at"] == 1.0
        # Time inside the epochs is measured apart from the whole evaluation (the reserve's
        # seconds per epoch must not count build, compile and start-up as epochs).
        m = confirm["metrics"]
        assert 0 < m["in_epochs_s"] < m["evaluator_s"]
        detail = httpx.get(f"{url}/api/candidates/{confirm['id']}").json()
        assert [e["epoch"] for e in detail["epochs"]] == [1, 2, 3]
        # its curve begins with its source's first epoch, then goes on
        first = httpx.get(f"{url}/api/candidates/{source['id']}").json()["epochs"]
        assert detail["epochs"][0]["val_accuracy"] == first[0]["val_accuracy"]
        assert detail["epochs"][0]["train_loss"] == first[0]["train_loss"]
        # and the live stream had the carried epoch too, before the ones it trained
        streamed = [
            e.data["epoch"]
            for e in events
            if e.type == "epoch" and e.data["candidate_id"] == confirm["id"]
        ]
        assert streamed == [1, 2, 3]

    # The winner among the confirmations is the search's best and the final model's source.
    winner = max(confirms, key=lambda c: (c["val_accuracy"], -c["params"], -c["index"]))
    assert search["best"]["candidate_id"] == winner["id"]
    assert search["final"]["candidate_id"] == winner["id"]
    phases = [e.data for e in events if e.type == "search_status" and e.data.get("phase")]
    assert [p["phase"] for p in phases] == ["confirm", "final"]
    assert phases[0]["confirming"] == [top[0]["id"], top[1]["id"]]
    assert phases[1]["reason"] == f"confirmed: #{winner['id']} after 3 epochs"
    # Confirmations are not a generation of the search.
    gens = httpx.get(f"{url}/api/searches/{search['id']}/generations").json()
    assert [g["generation"] for g in gens] == [0, 1]


def test_a_confirmation_as_long_as_its_candidate_trains_again_and_ranks_by_the_mean(
    server: tuple[Proc, str],
) -> None:
    """confirm_epochs = epochs_per_candidate (1): each pick is trained again from scratch under
    another seed, and the winner is the best by the mean of its two scores, not by the second
    score alone (backend.search.confirm.confirmed_fitness)."""
    _, url = server
    events, search, items = _run_to_success(url, generations=2, confirm_top=2, confirm_epochs=1)
    by_id = {c["id"]: c for c in items}
    confirms = sorted((c for c in items if c["origin"] == "confirm"), key=lambda c: c["index"])
    assert len(confirms) == 2
    for confirm in confirms:
        source = by_id[confirm["parents"][0]]
        assert confirm["genome_hash"] == source["genome_hash"]
        assert confirm["status"] == "completed" and confirm["reused_from"] is None
        # from scratch: one epoch, nothing resumed, a curve of its own
        assert confirm["metrics"]["epochs_trained"] == 1.0
        assert "resumed_at" not in confirm["metrics"]
    mean = {
        c["id"]: (c["val_accuracy"] + by_id[c["parents"][0]]["val_accuracy"]) / 2 for c in confirms
    }
    winner = max(confirms, key=lambda c: (mean[c["id"]], -c["params"], -c["index"]))
    assert search["best"]["candidate_id"] == winner["id"]
    assert search["final"]["candidate_id"] == winner["id"]
    # the best's accuracy is the winner's own; the reason names the mean it won by
    assert search["best"]["val_accuracy"] == winner["val_accuracy"]
    phases = [e.data for e in events if e.type == "search_status" and e.data.get("phase")]
    reason = f"confirmed: #{winner['id']} after 1 epochs"
    if mean[winner["id"]] != winner["val_accuracy"]:
        reason += f", mean of 2 trainings {mean[winner['id']]:.4f}"
    assert phases[-1]["reason"] == reason


def test_confirmation_is_not_cut_by_the_time_budget_it_was_reserved_from(
    server: tuple[Proc, str],
) -> None:
    _, url = server
    # long enough for the first generations even on a cold, loaded worker; 50 take far longer.
    # Two confirmations of 2 epochs (1 trained on from each candidate, +1 spare each) at ~1-2 s
    # an epoch on digits: within a third of the budget (MAX_CONFIRM_SHARE), so they run.
    search_id = _submit(url, generations=50, time_budget_s=60, confirm_top=2, confirm_epochs=2)
    events = read_events(f"{url}/api/searches/{search_id}/events", timeout=300)
    reasons = [e.data.get("reason") for e in events if e.type == "search_status"]
    assert "time budget spent" in reasons
    confirms = [c for c in _items(url, search_id) if c["origin"] == "confirm"]
    assert len(confirms) == 2
    assert [c["status"] for c in confirms] == ["completed", "completed"], confirms


def test_confirmation_over_a_third_of_the_budget_is_skipped_and_the_search_keeps_it(
    server: tuple[Proc, str],
) -> None:
    """Two confirmations to 60 epochs (59 trained on, +1 spare each) would take minutes of a
    15 s budget:
    no time is held back, no confirmation runs, the final retrains the search phase's best
    and its reason says why."""
    _, url = server
    search_id = _submit(url, generations=50, time_budget_s=15, confirm_top=2, confirm_epochs=60)
    events = read_events(f"{url}/api/searches/{search_id}/events", timeout=300)
    phases = [e.data for e in events if e.type == "search_status" and e.data.get("phase")]
    assert [p["phase"] for p in phases] == ["final"], phases
    reason = phases[0]["reason"]
    assert reason.startswith("time budget spent; confirmation skipped: ~"), reason
    assert reason.endswith("over 33% of the budget"), reason
    items = _items(url, search_id)
    assert not [c for c in items if c["origin"] == "confirm"]
    search = httpx.get(f"{url}/api/searches/{search_id}").json()
    assert search["status"] == "succeeded"
    # the whole budget went to the search phase: its last candidate began past the point a
    # held-back reserve (over 5 s of the 15) would have stopped it
    started = sorted(c["started_at"] for c in items if c["started_at"])
    assert _seconds_between(search["started_at"], started[-1]) > 15 - 15 * MAX_CONFIRM_SHARE
    # the search phase's best: scored candidates only (one stopped at the budget is not)
    scored = [c for c in items if c["status"] in ("completed", "reused")]
    best = max(scored, key=lambda c: c["val_accuracy"])
    assert search["best"]["val_accuracy"] == best["val_accuracy"]
    assert search["final"] is not None


def test_confirm_top_of_one_is_refused_naming_the_field(server: tuple[Proc, str]) -> None:
    _, url = server
    presets = httpx.get(f"{url}/api/presets", timeout=10).json()
    response = httpx.post(
        f"{url}/api/searches", json=tiny_search(presets, confirm_top=1), timeout=30
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "confirm_top"


def test_early_stop_cuts_exactly_the_candidates_below_their_peers_median(
    server: tuple[Proc, str],
) -> None:
    """The embedded worker trains one candidate at a time, so the peers each candidate was
    judged against are the completed candidates that finished before it started: replay the
    median-stopping rule and the chance cut on the stored curves and compare, candidate by
    candidate."""
    _, url = server
    search_id = _submit(
        url,
        population_size=6,
        generations=2,
        epochs_per_candidate=3,
        early_stop=True,
        early_stop_quantile=0.5,
        early_stop_min_peers=2,
    )
    events = read_events(f"{url}/api/searches/{search_id}/events", timeout=300)
    search = httpx.get(f"{url}/api/searches/{search_id}").json()
    assert search["status"] == "succeeded", search
    rule = EarlyStopRule(quantile=0.5, min_peers=2, chance=1 / 10)  # digits: 10 classes
    trained = sorted(
        (c for c in _items(url, search_id) if c["status"] == "completed"),
        key=lambda c: c["started_at"],
    )
    curves = {c["id"]: epoch_values(url, c["id"]) for c in trained}
    stopped = []
    for i, c in enumerate(trained):
        before = [d for d in trained[:i] if d["finished_at"] <= c["started_at"]]
        expected = None
        for epoch in (1, 2):
            peers = [curves[d["id"]][epoch] for d in before if epoch in curves[d["id"]]]
            if is_hopeless(curves[c["id"]][epoch], epoch, 3, peers, rule):
                expected = epoch
                break
        got = c["metrics"].get("early_stopped_at")
        assert (None if got is None else int(got)) == expected, (c["id"], curves, before)
        # Scored at the epoch it reached; the rest of its curve was never trained.
        assert sorted(curves[c["id"]]) == list(range(1, (expected or 3) + 1))
        assert c["metrics"]["epochs_trained"] == float(expected or 3)
        if expected:
            stopped.append(c["id"])
    assert stopped, "the rule never applied: the test would prove nothing"
    assert len(stopped) < len(trained)
    assert search["best"]["candidate_id"] not in stopped
    finished = {e.data["candidate_id"]: e.data for e in events if e.type == "candidate_finished"}
    assert all(finished[cid]["early_stopped_at"] for cid in stopped)


def test_early_stop_settings_are_checked_naming_the_field(server: tuple[Proc, str]) -> None:
    _, url = server
    presets = httpx.get(f"{url}/api/presets", timeout=10).json()
    for field, value in (("early_stop_quantile", 1.0), ("early_stop_min_peers", 0)):
        body = tiny_search(presets, early_stop=True, **{field: value})
        response = httpx.post(f"{url}/api/searches", json=body, timeout=30)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"][-1] == field
