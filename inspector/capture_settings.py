"""Capture's view of an endpoint (id, secrets, signature header, answer), kept per process.

Reading the endpoint row before every capture cost about a tenth of each
capture's CPU under load: a query, and the hand-overs of the interpreter lock
around it. So each process keeps the settings it read, and nothing has to
invalidate them: the transaction that stores a captured row re-checks them
against the endpoint's row (writer.py), and stores nothing when they no longer
match. Capture then reads them afresh and records the request again, so a row
is only ever stored with the verdict of the settings current when it was
committed, whichever process or server changed them.
"""
from __future__ import annotations

import json
from typing import Callable, NamedTuple, Optional

from .capture import EndpointConfig


class Settings(NamedTuple):
    """What capture read of one endpoint, as it was read."""

    endpoint: EndpointConfig
    token: str
    secrets_json: str  # the column's text, compared again by the INSERT
    response_status: int

    def still_current(self) -> dict[str, object]:
        """The INSERT's parameters that must still equal the endpoint's row."""
        return {"seen_token": self.token, "seen_secrets": self.secrets_json,
                "seen_header": self.endpoint.signature_header,
                "seen_status": self.response_status}


def settings_from_row(token: str, row: tuple) -> Settings:
    """Settings from (id, secrets JSON text, signature header, response status)."""
    endpoint_id, secrets_json, header, status = row
    secrets = tuple(json.loads(secrets_json)) if secrets_json else ()
    return Settings(EndpointConfig(endpoint_id, secrets, header), token, secrets_json, status)


class SettingsCache:
    """Settings by token, read through `read(token) -> row | None` on a miss.

    Only endpoints that exist are kept, so a flood of made-up tokens cannot
    grow it; past LIMIT endpoints it starts afresh rather than track use.
    """

    LIMIT = 1024

    def __init__(self, read: Callable[[str], Optional[tuple]]):
        self._read = read
        self._known: dict[str, Settings] = {}

    def get(self, token: str, fresh: bool = False) -> Optional[Settings]:
        """The endpoint's settings, or None when no endpoint has this token. `fresh`
        reads them again: the ones kept turned out to be outdated."""
        if not fresh:
            found = self._known.get(token)
            if found is not None:
                return found
        row = self._read(token)
        if row is None:
            self._known.pop(token, None)
            return None
        settings = settings_from_row(token, row)
        if len(self._known) >= self.LIMIT:
            self._known.clear()
        self._known[token] = settings
        return settings
