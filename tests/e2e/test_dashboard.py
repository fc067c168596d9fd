"""The dashboard the way a person uses it, against a real server and a real worker."""

from __future__ import annotations

import re
import time
import zipfile

import httpx
import pytest

pytestmark = pytest.mark.e2e

POINTS_JS = """() => {
  const div = document.getElementById('chart-generations');
  if (!div || !div.data) return 0;
  return div.data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0);
}"""


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# A name a person might paste, with no space or hyphen to break at: the layout must still fit.
LONG_NAME = "e2e_to_cancel_" + "fashion_mnist_conv_blocks_1_4_filters_16_128_" * 3
# How far the page is wider than the window (0 or less: no sideways scrolling).
OVERFLOW_JS = "() => document.documentElement.scrollWidth - window.innerWidth"


def fill_search(page, name: str, *, population: int, generations: int, epochs: int) -> None:
    page.goto(page.base + "/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Digits (8x8)").check()
    page.get_by_label("Search space preset").select_option("tiny")
    page.get_by_label("Population size").fill(str(population))
    page.get_by_label("Generations").fill(str(generations))
    page.get_by_label("Epochs per candidate").fill(str(epochs))


def test_form_shows_server_validation_inline(page):
    page.errors.allow("status of 422")  # the browser logs each rejected POST
    fill_search(page, "invalid", population=4, generations=2, epochs=1)
    page.get_by_label("Population size").fill("1")  # the API needs >= 2
    page.get_by_role("button", name="Start search").click()
    err = page.locator("#f-population_size-error")
    err.wait_for(state="visible")
    assert "greater than or equal to 2" in err.inner_text()
    assert page.get_by_label("Population size").get_attribute("aria-invalid") == "true"
    assert page.url.endswith("/new")
    # A rule across fields names its field in the message; it lands there too.
    page.get_by_label("Population size").fill("4")
    page.get_by_label("Elites kept").fill("4")
    page.get_by_role("button", name="Start search").click()
    elit = page.locator("#f-elitism-error")
    elit.wait_for(state="visible")
    assert "elitism must be smaller" in elit.inner_text()
    page.get_by_label("Elites kept").fill("1")
    # An error inside the search space lands next to that field of the editor.
    page.get_by_label("Population size").fill("4")
    page.get_by_text("Edit the search space").click()
    page.get_by_label("Filters").fill("8, 8")
    page.get_by_role("button", name="Start search").click()
    space_err = page.locator("#space-filters-error")
    space_err.wait_for(state="visible")
    assert "distinct" in space_err.inner_text()


def test_search_end_to_end(page, screenshots, tmp_path):
    # --- submit the form ---
    fill_search(page, "e2e: digits tiny", population=4, generations=2, epochs=1)
    page.get_by_text("Edit the search space").click()
    assert page.get_by_label("Filters").input_value() == "4, 8, 16"  # the tiny preset
    # the best two are trained again for 2 epochs; the final model retrains their winner
    page.get_by_label("Confirm the best").fill("2")
    page.get_by_label("Confirmation epochs").fill("2")
    # the built-in datasets' sample grids (cards and the selected one's panel) render; lazy
    # thumbnails load once scrolled into view, so the page is at the top first
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("#dataset-preview-img").wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dataset-thumb, #dataset-preview-img')]"
        ".every((i) => i.complete && i.naturalWidth > 0)"
    )
    page.screenshot(path=str(screenshots / "form.png"), full_page=True)
    page.get_by_role("button", name="Start search").click()
    page.wait_for_url(re.compile(r"/searches/\d+$"))
    search_id = int(page.url.rsplit("/", 1)[1])
    page.evaluate("window.__sameDocument = true")

    # --- the accuracy chart gains points while the search runs, no reload ---
    page.wait_for_function("() => document.getElementById('chart-generations')?.data !== undefined")
    page.locator("#conn[data-state='live']").wait_for()  # the indicator follows the stream
    first = page.evaluate(POINTS_JS)
    wait_for(lambda: page.evaluate(POINTS_JS) > first, 90, what="new points on the accuracy chart")
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"

    # --- a second search, cancelled from its page; a long name without spaces wraps ---
    fill_search(page, LONG_NAME, population=8, generations=6, epochs=3)
    page.get_by_role("button", name="Start search").click()
    page.wait_for_url(re.compile(r"/searches/\d+$"))
    second_id = int(page.url.rsplit("/", 1)[1])
    assert second_id != search_id
    page.get_by_role("button", name="Cancel search").click()
    page.locator("h1 .badge-cancelled").wait_for()
    assert httpx.get(f"{page.base}/api/searches/{second_id}").json()["status"] == "cancelled"
    assert page.evaluate(OVERFLOW_JS) <= 0, "the page scrolls sideways"

    # --- back to the first search; wait for it to succeed, live ---
    page.goto(f"{page.base}/searches/{search_id}")
    page.evaluate("window.__sameDocument = true")
    page.locator("h1 .badge-succeeded").wait_for(timeout=150_000)
    page.locator("#download-best").wait_for(timeout=30_000)
    page.locator("#conn[data-state='ended']").wait_for()  # `end` received: stream closed
    page.locator("#final #chart-confusion .main-svg").first.wait_for()
    assert page.evaluate(POINTS_JS) >= 4 + 2 * 2  # 7 candidate dots + best/mean/worst lines
    # the two confirmations: their own trace on the scatter, not a generation of their own
    traces = page.evaluate(
        "() => document.getElementById('chart-scatter').data.map((t) => [t.name, t.x.length])"
    )
    # ... and the winner among them, now the search's best, is their star
    assert ["confirmed (2 epochs) · ☆ best", 2] in traces, traces
    gens = page.evaluate("() => document.getElementById('chart-generations').data[3].x")
    assert gens == [0, 1]  # the "best" line
    final_source = httpx.get(f"{page.base}/api/searches/{search_id}").json()["final"]
    confirmed = httpx.get(f"{page.base}/api/candidates/{final_source['candidate_id']}").json()
    assert confirmed["origin"] == "confirm"
    assert page.evaluate("window.__sameDocument") is True
    page.wait_for_timeout(500)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / "detail.png"), full_page=True)

    # --- open a candidate's architecture graph ---
    page.locator("#candidates-table tbody tr a").first.click()
    page.wait_for_url(re.compile(rf"/searches/{search_id}/candidates/\d+$"))
    nodes = page.locator("#arch-graph .arch-node")
    nodes.first.wait_for()
    labels = [nodes.nth(i).get_attribute("aria-label") for i in range(nodes.count())]
    assert labels[0].startswith("Input 8x8x1")
    assert any(lbl.startswith("Dense 10 softmax") for lbl in labels)
    assert any(lbl.startswith("Conv") for lbl in labels), labels
    nodes.nth(1).hover()
    assert page.locator(".arch-tip").is_visible()
    assert "Parameters" in page.locator(".arch-tip").inner_text()
    page.mouse.move(5, 5)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / "candidate.png"), full_page=True)

    # --- the deepest candidate's graph, wider than its card, shrinks to fit on request ---
    items = httpx.get(f"{page.base}/api/searches/{search_id}/candidates").json()["items"]
    deepest = max(items, key=lambda c: len(c["genome"]["nodes"]))
    page.goto(f"{page.base}/searches/{search_id}/candidates/{deepest['id']}")
    page.locator("#arch-graph .arch-node").first.wait_for()
    graph_fits = (
        "() => { const b = document.getElementById('arch-graph');"
        " return b.querySelector('svg').getBoundingClientRect().width <= b.clientWidth + 1; }"
    )
    assert page.evaluate(graph_fits) is False  # it scrolls at its actual size
    fit = page.locator("#arch-fit")
    fit.click()
    assert fit.get_attribute("aria-pressed") == "true"
    assert page.evaluate(graph_fits) is True
    page.locator("#arch-graph .arch-node").last.hover()  # details still come on hover
    assert page.locator(".arch-tip").is_visible()
    page.mouse.move(5, 5)
    page.go_back()
    page.go_back()
    page.wait_for_url(re.compile(rf"/searches/{search_id}$"))
    page.locator("#download-best").wait_for()

    # --- download the best model from the page ---
    with page.expect_download() as info:
        page.locator("#download-best").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.suffix == ".keras"
    assert target.stat().st_size > 0
    assert zipfile.is_zipfile(target)

    # --- compare two candidates side by side ---
    boxes = page.locator("#candidates-table tbody input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.locator("#compare-btn").click()
    page.locator("#compare .compare-graph svg").nth(1).wait_for()
    assert "Validation accuracy" in page.locator("#compare").inner_text()
    assert re.search(r"compare=\d+%2C\d+|compare=\d+,\d+", page.url)

    # --- clone it with edits: the form starts from its settings ---
    page.get_by_role("link", name="Clone with edits").click()
    page.wait_for_url(re.compile(rf"/new\?clone={search_id}$"))
    assert page.get_by_label("Name", exact=True).input_value() == "e2e: digits tiny (copy)"
    assert page.get_by_label("Search space preset").input_value() == "tiny"
    assert page.get_by_label("Population size").input_value() == "4"
    assert page.locator("#estimate-candidates").inner_text() == "7"  # 4 + (4 - 1 elite)

    # --- the list shows both ---
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Searches").click()
    page.wait_for_url(re.compile(r"/$"))
    page.locator(f"tr[data-search-id='{search_id}'] .badge-succeeded").wait_for()
    page.locator(f"tr[data-search-id='{second_id}'] .badge-cancelled").wait_for()
    assert page.evaluate(OVERFLOW_JS) <= 0, "the list scrolls sideways"
    page.screenshot(path=str(screenshots / "list.png"), full_page=True)

    # --- on a phone's width every page fits; wide tables scroll inside their frame ---
    page.set_viewport_size({"width": 360, "height": 780})
    for path in ("/", f"/searches/{search_id}", "/new"):
        page.goto(page.base + path)
        page.locator("main h1").first.wait_for()
        page.wait_for_load_state("networkidle")
        assert page.evaluate(OVERFLOW_JS) <= 0, f"{path} scrolls sideways at 360 px"


SSE_DEDUPE_JS = """async (id) => {
  const { SearchStream } = await import('/static/js/sse.js');
  const seen = [];
  const stream = new SearchStream(id, (type, data, eventId) => seen.push(eventId));
  stream.close();
  const msg = (n) => new MessageEvent('epoch', { data: '{}', lastEventId: String(n) });
  [3, 4, 4, 2, 5, 5].forEach((n) => stream.handle(msg(n)));  // a reconnect replays 4, 2, 5
  const resumed = [];
  const later = new SearchStream(id, (t, d, eventId) => resumed.push(eventId), { after: 10 });
  later.close();
  [9, 10, 11].forEach((n) => later.handle(msg(n)));
  return { seen, resumed, lastId: stream.lastId };
}"""


def test_stream_ignores_replayed_events(page):
    items = httpx.get(f"{page.base}/api/searches").json()["items"]
    assert items, "runs after test_search_end_to_end, which creates searches"
    page.goto(page.base + "/")
    result = page.evaluate(SSE_DEDUPE_JS, items[0]["id"])
    assert result == {"seen": [3, 4, 5], "resumed": [11], "lastId": 5}


def test_durations_read_as_a_person_would_write_them(page):
    """The table's time column (util.duration) at its units' edges: a value that rounds up
    shows as the next unit's, never as "1000 ms" or "1 min 60 s"."""
    page.goto(page.base + "/")
    shown = page.evaluate(
        """async (values) => {
            const { duration } = await import('/static/js/util.js');
            return values.map(duration);
        }""",
        [0.0004, 0.25, 0.9996, 1.0, 9.96, 59.4, 59.6, 119.6, 3599.6, 7200, None],
    )
    assert shown == [
        "0 ms",
        "250 ms",
        "1.0 s",
        "1.0 s",
        "10 s",
        "59 s",
        "1 min 0 s",
        "2 min 0 s",
        "1 h 0 min",
        "2 h 0 min",
        "—",
    ]


def test_warm_start_from_the_form_starts_next_to_the_baseline(page):
    fill_search(page, "e2e: warm start", population=3, generations=1, epochs=1)
    page.get_by_label("Search space preset").select_option("seed")  # holds the seed CNN
    baseline = page.get_by_label("Train the seed's hand-designed CNN as a baseline", exact=False)
    warm = page.get_by_label("Start from it", exact=False)
    warm.check()
    baseline.uncheck()  # warm start mutates the baseline: without it, it is off and locked
    assert warm.is_disabled() and not warm.is_checked()
    baseline.check()
    warm.check()
    page.get_by_role("button", name="Start search").click()
    page.wait_for_url(re.compile(r"/searches/\d+$"))
    search_id = int(page.url.rsplit("/", 1)[1])
    api = f"{page.base}/api/searches/{search_id}"
    assert httpx.get(api).json()["config"]["warm_start"] is True

    def origins() -> list[str]:
        items = httpx.get(f"{api}/candidates").json()["items"]
        return [c["origin"] for c in sorted(items, key=lambda c: c["index"])]

    # the embedded worker proposes generation 0 when it starts the search
    wait_for(lambda: len(origins()) == 3, 10, interval=0.1, what="generation 0 proposed")
    assert origins() == ["baseline", "mutation", "mutation"]
    httpx.post(f"{api}/cancel")  # what it trains is not the point here


def test_early_stop_from_the_form_marks_the_candidates_it_cut(page, screenshots):
    fill_search(page, "e2e: early stop", population=8, generations=1, epochs=3)
    page.get_by_label("Stop hopeless candidates after an epoch").check()
    # below the 90th percentile of 2 or more peers: only a new best so far goes on
    page.get_by_label("Early stop below quantile").fill("0.9")
    page.get_by_label("Early stop after peers").fill("2")
    page.get_by_role("button", name="Start search").click()
    page.wait_for_url(re.compile(r"/searches/\d+$"))
    search_id = int(page.url.rsplit("/", 1)[1])
    config = httpx.get(f"{page.base}/api/searches/{search_id}").json()["config"]
    assert (
        config["early_stop"],
        config["early_stop_quantile"],
        config["early_stop_min_peers"],
    ) == (
        True,
        0.9,
        2,
    )
    page.locator("h1 .badge-succeeded").wait_for(timeout=180_000)
    items = httpx.get(f"{page.base}/api/searches/{search_id}/candidates").json()["items"]
    cut = {
        c["id"]: int(c["metrics"]["early_stopped_at"])
        for c in items
        if c["metrics"].get("early_stopped_at")
    }
    assert cut, f"eight 3-epoch candidates, each against the 90th percentile: none cut? {items}"
    table = page.locator("#candidates-table")
    table.locator(".badge-early").first.wait_for()
    for cid, epoch in cut.items():
        row = table.locator(f"tr[data-candidate-id='{cid}']")
        if row.count():  # the table's first page
            assert row.locator(".badge-early").inner_text() == f"stopped early · epoch {epoch}"
    _screenshot_finished_table(page, screenshots / "early_stop.png")


def test_early_look_inside_the_first_epoch_from_the_form(page, screenshots):
    """The rung (early_stop_rung_steps): set in the form, candidates stopped there are marked
    with the step they reached, and their stored curve holds no epoch."""
    fill_search(page, "e2e: early look", population=8, generations=1, epochs=2)
    page.get_by_label("Batch size").fill("16")  # digits: 90 steps an epoch
    page.get_by_label("Stop hopeless candidates after an epoch").check()
    # below the 90th percentile of 2 or more peers at step 32: only a new best so far goes on
    page.get_by_label("Early stop below quantile").fill("0.9")
    page.get_by_label("Early stop after peers").fill("2")
    page.get_by_label("Early look after steps").fill("32")
    page.get_by_role("button", name="Start search").click()
    page.wait_for_url(re.compile(r"/searches/\d+$"))
    search_id = int(page.url.rsplit("/", 1)[1])
    api = f"{page.base}/api/searches/{search_id}"
    config = httpx.get(api).json()["config"]
    assert (config["early_stop"], config["early_stop_rung_steps"]) == (True, 32)
    page.locator("h1 .badge-succeeded").wait_for(timeout=180_000)
    items = httpx.get(f"{api}/candidates").json()["items"]
    cut = [c for c in items if c["metrics"].get("stopped_at_rung")]
    assert cut, f"eight candidates, each against the 90th percentile at step 32: none cut? {items}"
    table = page.locator("#candidates-table")
    table.locator(".badge-early").first.wait_for()
    for c in cut:
        assert c["metrics"]["stopped_at_rung"] == 32 and c["metrics"]["epochs_trained"] == 0
        detail = httpx.get(f"{page.base}/api/candidates/{c['id']}").json()
        assert detail["epochs"] == []
        row = table.locator(f"tr[data-candidate-id='{c['id']}']")
        if row.count():  # the table's first page
            assert row.locator(".badge-early").inner_text() == "stopped early · step 32"
    _screenshot_finished_table(page, screenshots / "early_stop_rung.png")

    # A person opens one that was cut by its peers: its page says what it was held against.
    by_peers = [c for c in cut if c["metrics"].get("early_stop_reason") == "peers"]
    assert by_peers, f"every cut was the chance cut: {[c['metrics'] for c in cut]}"
    c = by_peers[0]
    m = c["metrics"]
    assert m["early_stop_peers"] >= 2 and m["early_stop_threshold"] > c["val_accuracy"]
    page.goto(f"{page.base}/searches/{search_id}/candidates/{c['id']}")
    why = page.locator("#early-stop-why")
    expected = (
        f"{c['val_accuracy'] * 100:.1f}% validation accuracy after 32 steps of its first epoch,"
        f" below {m['early_stop_threshold'] * 100:.1f}%: the early stop's threshold over"
        f" {m['early_stop_peers']} other candidates there"
    )
    assert why.inner_text() == expected
    assert page.locator("h1 .badge-early").get_attribute("title") == (
        f"{expected}; stopped there, scored there"
    )
    # No whole epoch to draw: the learning curve says where it stopped instead.
    note = page.locator("#chart-candidate .annotation-text")
    note.first.wait_for()
    assert note.first.text_content() == (  # SVG: its two lines' text, joined
        f"stopped after 32 steps of its first epoch"
        f"scored {c['val_accuracy'] * 100:.1f}% there: no whole epoch to draw"
    )
    page.mouse.move(5, 5)
    why.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "early_stop_why.png"))


def _screenshot_finished_table(page, path) -> None:
    """The candidates' table of a finished search, scrolled to. First the final model's section
    above it is drawn (it moves the table down), the stream closed and the pointer off the
    charts (no toolbar)."""
    page.locator("#conn[data-state='ended']").wait_for()
    page.locator("#final #chart-confusion .main-svg").first.wait_for()
    page.mouse.move(5, 5)
    page.evaluate(
        "window.scrollTo(0, document.getElementById('candidates-table')"
        ".getBoundingClientRect().top + window.scrollY - 80)"
    )
    page.screenshot(path=str(path))
