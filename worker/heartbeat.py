"""A background thread that keeps a lease alive while a long step (training) runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

logger = logging.getLogger("nasboard.heartbeat")


class Heartbeat:
    """Call ``beat`` every ``interval`` seconds until the block ends; remember a False answer
    (lease lost or search stopped) in ``alive`` so training can stop."""

    def __init__(self, beat: Callable[[], bool], interval: float) -> None:
        self._beat = beat
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nasboard-heartbeat", daemon=True)
        self.alive = True

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.alive = self._beat()
            except Exception as exc:  # a database hiccup must not kill the training
                logger.warning("heartbeat failed: %s", exc)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
