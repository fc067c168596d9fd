"""One Settings object, read by the API, the worker and the CLI alike.

Everything comes from ``NASBOARD_*`` environment variables so a laptop (SQLite + embedded
worker) and a cluster (PostgreSQL + Redis + Celery workers) run the same code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    # Accounts: "off" (single user, only on a loopback address) or "required" (users,
    # bearer tokens and a session cookie; every search and upload belongs to its owner).
    auth: Literal["off", "required"] = "off"
    # Mark the session cookie Secure (set it when the dashboard is served over https).
    cookie_secure: bool = False
    session_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)
    # Failed logins allowed per client address and user name within the window (then 429).
    # Counted in this process's memory: a restart forgets them, several API processes count
    # apart.
    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: float = Field(default=300.0, gt=0)
    # Origins allowed to call the API from a browser page elsewhere (comma-separated or a
    # JSON list); none by default, so only the dashboard's own origin can.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Bounds on what one request can make expensive (server-side, not only in the form);
    # a request past one is answered 422 naming the field.
    max_population: int = 200
    max_generations: int = 500
    max_epochs: int = 100
    max_final_epochs: int = 200
    max_batch_size: int = 4096
    max_time_budget_s: float = 7 * 24 * 3600
    max_conv_blocks: int = 12
    max_dense_layers: int = 8
    max_filters: int = 1024
    max_units: int = 4096
    max_kernel_size: int = 11
    max_branches: int = 4
    # Searches one user may have queued, running or paused at once (then 429).
    max_active_searches: int = Field(default=4, ge=1)
    # Request bodies other than dataset uploads (JSON: searches, logins).
    max_body_bytes: int = 1024 * 1024
    # Uploaded datasets one user may keep (then 429); the body size is capped by ingest.
    max_datasets_per_user: int = Field(default=50, ge=1)
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

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip().rstrip("/") for part in text.split(",") if part.strip()]
        return value

    @property
    def auth_required(self) -> bool:
        return self.auth == "required"

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
