"""One Settings object, read by the API, the worker and the CLI alike.

Everything comes from ``NASBOARD_*`` environment variables so a laptop (SQLite + embedded
worker) and a cluster (PostgreSQL + Redis + Celery workers) run the same code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED = "embedded"


class Settings(BaseSettings):
    """Runtime configuration; defaults give the single-machine embedded mode."""

    model_config = SettingsConfigDict(env_prefix="NASBOARD_", extra="ignore")

    data_dir: Path = Field(default=Path.home() / ".nasboard")
    database_url: str = ""
    broker_url: str = EMBEDDED
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    # Bounds on what one request can make expensive (server-side, not only in the form).
    max_population: int = 200
    max_generations: int = 500
    max_epochs: int = 100
    # How often the SSE endpoint looks for new event rows (seconds).
    event_poll_s: float = 0.2
    # A training candidate's lease: renewed by a heartbeat; once expired, the reconciler
    # hands the candidate to another worker (the attempt counter records it).
    lease_s: float = 60.0
    heartbeat_s: float = 10.0
    # How often each worker re-sends work whose task may have vanished (restarted broker).
    reconcile_s: float = 30.0
    # Pending work whose task was sent longer ago than this is sent again (idempotent).
    resend_after_s: float = 300.0
    max_attempts: int = 3
    # Share of a generation's candidates that may fail before the search fails.
    max_failed_fraction: float = 0.5
    # Deterministic TensorFlow ops: a retried candidate reproduces its metrics exactly.
    deterministic: bool = True

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'nasboard.db'}"

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url in ("", EMBEDDED)

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def queue_dir(self) -> Path:
        """Folder the embedded (filesystem) broker keeps its messages in."""
        return self.data_dir / "queue"

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.artifacts_dir, self.queue_dir):
            path.mkdir(parents=True, exist_ok=True)


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    settings.ensure_dirs()
    return settings
