"""Parse a Server-Sent Events stream (the CLI's `watch` and the tests read ours with it)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SseMessage:
    id: int | None
    type: str
    data: dict[str, Any]


def parse_sse(lines: Iterable[str]) -> Iterator[SseMessage]:
    """Yield each complete message; comments, ``retry:`` and empty messages are skipped."""
    event_id: int | None = None
    type_, data = "message", ""
    for line in lines:
        if line.startswith("id:"):
            event_id = int(line[3:].strip())
        elif line.startswith("event:"):
            type_ = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif line == "":
            if data or type_ != "message":
                yield SseMessage(event_id, type_, json.loads(data) if data else {})
            event_id, type_, data = None, "message", ""
