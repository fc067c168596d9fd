"""The live page survives a restarted API; a dataset uploaded from the form is searchable."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.e2e

# What the accuracy-by-generation chart shows: the x of each generation line, and the ids of
# the candidate dots.
CHART_JS = """() => {
  const div = document.getElementById('chart-generations');
  const byName = Object.fromEntries((div.data || []).map((t) => [t.name, t]));
  return {
    best: Array.from(byName.best.x),
    mean: Array.from(byName.mean.x),
    worst: Array.from(byName.worst.x),
    dots: Array.from(byName.candidates.customdata),
  };
}"""


def _tiny_space(base: str) -> dict:
    return httpx.get(f"{base}/api/presets").json()["tiny"]


def _scored_ids(base: str, search_id: int) -> list[int]:
    page = httpx.get(
        f"{base}/api/searches/{search_id}/candidates",
        params={"fields": "summary", "limit": 5000},
    ).json()
    return sorted(
        c["id"]
        for c in page["items"]
        if c["status"] in ("completed", "reused") and c["val_accuracy"] is not None
    )


def _wait(predicate, timeout: float, what: str, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_detail_page_catches_up_after_the_api_restarts(page, stack, screenshots):
    # The browser logs the refused and cut connections while the API is down (a request in
    # flight when the process is killed ends reset, empty or with a truncated chunk).
    for fragment in (
        "ERR_CONNECTION_REFUSED",
        "ERR_CONNECTION_RESET",
        "ERR_EMPTY_RESPONSE",
        "ERR_INCOMPLETE_CHUNKED",
    ):
        page.errors.allow(fragment)
    base = stack.base
    body = {
        "name": "e2e: reconnect",
        "dataset": "digits",
        "population_size": 4,
        "generations": 3,
        "epochs_per_candidate": 2,
        "search_space": _tiny_space(base),
    }
    search_id = httpx.post(f"{base}/api/searches", json=body).json()["id"]
    page.goto(f"{base}/searches/{search_id}")
    page.evaluate("window.__sameDocument = true")
    page.locator("#conn[data-state='live']").wait_for(timeout=30_000)
    _wait(
        lambda: (
            httpx.get(f"{base}/api/searches/{search_id}").json()["progress"]["candidates_done"] >= 1
        ),
        120,
        "a first finished candidate",
    )
    seen_before = int(page.eval_on_selector("#app", "el => el.dataset.renderedEvent"))

    # --- kill -9 the API mid-search; the worker goes on writing results meanwhile ---
    stack.kill_api()
    page.locator("#conn[data-state='reconnecting']").wait_for(timeout=10_000)
    page.screenshot(path=str(screenshots / "reconnecting.png"))
    time.sleep(3)
    stack.start_api()  # the same port

    # --- the page reconnects by itself, replays what it missed, and follows to the end ---
    page.locator("#conn[data-state='live'], #conn[data-state='ended']").wait_for(timeout=30_000)
    page.locator("h1 .badge-succeeded").wait_for(timeout=180_000)
    page.locator("#conn[data-state='ended']").wait_for(timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    search = httpx.get(f"{base}/api/searches/{search_id}").json()
    assert int(page.eval_on_selector("#app", "el => el.dataset.renderedEvent")) > seen_before

    # Every generation exactly once per line, every scored candidate exactly once as a dot.
    expected = _scored_ids(base, search_id)
    page.wait_for_function(
        f"() => (document.getElementById('chart-generations').data || [])"
        f".find((t) => t.name === 'candidates')?.customdata?.length === {len(expected)}",
        timeout=10_000,
    )
    chart = page.evaluate(CHART_JS)
    generations = list(range(search["config"]["generations"]))
    for line in ("best", "mean", "worst"):
        assert chart[line] == generations, (line, chart[line])
    assert sorted(chart["dots"]) == expected
    assert len(set(chart["dots"])) == len(chart["dots"])


def _digits_npz(path: Path) -> Path:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images * 16).clip(0, 255).astype("uint8")
    y = digits.target.astype("int64")
    np.savez(path, x_train=x[:1500], y_train=y[:1500], x_test=x[1500:], y_test=y[1500:])
    return path


def test_upload_a_dataset_and_search_on_it(page, screenshots, tmp_path):
    page.errors.allow("status of 422")  # the refused upload below
    page.errors.allow("status of 409")  # the refused delete below
    good = _digits_npz(tmp_path / "my-digits.npz")
    bad = tmp_path / "broken.npz"
    np.savez(bad, x_train=np.zeros((40, 8, 8), "uint8"), y_train=np.zeros(20, "int64"))

    page.goto(page.base + "/new")
    page.get_by_text("Upload a dataset").click()
    # A refused upload: the API's error lands next to the field it names.
    page.set_input_files("#u-file", str(bad))
    assert page.locator("#u-name").input_value() == "broken"  # named after the file
    page.locator("#u-submit").click()
    err = page.locator("#u-file-error")
    err.wait_for(state="visible")
    assert "y_train" in err.inner_text()
    assert page.locator("#u-file").get_attribute("aria-invalid") == "true"

    # A good one: progress, then it is selected with its preview.
    page.set_input_files("#u-file", str(good))
    page.locator("#u-name").fill("e2e digits upload")
    page.locator("#u-submit").click()
    card = page.locator(".dataset-card.is-upload", has_text="e2e digits upload")
    card.wait_for()
    assert card.locator("input[type=radio]").is_checked()
    preview = page.locator("#dataset-preview-img")
    preview.wait_for()
    preview_loaded = "(i) => i.complete && i.naturalWidth > 0"
    page.wait_for_function(
        f"() => ({preview_loaded})(document.getElementById('dataset-preview-img'))"
    )
    assert "1,350 train" in page.locator("#dataset-preview").inner_text()  # 10% held out
    datasets = httpx.get(f"{page.base}/api/datasets").json()
    upload = next(d for d in datasets if d["name"] == "e2e digits upload")
    assert upload["builtin"] is False and upload["checksum"]
    page.get_by_label("Name", exact=True).fill("e2e: on an upload")
    page.get_by_label("Search space preset").select_option("tiny")
    page.get_by_label("Population size").fill("3")
    page.get_by_label("Generations").fill("1")
    page.evaluate("window.scrollTo(0, 0); document.getElementById('toast').hidden = true")
    page.screenshot(path=str(screenshots / "upload.png"), full_page=True)

    # Submit a search on it.
    page.get_by_role("button", name="Start search").click()
    page.wait_for_url(re.compile(r"/searches/\d+$"))
    search_id = int(page.url.rsplit("/", 1)[1])
    search = httpx.get(f"{page.base}/api/searches/{search_id}").json()
    assert search["dataset"] == upload["id"]
    assert upload["id"] in page.locator("h1 + p").inner_text()

    # While the search uses it, deleting the upload is refused (409), shown on its card.
    page.goto(page.base + "/new")
    card = page.locator(".dataset-card.is-upload", has_text="e2e digits upload")
    delete = card.get_by_role("button", name="Delete dataset e2e digits upload")
    delete.click()
    delete.click()  # the second click confirms
    refusal = card.locator(".card-error")
    refusal.wait_for(state="visible")
    assert "In use" in refusal.inner_text()

    # The list follows the search live (GET /api/events): cancel it elsewhere, see it here.
    page.goto(page.base + "/")
    page.locator("#conn[data-state='live']").wait_for()
    page.evaluate("window.__sameDocument = true")
    httpx.post(f"{page.base}/api/searches/{search_id}/cancel")
    page.locator(f"tr[data-search-id='{search_id}'] .badge-cancelled").wait_for(timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True
