"""The Celery app the workers run: the client app's broker config plus nasboard's tasks."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import worker_init, worker_process_init, worker_ready

from backend.core.config import get_settings
from backend.core.logging import configure
from backend.core.queue import make_celery

app = make_celery()
app.conf.include = ["worker.tasks"]


@worker_init.connect
def _remember_concurrency(sender: Any = None, **_: Any) -> None:
    """In the worker's main process, before the pool starts: its size, for the registry."""
    from worker import registry

    registry.set_concurrency(getattr(sender, "concurrency", None))


@worker_process_init.connect
def _init_process(**_: Any) -> None:
    """In each process that trains (prefork children; the worker itself with --pool solo):
    register it in the workers table and keep it alive there (a background thread)."""
    configure(get_settings().log_level)
    from worker import registry
    from worker.tasks import _db

    registry.start(_db())


@worker_ready.connect
def _resume_on_start(**_: Any) -> None:
    """Re-send every unfinished search: tasks may have vanished with a restarted broker."""
    configure(get_settings().log_level)
    threads = os.environ.get("NASBOARD_TF_THREADS")
    logging.getLogger("nasboard.worker").info("worker ready tf_threads=%s", threads or "auto")
    from worker.tasks import resume_unfinished

    resume_unfinished()
