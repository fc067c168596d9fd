"""Structured (key=value) logs that say what happened to which search and candidate."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields.update(getattr(record, "kv", {}))
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        return " ".join(f"{k}={_fmt(v)}" for k, v in fields.items())


def _fmt(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return json.dumps(text) if (" " in text or "=" in text or not text) else text


def configure(level: str = "INFO") -> None:
    """Key=value lines on the process's real stderr. Not ``sys.stderr``: in a Celery worker
    that is a proxy logging into the root logger, whose records would loop and be dropped."""
    handler = logging.StreamHandler(sys.__stderr__)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def log(logger: logging.Logger, msg: str, level: int = logging.INFO, **kv: Any) -> None:
    """``log(logger, "candidate finished", search=1, candidate=7, val_accuracy=0.93)``."""
    logger.log(level, msg, extra={"kv": kv})
