"""Each worker periodically re-sends work whose task vanished, so a killed worker or a broker
restarted empty never strands a search."""

from __future__ import annotations

import logging
import threading

from backend.core.config import get_settings
from backend.db.session import Database

logger = logging.getLogger("nasboard.reconciler")


def reconcile_once(db: Database) -> None:
    from worker import runner
    from worker.tasks import send_evaluate, send_finalize, send_start

    found = runner.reconcile(db)
    for search_id in found.start:
        send_start(search_id)
    for candidate_id in found.evaluate:
        send_evaluate(candidate_id)
    for search_id in found.finalize:
        send_finalize(search_id)


def start_thread(db: Database) -> threading.Thread:
    interval = get_settings().reconcile_s

    def loop() -> None:
        while True:
            try:
                reconcile_once(db)
            except Exception as exc:  # keep reconciling after a transient failure
                logger.warning("reconcile failed: %s", exc)
            threading.Event().wait(interval)

    thread = threading.Thread(target=loop, name="nasboard-reconciler", daemon=True)
    thread.start()
    return thread
