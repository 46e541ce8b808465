"""Reading a native streamed answer (`event:` lines with JSON `data:`), for the tests."""

from __future__ import annotations

import json
from typing import Any


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """The events of an SSE body in order, as (name, data); comment frames (keep-alives) skipped."""
    events = []
    for frame in text.strip().split("\n\n"):
        lines = [line for line in frame.splitlines() if line and not line.startswith(":")]
        fields = dict(line.split(": ", 1) for line in lines)
        if "data" in fields:
            events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events
