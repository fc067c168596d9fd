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
