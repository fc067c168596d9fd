"""SSE readers for tests: every event with its id, type and data, until `end` or a match."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx

from backend.core.sse import SseMessage, parse_sse

SseEvent = SseMessage


def _stream(url: str, last_id: int | None, timeout: float) -> Iterator[SseMessage]:
    """Messages with ids, ending at the server's `end`; raises past ``timeout``."""
    headers = {"Last-Event-ID": str(last_id)} if last_id else {}
    deadline = time.monotonic() + timeout
    with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(10, read=120)) as r:
        r.raise_for_status()
        assert r.headers["content-type"].startswith("text/event-stream")
        for message in parse_sse(r.iter_lines()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"SSE stream still open after {timeout}s")
            if message.type == "end":
                return
            if message.id is not None:
                yield message


def read_events(url: str, last_id: int | None = None, timeout: float = 600) -> list[SseEvent]:
    """Read until the server ends the stream (the search finished and everything was sent)."""
    return list(_stream(url, last_id, timeout))


def read_until(
    url: str, stop: Callable[[SseEvent], bool], last_id: int | None = None, timeout: float = 300
) -> list[SseEvent]:
    """Read events until ``stop(event)`` is true (inclusive), then drop the connection."""
    events: list[SseEvent] = []
    for message in _stream(url, last_id, timeout):
        events.append(message)
        if stop(message):
            return events
    raise AssertionError(f"stream ended before the awaited event: {events[-3:]}")
