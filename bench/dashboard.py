"""Dashboard benchmark: the detail page of a search with 5,000 stored candidates.

    .venv/bin/python -m bench.dashboard [--candidates 5000] [--loads 10] [--events 50]

Seeds a fresh SQLite database (in a temporary NASBOARD_DATA_DIR) with one *running* search:
realistic genomes from ``backend.search`` (random, then mutations of the previous generation),
three epoch rows per candidate, the events a worker would have written, generation stats,
best-so-far. Starts ``nasboard serve --no-embedded-worker`` on it (nothing trains), then, in
Debian's Chromium driven by Playwright:

(a) page load: navigation start -> the detail view's charts drawn (the view sets
    ``#app[data-ready-ms]`` = ``performance.now()`` then), plus each API call's duration from
    the Resource Timing entries; median and p95 over ``--loads`` loads (one warm-up first).
    Target: p95 < 1 s.
(b) event latency: with the page open, commit events the way the worker does
    (``backend.services.events.add_event`` in a write transaction, with the candidate and
    epoch rows they report) and time commit -> the page has drawn them (``#app[data-rendered-
    event]`` >= the event's id, polled on every animation frame); p50/p95 over ``--events``.
    Target: p95 < 0.5 s.

Prints a table with PASS/FAIL against the targets. A benchmark, not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASET = "fashion-mnist"
INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
EPOCHS = 3
LOAD_TARGET_MS = 1000.0
# Visits before the measured ones: a browser compiles a big script from scratch on its first two
# runs and keeps V8's code cache from then on (Plotly.js: ~0.75 s of main thread -> ~0.05 s).
WARMUP_VISITS = 2
EVENT_TARGET_MS = 500.0


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, int(np.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


# ------------------------------------------------------------------------------- seeding


def seed_database(url: str, n_candidates: int, population: int, pending: int) -> dict[str, Any]:
    """One running search; all but the last ``pending`` candidates completed. Returns ids."""
    from backend.db.base import utcnow
    from backend.db.migrate import upgrade
    from backend.db.models import Candidate, EpochMetric, Event, Search
    from backend.db.session import Database
    from backend.schemas.search import SearchCreate
    from backend.search import PRESETS, cost, genome_hash, mutate, random_genome
    from backend.services import events as ev
    from backend.services.searches import resolved_config

    upgrade(url)
    db = Database(url)
    generations = -(-n_candidates // population)
    space = PRESETS["seed"]
    body = SearchCreate(
        name=f"bench: {n_candidates:,} candidates",
        dataset=DATASET,
        strategy="evolution",
        population_size=population,
        generations=generations,
        epochs_per_candidate=EPOCHS,
        tournament_size=3,
        elitism=1,
    )
    rng = np.random.default_rng(0)
    t0 = utcnow() - timedelta(hours=6)
    with db.write() as session:
        search = Search(
            name=body.name,
            dataset=DATASET,
            strategy="evolution",
            status="running",
            phase="search",
            config=resolved_config(body),
            generation=generations - 1,
            candidates_total=n_candidates,
            created_at=t0,
            started_at=t0,
            enqueued_at=utcnow(),
        )
        session.add(search)
        session.flush()
        sid = search.id
        seq = 0
        events: list[Event] = []

        def event(type_: str, **payload: Any) -> None:
            nonlocal seq
            seq += 1
            events.append(Event(search_id=sid, seq=seq, type=type_, payload=payload))

        event(ev.SEARCH_STATUS, status="queued")
        event(ev.SEARCH_STATUS, status="running")
        previous: list[Candidate] = []
        best: Candidate | None = None
        pending_ids: list[int] = []
        clock = t0
        for g in range(generations):
            current: list[Candidate] = []
            for i in range(min(population, n_candidates - g * population)):
                if g == 0:
                    genome, detail = random_genome(rng, space, INPUT_SHAPE)
                    origin, parents = "random", []
                else:
                    parent = previous[int(rng.integers(len(previous)))]
                    genome, detail = mutate(parent.genome, space, INPUT_SHAPE, rng)
                    origin, parents = "mutation", [parent.id]
                params, flops = cost(genome, INPUT_SHAPE, NUM_CLASSES)
                done = g * population + i < n_candidates - pending
                acc = float(
                    np.clip(0.55 + 0.35 * (1 - np.exp(-g / 12)) + rng.normal(0, 0.06), 0.05, 0.99)
                )
                c = Candidate(
                    search_id=sid,
                    generation=g,
                    index=i,
                    status="completed" if done else "pending",
                    genome=genome,
                    genome_hash=genome_hash(genome),
                    origin=origin,
                    detail=detail,
                    parent_ids=parents,
                    attempts=1 if done else 0,
                    params=params if done else None,
                    flops=flops if done else None,
                    created_at=clock,
                )
                if done:
                    start = clock
                    clock = clock + timedelta(seconds=4)
                    c.started_at, c.finished_at, c.duration_s = start, clock, 4.0
                    c.val_accuracy = acc
                    c.metrics = {
                        "val_accuracy": acc,
                        "val_loss": float(2.3 * (1 - acc)),
                        "train_accuracy": min(1.0, acc + 0.03),
                        "train_loss": float(2.2 * (1 - acc)),
                    }
                    c.worker = "bench@localhost"
                session.add(c)
                current.append(c)
            session.flush()
            for c in current:
                if c.status != "completed":
                    pending_ids.append(c.id)
                    continue
                event(
                    ev.CANDIDATE_STARTED, candidate_id=c.id, generation=g, index=c.index, attempt=1
                )
                acc = c.val_accuracy or 0.0
                for e in range(1, EPOCHS + 1):
                    point = {
                        "train_accuracy": acc * (0.7 + 0.1 * e) + 0.02,
                        "train_loss": 2.3 * (1 - acc * (0.7 + 0.1 * e)),
                        "val_accuracy": acc * (0.7 + 0.1 * e),
                        "val_loss": 2.3 * (1 - acc * (0.7 + 0.1 * e)),
                    }
                    session.add(EpochMetric(candidate_id=c.id, epoch=e, **point))
                    event(
                        ev.EPOCH,
                        candidate_id=c.id,
                        generation=g,
                        index=c.index,
                        epoch=e,
                        epochs=EPOCHS,
                        **point,
                    )
                event(
                    ev.CANDIDATE_FINISHED,
                    candidate_id=c.id,
                    generation=g,
                    index=c.index,
                    status="completed",
                    val_accuracy=c.val_accuracy,
                    val_loss=c.metrics["val_loss"],
                    params=c.params,
                    flops=c.flops,
                    origin=c.origin,
                    error=None,
                )
                if best is None or (c.val_accuracy or 0) > (best.val_accuracy or 0):
                    best = c
            scored = [c.val_accuracy for c in current if c.val_accuracy is not None]
            if len(scored) == len(current):
                losses = [c.metrics["val_loss"] for c in current]
                event(
                    ev.GENERATION_FINISHED,
                    generation=g,
                    count=len(current),
                    completed=len(current),
                    best_val_accuracy=max(scored),
                    mean_val_accuracy=float(np.mean(scored)),
                    worst_val_accuracy=min(scored),
                    best_val_loss=min(losses),
                    mean_val_loss=float(np.mean(losses)),
                    worst_val_loss=max(losses),
                )
            previous = current
        session.add_all(events)
        search.event_seq = seq
        if best is not None:
            search.best_candidate_id = best.id
            search.best_val_accuracy = best.val_accuracy
    return {"search_id": sid, "pending": pending_ids, "events": seq, "db": db}


def emit(db: Any, search_id: int, candidate_id: int, step: int) -> int:
    """One event as the worker writes it (with the rows it reports); returns its id (seq)."""
    from backend.db.base import utcnow
    from backend.db.models import Candidate, EpochMetric
    from backend.services import events as ev

    with db.write() as session:
        c = session.get(Candidate, candidate_id)
        assert c is not None
        if step == 0:
            c.status, c.attempts, c.started_at, c.worker = "running", 1, utcnow(), "bench@localhost"
            e = ev.add_event(
                session,
                search_id,
                ev.CANDIDATE_STARTED,
                candidate_id=c.id,
                generation=c.generation,
                index=c.index,
                attempt=1,
            )
        elif step <= EPOCHS:
            acc = 0.6 + 0.08 * step + random.random() * 0.05
            point = {
                "train_accuracy": acc + 0.02,
                "train_loss": 2.3 * (1 - acc),
                "val_accuracy": acc,
                "val_loss": 2.3 * (1 - acc),
            }
            session.add(EpochMetric(candidate_id=c.id, epoch=step, **point))
            e = ev.add_event(
                session,
                search_id,
                ev.EPOCH,
                candidate_id=c.id,
                generation=c.generation,
                index=c.index,
                epoch=step,
                epochs=EPOCHS,
                **point,
            )
        else:
            acc = 0.8 + random.random() * 0.15
            c.val_accuracy = acc
            c.metrics = {"val_accuracy": acc, "val_loss": 2.3 * (1 - acc)}
            c.params, c.flops = 50_000, 2_000_000
            c.status, c.finished_at, c.duration_s = "completed", utcnow(), 4.0
            e = ev.add_event(
                session,
                search_id,
                ev.CANDIDATE_FINISHED,
                candidate_id=c.id,
                generation=c.generation,
                index=c.index,
                status="completed",
                val_accuracy=acc,
                val_loss=c.metrics["val_loss"],
                params=c.params,
                flops=c.flops,
                origin=c.origin,
                error=None,
            )
        session.flush()
        return int(e.seq)


# ------------------------------------------------------------------------------- serving


def start_server(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NASBOARD_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("NASBOARD_DATABASE_URL", None)
    env.pop("NASBOARD_BROKER_URL", None)
    argv = [
        sys.executable,
        "-m",
        "backend.cli",
        "serve",
        "--port",
        str(port),
        "--no-embedded-worker",
    ]
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server not healthy in 60 s")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------- measuring

RESOURCES_JS = """() => performance.getEntriesByType('resource')
  .filter((e) => e.name.includes('/api/'))
  .map((e) => ({ url: e.name, ms: e.responseEnd - e.startTime, bytes: e.encodedBodySize }))"""

# Plotly.js alone (from the HTTP cache, as the page gets it): the floor under (a).
PLOTLY_JS = """(src) => new Promise((resolve) => {
  const s = document.createElement('script');
  const t0 = performance.now();
  s.src = src;
  s.onload = () => resolve(performance.now() - t0);
  document.head.appendChild(s);
})"""

# The detail view's performance.mark()s: when (since navigation start) each phase ended.
MARKS_JS = """() => {
  const out = Object.fromEntries(performance.getEntriesByType('mark')
    .filter((m) => m.name.startsWith('detail:') || m.name.startsWith('plotly:'))
    .map((m) => [m.name.replace('detail:', ''), m.startTime]));
  const js = performance.getEntriesByType('resource')
    .find((e) => e.name.includes('/plotly'));
  if (js) out['plotly.min.js fetched'] = js.responseEnd;
  return out;
}"""


def endpoint(url: str, search_id: int) -> str:
    path = url.split("://", 1)[-1].split("/", 1)[-1]
    path = "/" + path.split("?", 1)[0]
    path = path.replace(f"/searches/{search_id}", "/searches/{id}")
    parts = path.split("/")
    if len(parts) > 3 and parts[2] == "candidates" and parts[3].isdigit():
        parts[3] = "{cid}"
    return "GET " + "/".join(parts)


def measure_loads(page: Any, base: str, search_id: int, loads: int) -> dict[str, Any]:
    ready: list[float] = []
    calls: dict[str, list[float]] = defaultdict(list)
    sizes: dict[str, int] = {}
    counts: dict[str, int] = defaultdict(int)
    phases: dict[str, list[float]] = defaultdict(list)
    first: list[float] = []
    for i in range(loads + WARMUP_VISITS):
        page.goto("about:blank")
        page.goto(f"{base}/searches/{search_id}")
        page.wait_for_selector("#app[data-ready-ms]", timeout=60_000)
        ms = float(page.eval_on_selector("#app", "el => el.dataset.readyMs"))
        page.wait_for_timeout(300)  # let the table's own request finish too
        entries = page.evaluate(RESOURCES_JS)
        marks = page.evaluate(MARKS_JS)
        if i < WARMUP_VISITS:
            first.append(ms)
            continue
        ready.append(ms)
        for name, at in marks.items():
            phases[name].append(at)
        per: dict[str, float] = defaultdict(float)
        per_n: dict[str, int] = defaultdict(int)
        for e in entries:
            if (
                e["url"].endswith("/events")
                or "/events?" in e["url"]
                or e["url"].endswith("/api/auth/me")
            ):
                continue  # the stream stays open; /me is auth's, not the view's data
            key = endpoint(e["url"], search_id)
            per[key] = max(per[key], e["ms"])  # parallel pages: the slowest one
            per_n[key] += 1
            sizes[key] = max(sizes.get(key, 0), e["bytes"])
        for k, v in per.items():
            calls[k].append(v)
            counts[k] = per_n[k]
    return {
        "ready": ready,
        "first": first,
        "calls": calls,
        "sizes": sizes,
        "counts": counts,
        "phases": phases,
    }


def measure_plotly(page: Any, base: str, n: int = 5) -> list[float]:
    """On an empty page of the same origin (served by the browser itself), so nothing else
    competes: Plotly.js's own cost on this machine."""
    # the versioned URL the dashboard's page names (so the same cache entry)
    found = re.search(r'name="plotly-src" content="([^"]+)"', httpx.get(base + "/").text)
    src = found.group(1) if found else "/static/plotly.min.js"
    blank = f"{base}/__bench_blank"
    page.route(blank, lambda route: route.fulfill(content_type="text/html", body="<!doctype html>"))
    out = []
    for _ in range(n):
        page.goto(blank)
        out.append(float(page.evaluate(PLOTLY_JS, src)))
    page.unroute(blank)
    return out


def measure_events(page: Any, base: str, seeded: dict[str, Any], n_events: int) -> list[float]:
    page.goto(f"{base}/searches/{seeded['search_id']}")
    page.wait_for_selector("#app[data-ready-ms]", timeout=60_000)
    page.wait_for_selector("#conn[data-state='live']", timeout=30_000)
    latencies: list[float] = []
    steps = [(cid, step) for cid in seeded["pending"] for step in range(EPOCHS + 2)]
    rnd = random.Random(1)
    for cid, step in steps[:n_events]:
        seq = emit(seeded["db"], seeded["search_id"], cid, step)
        t0 = time.perf_counter()
        page.wait_for_function(
            "(n) => Number(document.getElementById('app').dataset.renderedEvent || 0) >= n",
            arg=seq,
            polling="raf",
            timeout=30_000,
        )
        latencies.append((time.perf_counter() - t0) * 1000)
        time.sleep(rnd.uniform(0.05, 0.3))  # do not line up with the server's poll interval
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=5000)
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the data dir and print it")
    args = parser.parse_args(argv)
    pending = -(-args.events // (EPOCHS + 2))
    from playwright.sync_api import sync_playwright

    from backend.core import child

    data_dir = Path(tempfile.mkdtemp(prefix="nasboard-bench-"))
    os.environ["NASBOARD_DATA_DIR"] = str(data_dir)
    url = f"sqlite:///{data_dir / 'nasboard.db'}"
    t = time.perf_counter()
    seeded = seed_database(url, args.candidates, args.population, pending)
    seed_s = time.perf_counter() - t
    print(
        f"seeded {args.candidates:,} candidates, {args.candidates * EPOCHS:,} epoch rows, "
        f"{seeded['events']:,} events in {seed_s:.1f} s ({data_dir})",
        flush=True,
    )
    port = free_port()
    proc = start_server(data_dir, port, data_dir / "serve.log")
    base = f"http://127.0.0.1:{port}"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        with sync_playwright() as p:
            # A normal browser profile (on disk, as a person's), not Playwright's default
            # incognito-like context, where Chromium keeps no code cache: there every visit
            # would be a first visit.
            context = p.chromium.launch_persistent_context(
                str(data_dir / "browser-profile"),
                executable_path=chromium,
                args=[
                    "--no-sandbox",
                    "--headless",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
                viewport={"width": 1280, "height": 860},
            )
            page = context.new_page()
            loads = measure_loads(page, base, seeded["search_id"], args.loads)
            plotly = measure_plotly(page, base)
            events = measure_events(page, base, seeded, args.events)
            context.close()
    finally:
        child.stop(proc, timeout_s=15)
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)

    rows: list[tuple[str, str, str, str, str]] = []
    for i, ms in enumerate(loads["first"], 1):
        rows.append((f"    visit {i} of a fresh browser profile", f"{ms:.0f}", "", "", ""))
    ready = loads["ready"]
    ok_load = pct(ready, 95) < LOAD_TARGET_MS
    rows.append(
        (
            f"(a) detail page: nav start -> charts drawn (visits {WARMUP_VISITS + 1}.."
            f"{WARMUP_VISITS + len(ready)})",
            f"{statistics.median(ready):.0f}",
            f"{pct(ready, 95):.0f}",
            f"p95 < {LOAD_TARGET_MS:.0f}",
            "PASS" if ok_load else "FAIL",
        )
    )
    for key in sorted(loads["calls"], key=lambda k: -statistics.median(loads["calls"][k])):
        v = loads["calls"][key]
        n = loads["counts"][key]
        size = loads["sizes"].get(key, 0)
        label = f"    {key}" + (f" x{n}" if n > 1 else "") + f" ({size / 1024:.0f} KB)"
        rows.append((label, f"{statistics.median(v):.0f}", f"{pct(v, 95):.0f}", "", ""))
    rows.append(
        (
            "    Plotly.js alone: load (cached) + run",
            f"{statistics.median(plotly):.0f}",
            f"{pct(plotly, 95):.0f}",
            "",
            "",
        )
    )
    for name, v in loads["phases"].items():
        rows.append(
            (
                f"    phase '{name}' ends at",
                f"{statistics.median(v):.0f}",
                f"{pct(v, 95):.0f}",
                "",
                "",
            )
        )
    ok_ev = pct(events, 95) < EVENT_TARGET_MS
    rows.append(
        (
            f"(b) event committed -> drawn ({len(events)} events)",
            f"{statistics.median(events):.0f}",
            f"{pct(events, 95):.0f}",
            f"p95 < {EVENT_TARGET_MS:.0f}",
            "PASS" if ok_ev else "FAIL",
        )
    )
    width = max(len(r[0]) for r in rows)
    load = os.getloadavg()
    print(f"\nload average during the run: {load[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    print(f"\n{'measure':<{width}}  {'p50 ms':>7}  {'p95 ms':>7}  {'target':>10}  result")
    for r in rows:
        print(f"{r[0]:<{width}}  {r[1]:>7}  {r[2]:>7}  {r[3]:>10}  {r[4]}")
    return 0 if ok_load and ok_ev else 1


if __name__ == "__main__":
    sys.exit(main())
