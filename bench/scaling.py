"""Scaling: candidates per minute with 1 and 2 real workers, and the orchestration overhead.

    .venv/bin/python -m bench.scaling [--population 12 --generations 3] [--configs 1x2,2x1]
                                      [--json out.json]

For each configuration ``WORKERSxTHREADS`` (default ``1x2``: one worker with 2 TensorFlow
threads, and ``2x1``: two workers with 1 thread each, on this 2-core machine), on a fresh
PostgreSQL database and a Redis database index of its own (``NASBOARD_BENCH_POSTGRES_URL`` /
``NASBOARD_BENCH_REDIS_URL``, else what ``tests/fixtures_services`` finds or starts: the local
servers or throwaway ones), it starts a real ``nasboard serve --no-embedded-worker`` and
``WORKERS`` real ``nasboard worker`` processes (``NASBOARD_TF_THREADS=THREADS`` each), waits until
every worker is ready, submits one evolution search over digits (1-epoch candidates, seed CNN
included, final training 1 epoch) and waits for it to finish. Everything below is computed from
``GET /api/searches/{id}/candidates`` (started_at / finished_at / duration_s / worker / metrics).

- candidates per minute = trained candidates / (last finished_at - first started_at) of the
  search phase (reused twins and the final retraining are not counted);
- per-worker busy wall time = that worker's last finished_at - its first started_at;
- ``evaluator_s`` (stored in each candidate's metrics by ``worker/tasks.py``) = the training
  work: model build + fit + validation + latency probe + ``.keras`` save, without the time our
  hooks spent inside fit (per-epoch database writes, stop polls);
- **overhead** = 1 - sum(evaluator_s) / sum(per-worker busy wall time): the share of the
  workers' time on the search not spent training. It is split into
  *in-candidate* (claim commit -> result commit, minus training: epoch rows and events,
  cost and parameter counts, the result transaction), *between candidates* (Celery delivery over
  Redis, the claim transaction, closing a candidate and dispatching the next) and
  *generation barrier* (gaps that span a generation boundary: ``advance`` asks the engine and
  stores the next generation; with 2 workers, also waiting while the other trains the last
  candidate of a generation).

Targets: overhead < 5% of a 1-epoch digits candidate; 2 workers >= 1.6x one worker.
A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

TERMINAL = {"succeeded", "failed", "cancelled"}
RAW_KEYS: tuple[str, ...] = ("id", "generation", "index", "status", "worker", "started_at")
RAW_KEYS += ("finished_at", "duration_s", "metrics", "attempts")


@contextmanager
def services() -> Iterator[tuple[Any, Any]]:
    """(PostgresServer, RedisServer) from env vars, local servers or throwaway ones."""
    from tests import fixtures_services as fs

    env_pg = os.environ.get("NASBOARD_BENCH_POSTGRES_URL")
    env_redis = os.environ.get("NASBOARD_BENCH_REDIS_URL")
    if env_pg:
        os.environ[fs.ENV_POSTGRES_URL] = env_pg
    if env_redis:
        os.environ[fs.ENV_REDIS_URL] = env_redis
    pg = fs.find_or_start_postgres()
    redis = fs.find_or_start_redis()
    print(f"services: PostgreSQL {pg.source}, Redis {redis.source}", flush=True)
    try:
        yield pg, redis
    finally:
        if redis.throwaway is not None:
            redis.throwaway.cleanup()
        fs.stop_throwaway_postgres(pg)


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def wait_ready(workers: list[Any], broker_url: str, timeout: float = 180) -> None:
    """Until every worker answers a Celery ping (its consumer loop is running)."""
    from celery import Celery

    app = Celery(broker=broker_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for proc in workers:
                if not proc.alive():
                    raise RuntimeError(f"worker exited:\n{proc.tail()}")
            if len(app.control.ping(timeout=1.0)) >= len(workers):
                return
    finally:
        app.close()
    raise TimeoutError("workers not ready:\n" + "\n".join(p.tail() for p in workers))


def run_config(
    workers: int, threads: int, pg: Any, redis_url: str, args: argparse.Namespace
) -> dict[str, Any]:
    from tests.support.processes import nasboard_env, start_server, start_worker

    tmp = Path(tempfile.mkdtemp(prefix=f"nasboard-scaling-{workers}x{threads}-"))
    db_url = pg.create_database()
    db_name = db_url.rsplit("/", 1)[1]
    env = nasboard_env(
        tmp / "data",
        NASBOARD_DATABASE_URL=db_url,
        NASBOARD_BROKER_URL=redis_url,
        NASBOARD_TF_THREADS=str(threads),
        NASBOARD_LOG_LEVEL="INFO",
    )
    procs = []
    try:
        server, url = start_server(env, tmp / "api.log", embedded_worker=False)
        procs.append(server)
        for i in range(workers):
            procs.append(start_worker(env, tmp / f"worker{i}.log"))
        wait_ready(procs[1:], redis_url)
        body = {
            "name": f"scaling {workers}x{threads}",
            "dataset": args.dataset,
            "strategy": "evolution",
            "population_size": args.population,
            "generations": args.generations,
            "epochs_per_candidate": args.epochs,
            "batch_size": 128,
            "seed": args.seed,
            "final_epochs": 1,
            "include_baseline": True,
        }
        t0 = time.monotonic()
        resp = httpx.post(f"{url}/api/searches", json=body, timeout=30)
        resp.raise_for_status()
        sid = int(resp.json()["id"])
        while True:
            search = httpx.get(f"{url}/api/searches/{sid}", timeout=30).json()
            if search["status"] in TERMINAL:
                break
            if time.monotonic() - t0 > args.timeout_s:
                raise TimeoutError(f"search {sid} still {search['status']}")
            time.sleep(0.5)
        wall = time.monotonic() - t0
        cands: list[dict[str, Any]] = []
        while True:  # pages of 100 (the API's cap for full rows)
            page = httpx.get(
                f"{url}/api/searches/{sid}/candidates",
                params={"limit": 100, "offset": len(cands)},
                timeout=30,
            )
            page.raise_for_status()
            items = page.json()["items"]
            cands += items
            if len(items) < 100:
                break
        out = analyse(cands)
        out.update(
            raw=[{k: c[k] for k in RAW_KEYS} for c in cands],
            workers=workers,
            tf_threads=threads,
            status=search["status"],
            submit_to_finished_s=round(wall, 2),
        )
        if search["status"] != "succeeded":
            out["error"] = search.get("error")
        return out
    except BaseException:
        for proc in procs:
            print(f"--- {proc.log_path.name} ---\n{proc.tail(40)}", file=sys.stderr)
        raise
    finally:
        for proc in reversed(procs):
            proc.stop()
        pg.drop_database(db_name)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def analyse(cands: list[dict[str, Any]]) -> dict[str, Any]:
    trained = [
        c for c in cands if c["status"] == "completed" and c["started_at"] and c["finished_at"]
    ]
    trained.sort(key=lambda c: _ts(c["started_at"]))
    first = min(_ts(c["started_at"]) for c in trained)
    last = max(_ts(c["finished_at"]) for c in trained)
    span = last - first
    by_worker: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in trained:
        by_worker[c["worker"]].append(c)
    busy = in_cand = between = barrier = 0.0
    per_worker = {}
    for name, cs in by_worker.items():
        cs.sort(key=lambda c: _ts(c["started_at"]))
        w_busy = _ts(cs[-1]["finished_at"]) - _ts(cs[0]["started_at"])
        busy += w_busy
        per_worker[name] = {"candidates": len(cs), "busy_s": round(w_busy, 2)}
        for c in cs:
            in_cand += float(c["duration_s"]) - float(c["metrics"]["evaluator_s"])
        for a, b in itertools.pairwise(cs):
            gap = _ts(b["started_at"]) - _ts(a["finished_at"])
            if b["generation"] != a["generation"]:
                barrier += gap
            else:
                between += gap
    ev_s = sum(float(c["metrics"]["evaluator_s"]) for c in trained)
    n = len(trained)
    return {
        "candidates": len(cands),
        "trained": n,
        "reused": sum(c["status"] == "reused" for c in cands),
        "failed": sum(c["status"] == "failed" for c in cands),
        "search_span_s": round(span, 2),
        "candidates_per_min": round(n / span * 60, 2),
        "mean_evaluator_s": round(ev_s / n, 3),
        "mean_duration_s": round(sum(float(c["duration_s"]) for c in trained) / n, 3),
        "sum_evaluator_s": round(ev_s, 2),
        "sum_busy_s": round(busy, 2),
        "overhead": round(1 - ev_s / busy, 4),
        "overhead_in_candidate": round(in_cand / busy, 4),
        "overhead_between_candidates": round(between / busy, 4),
        "overhead_generation_barrier": round(barrier / busy, 4),
        "per_candidate_overhead_ms": round((busy - ev_s) / n * 1000, 1),
        "per_worker": per_worker,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--population", type=int, default=12)
    ap.add_argument("--generations", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--configs", default="1x2,2x1", help="WORKERSxTF_THREADS, comma separated")
    ap.add_argument("--timeout-s", type=float, default=1200)
    ap.add_argument("--keep", action="store_true", help="keep the data dirs and logs")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    configs = [tuple(int(x) for x in c.split("x")) for c in args.configs.split(",")]

    results = []
    with ExitStack() as stack:
        pg, redis = stack.enter_context(services())
        for workers, threads in configs:
            print(f"== {workers} worker(s) x {threads} TF thread(s)", flush=True)
            with redis.lease_db() as redis_url:
                res = run_config(workers, threads, pg, redis_url, args)
            results.append(res)
            print(
                f"   {res['trained']} trained ({res['reused']} reused, {res['failed']} failed) "
                f"in {res['search_span_s']} s: {res['candidates_per_min']} candidates/min; "
                f"overhead {res['overhead']:.1%} ({res['per_candidate_overhead_ms']} ms per "
                f"candidate; mean evaluator_s {res['mean_evaluator_s']} s)",
                flush=True,
            )

    print()
    print(
        f"{args.dataset}, evolution, population {args.population} x {args.generations} "
        f"generations, {args.epochs}-epoch candidates, PostgreSQL + Redis, real processes"
    )
    head = (
        f"{'config':<18} {'trained':>7} {'cand/min':>9} {'eval s':>7} {'overhead':>9} "
        f"{'in-cand':>8} {'between':>8} {'barrier':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r['workers']} worker x {r['tf_threads']} thr  {r['trained']:>7} "
            f"{r['candidates_per_min']:>9.2f} {r['mean_evaluator_s']:>7.3f} "
            f"{r['overhead']:>9.1%} {r['overhead_in_candidate']:>8.1%} "
            f"{r['overhead_between_candidates']:>8.1%} {r['overhead_generation_barrier']:>8.1%}"
        )
    summary: dict[str, Any] = {"configs": results}
    one = next((r for r in results if r["workers"] == 1), None)
    two = next((r for r in results if r["workers"] == 2), None)
    print()
    if one is not None:
        ok = one["overhead"] < 0.05
        print(
            f"overhead (1 worker): {one['overhead']:.1%} of the workers' time on the search "
            f"(target < 5%: {'PASS' if ok else 'FAIL'})"
        )
    if one is not None and two is not None:
        ratio = two["candidates_per_min"] / one["candidates_per_min"]
        summary["two_over_one"] = round(ratio, 3)
        print(
            f"2 workers / 1 worker: {two['candidates_per_min']:.2f} / "
            f"{one['candidates_per_min']:.2f} = {ratio:.2f}x "
            f"(target >= 1.6x: {'PASS' if ratio >= 1.6 else 'FAIL'})"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
