"""Failed-login counting: 429 once a client or a user name has failed too often lately.

In memory, per API process (documented in the README): a restart forgets the counts, and
several API processes count apart. Keys are bounded, so a flood of user names cannot grow it
without limit. Three keys per attempt: the pair (client, name) gets ``max_failures`` tries in
the window, the client alone and the name alone four times that (guessing across names, or
from many clients).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_KEYS = 10_000
SPREAD = 4


class LoginLimiter:
    def __init__(
        self,
        max_failures: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _keys(self, client: str, name: str) -> list[tuple[str, int]]:
        name = name.strip().lower()[:64]
        return [
            (f"pair:{client}|{name}", self.max_failures),
            (f"client:{client}", self.max_failures * SPREAD),
            (f"name:{name}", self.max_failures * SPREAD),
        ]

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, client: str, name: str) -> int | None:
        """Seconds until another try is allowed, or None if one is allowed now."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key, limit in self._keys(client, name):
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = max(wait, times[len(times) - limit] + self.window_s - now)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, client: str, name: str) -> None:
        now = self._clock()
        with self._lock:
            for key, _ in self._keys(client, name):
                times = self._recent(key, now)
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)

    def succeeded(self, client: str, name: str) -> None:
        with self._lock:
            self._failures.pop(self._keys(client, name)[0][0], None)
