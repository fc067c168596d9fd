"""A minimal SSE reader for tests: every event with its id, type and data, until `end`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class SseEvent:
    id: int
    type: str
    data: dict[str, Any]


def read_events(url: str, last_id: int | None = None, timeout: float = 600) -> list[SseEvent]:
    """Read until the server ends the stream (the search finished and everything was sent)."""
    headers = {"Last-Event-ID": str(last_id)} if last_id else {}
    events: list[SseEvent] = []
    deadline = time.monotonic() + timeout
    with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(10, read=120)) as r:
        r.raise_for_status()
        assert r.headers["content-type"].startswith("text/event-stream")
        event_id, type_, data = None, "message", ""
        for line in r.iter_lines():
            if time.monotonic() > deadline:
                raise TimeoutError(f"SSE stream still open after {timeout}s")
            if line.startswith("id:"):
                event_id = int(line[3:].strip())
            elif line.startswith("event:"):
                type_ = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
            elif line == "":
                if type_ == "end":
                    return events
                if event_id is not None:
                    events.append(SseEvent(event_id, type_, json.loads(data)))
                event_id, type_, data = None, "message", ""
    return events


def read_until(
    url: str, stop: Callable[[SseEvent], bool], last_id: int | None = None, timeout: float = 300
) -> list[SseEvent]:
    """Read events until ``stop(event)`` is true (inclusive), then drop the connection."""
    headers = {"Last-Event-ID": str(last_id)} if last_id else {}
    events: list[SseEvent] = []
    deadline = time.monotonic() + timeout
    with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(10, read=120)) as r:
        r.raise_for_status()
        event_id, type_, data = None, "message", ""
        for line in r.iter_lines():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no matching event within {timeout}s")
            if line.startswith("id:"):
                event_id = int(line[3:].strip())
            elif line.startswith("event:"):
                type_ = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
            elif line == "":
                if type_ == "end":
                    raise AssertionError(f"stream ended before the awaited event: {events[-3:]}")
                if event_id is not None:
                    events.append(SseEvent(event_id, type_, json.loads(data)))
                    if stop(events[-1]):
                        return events
                event_id, type_, data = None, "message", ""
    raise AssertionError("stream closed before the awaited event")
