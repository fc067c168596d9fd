"""The Celery client app: broker configuration only, no tasks.

The API sends task names with ids (JSON) through it; ``worker.celery_app`` adds the tasks.
The embedded default uses kombu's filesystem transport under the data directory, so the
embedded worker is a real ``celery worker`` process running the very same tasks.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from celery import Celery

from backend.core.config import Settings, get_settings

QUEUE = "nasboard"
# Redis redelivers unacked tasks after this; task time limits stay below it.
VISIBILITY_TIMEOUT_S = 6 * 3600


def celery_config(settings: Settings) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": None,
        "task_default_queue": QUEUE,
        # At-least-once delivery; the database makes handling idempotent.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": VISIBILITY_TIMEOUT_S - 600,
        "task_soft_time_limit": VISIBILITY_TIMEOUT_S - 900,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
    }
    if settings.embedded_broker:
        folder = str(settings.queue_dir)
        settings.queue_dir.mkdir(parents=True, exist_ok=True)
        conf["broker_url"] = "filesystem://"
        # Remote control (pidbox) is a broadcast the filesystem transport handles poorly;
        # one embedded worker needs none of it.
        conf["worker_enable_remote_control"] = False
        conf["broker_transport_options"] = {
            "data_folder_in": folder,
            "data_folder_out": folder,
            "control_folder": str(settings.queue_dir / "control"),
            "store_processed": False,
        }
    else:
        conf["broker_url"] = settings.broker_url
        conf["broker_transport_options"] = {"visibility_timeout": VISIBILITY_TIMEOUT_S}
    return conf


def make_celery(settings: Settings | None = None) -> Celery:
    app = Celery("nasboard")
    app.conf.update(celery_config(settings or get_settings()))
    return app


class TaskQueue:
    """What the API needs of Celery: send a task by name with id arguments (JSON) only."""

    def __init__(self, settings: Settings) -> None:
        self.celery = make_celery(settings)

    def send(self, task: str, *args: int) -> None:
        self.celery.send_task(task, args=list(args), queue=QUEUE)


@lru_cache(maxsize=8)
def _queue_for(broker_url: str, data_dir: str) -> TaskQueue:
    return TaskQueue(Settings(broker_url=broker_url, data_dir=Path(data_dir)))


def get_queue(settings: Settings | None = None) -> TaskQueue:
    settings = settings or get_settings()
    return _queue_for(settings.broker_url, str(settings.data_dir))
