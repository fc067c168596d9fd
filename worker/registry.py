"""This process in the workers table: registered at start, alive by its heartbeat.

Every process that trains (a Celery pool process: the worker itself with ``--pool solo``,
each child with prefork) registers under ``runner.worker_name()`` (host:pid, the id each
candidate it claims records), then a daemon thread finds its device (importing the evaluator,
so TensorFlow, off the main thread: a prefork child must answer its parent within seconds)
and heartbeats every reconcile interval. The runner names the current candidate at claim and
counts results in its own transactions (``runner._worker_took`` / ``_worker_released``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from sqlalchemy import select, update

from backend.core.config import get_settings
from backend.db.base import utcnow
from backend.db.models import Worker
from backend.db.session import Database

logger = logging.getLogger("nasboard.registry")

# The Celery worker's pool size, set in its main process by the ``worker_init`` signal,
# before the pool starts: pool processes inherit the variable (forked or spawned alike).
CONCURRENCY_ENV = "NASBOARD_WORKER_CONCURRENCY"


def set_concurrency(value: int | None) -> None:
    os.environ[CONCURRENCY_ENV] = str(max(1, int(value or 1)))


def concurrency() -> int:
    try:
        return max(1, int(os.environ.get(CONCURRENCY_ENV, "1")))
    except ValueError:
        return 1


def tf_threads() -> int | None:
    raw = os.environ.get("NASBOARD_TF_THREADS", "").strip()
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def register(db: Database, device: str | None = None) -> str:
    """Insert or refresh this process's row (a reused host:pid starts from zero)."""
    from worker.runner import worker_name

    name = worker_name()
    now = utcnow()
    with db.write() as session:
        row = session.scalar(select(Worker).where(Worker.name == name).with_for_update())
        if row is None:
            row = Worker(name=name)
            session.add(row)
        row.hostname = socket.gethostname()
        row.pid = os.getpid()
        row.device = device
        row.concurrency = concurrency()
        row.tf_threads = tf_threads()
        row.started_at = now
        row.heartbeat_at = now
        row.current_candidate_id = None
        row.candidates_done = 0
        row.busy_s = 0.0
    return name


def beat(db: Database, device: str | None = None) -> bool:
    """Stamp the heartbeat (and the device once known); False when the row is missing."""
    from worker.runner import worker_name

    values: dict[str, object] = {"heartbeat_at": utcnow()}
    if device is not None:
        values["device"] = device
    with db.write() as session:
        result = session.execute(
            update(Worker).where(Worker.name == worker_name()).values(**values)
        )
        return bool(getattr(result, "rowcount", 0))


def detect_device() -> str:
    """The evaluator's description ("GPU: ...", "CPU: ..."); importing it configures
    TensorFlow (threads, determinism, GPU memory growth) before any op runs."""
    try:
        from worker import evaluator
    except ImportError as exc:
        return f"unknown (TensorFlow unavailable: {exc})"[:255]
    return evaluator.device_description()[:255]


def start(
    db: Database, interval: float | None = None, stop: threading.Event | None = None
) -> threading.Thread:
    """Register, find the device, then heartbeat until the process ends (a daemon thread) or
    ``stop`` is set. Database errors are logged and retried at the next beat; they never
    stop the worker."""
    every = interval if interval is not None else get_settings().reconcile_s
    halt = stop if stop is not None else threading.Event()

    def loop() -> None:
        device: str | None = None
        registered = False
        try:
            register(db)
            registered = True
        except Exception as exc:
            logger.warning("worker registration failed: %s", exc)
        try:
            device = detect_device()
        except Exception as exc:  # a broken TensorFlow still trains nothing; say so
            device = f"unknown ({type(exc).__name__})"
            logger.warning("device detection failed: %s", exc)
        while not halt.is_set():
            try:
                if not registered or not beat(db, device):
                    register(db, device)
                registered = True
            except Exception as exc:
                logger.warning("worker heartbeat failed: %s", exc)
            halt.wait(every)

    thread = threading.Thread(target=loop, name="nasboard-worker-registry", daemon=True)
    thread.start()
    return thread
