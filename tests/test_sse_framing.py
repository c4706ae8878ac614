"""Server-sent event framing: captured text can never end an event early or add a field."""
from __future__ import annotations

import re

import pytest

from inspector.api import sse_message

HOSTILE = "a\r\revent: request\rid: 99999\rdata: <b>x</b>\r\n\r\nretry: 1\n\nid: 7\n"


def parse_events(stream: str) -> list[dict]:
    """What an EventSource sees (HTML spec: lines end at CRLF, CR or LF; a blank line
    dispatches)."""
    events, current = [], {"data": [], "id": None, "event": None}
    for line in re.split(r"\r\n|\r|\n", stream):
        if line == "":
            if current["data"]:
                events.append({**current, "data": "\n".join(current["data"])})
            current = {"data": [], "id": current["id"], "event": None}
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            current["data"].append(value)
        elif name in ("id", "event"):
            current[name] = value
        elif name == "retry":
            current["retry"] = value
    return events


@pytest.mark.parametrize("data", [HOSTILE, "plain", "\r", "\n", "\r\n", "x\u2028y\x85z"])
def test_one_event_whatever_the_data_holds(data):
    events = parse_events(sse_message(42, data, event="request"))
    assert len(events) == 1
    assert events[0]["id"] == "42" and events[0]["event"] == "request"
    # Line breaks come back as LF (the HTML parser reads CR as LF anyway), nothing else changes.
    assert events[0]["data"] == re.sub(r"\r\n|\r", "\n", data)
    assert "retry" not in events[0]
