"""Every INSPECTOR_* environment variable, defined once as data.

The README documents each of them and a test holds the two together, so a
setting added here without a line in the README fails the suite.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

MIB = 1024 * 1024


def _default_data_dir() -> str:
    """Where the embedded SQLite file lives unless told otherwise (XDG style)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "webhook-inspector")


def _parse_bool(raw: str) -> bool:
    """Accept the usual spellings; anything else is an error, not False."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def _parse_list(raw: str) -> tuple[str, ...]:
    """Comma-separated list, blanks dropped."""
    return tuple(part.strip() for part in raw.split(",") if part.strip())


PARSERS: dict[type, Callable[[str], Any]] = {
    str: str,
    int: int,
    float: float,
    bool: _parse_bool,
    tuple: _parse_list,
}


@dataclass(frozen=True)
class Setting:
    """One INSPECTOR_* variable: its name, type, default and what it does."""

    name: str
    type: type
    default: Any
    help: str

    @property
    def key(self) -> str:
        """The Flask config key: the name without the INSPECTOR_ prefix."""
        return self.name.removeprefix("INSPECTOR_")

    def parse(self, raw: str) -> Any:
        """Turn the environment's text into the typed value, or explain why not."""
        try:
            return PARSERS[self.type](raw)
        except ValueError as exc:
            raise SettingError(f"{self.name}: {exc}") from None


class SettingError(ValueError):
    """A setting's value from the environment could not be read."""


SETTINGS: tuple[Setting, ...] = (
    Setting("INSPECTOR_DATA_DIR", str, _default_data_dir(),
            "Folder for the embedded SQLite database and the generated session key."),
    Setting("INSPECTOR_DATABASE_URL", str, "",
            "SQLAlchemy URL of the store. Empty: a SQLite file `inspector.db` in "
            "INSPECTOR_DATA_DIR. `postgresql://user@host/db` selects PostgreSQL (psycopg 3)."),
    Setting("INSPECTOR_HOST", str, "127.0.0.1",
            "Address `inspector serve` listens on. Use 0.0.0.0 to accept webhooks from outside."),
    Setting("INSPECTOR_PORT", int, 8420, "Port `inspector serve` listens on."),
    Setting("INSPECTOR_WORKERS", int, 2, "gunicorn worker processes started by `inspector serve`."),
    Setting("INSPECTOR_THREADS", int, 32,
            "Threads per worker (gthread); each open live stream holds one."),
    Setting("INSPECTOR_PUBLIC_URL", str, "",
            "Base URL the outside world reaches the inspector at (for example a tunnel's "
            "https URL). Capture URLs are built from it; empty: from the request's host."),
    Setting("INSPECTOR_SECRET_KEY", str, "",
            "Key that signs session cookies. Empty: one is generated once and kept in "
            "INSPECTOR_DATA_DIR."),
    Setting("INSPECTOR_MAX_BODY_BYTES", int, 25 * MIB,
            "Largest body stored; a larger one gets 413 and is listed as rejected."),
    Setting("INSPECTOR_MAX_REQUESTS", int, 10_000,
            "Requests kept per endpoint; older ones are pruned in the background. 0 keeps all."),
    Setting("INSPECTOR_SQLITE_SYNCHRONOUS", str, "NORMAL",
            "SQLite `synchronous` pragma: NORMAL survives a crash of the server, FULL also "
            "a power cut, at some cost in capture speed."),
    Setting("INSPECTOR_STREAM_KEEPALIVE", float, 15.0,
            "Seconds between keep-alive comments on an idle live stream."),
    Setting("INSPECTOR_PASSWORD", str, "",
            "When set, the dashboard and the JSON API require it (a login form for people, "
            "`Authorization: Bearer <password>` for scripts); capture URLs stay open."),
    Setting("INSPECTOR_ALLOWED_HOSTS", tuple, (),
            "Host names the dashboard and API answer to besides localhost and the host of "
            "INSPECTOR_PUBLIC_URL (a comma list, or `*`): other Host headers are refused, "
            "against DNS rebinding. Capture URLs accept any host."),
    Setting("INSPECTOR_FORWARD_ALLOW", tuple, (),
            "Hosts besides this machine that resend, auto-forward, bulk replay and "
            "`inspector forward` may send to: a comma list of host names or IP addresses, "
            "or `*` for any. Empty: loopback only (localhost, 127.0.0.0/8, ::1)."),
    Setting("INSPECTOR_FORWARD_TIMEOUT", float, 30.0,
            "Seconds a resent or forwarded request may take, from connecting to the end "
            "of the answer."),
    Setting("INSPECTOR_FORWARD_MAX_RESPONSE_BYTES", int, 256 * 1024,
            "Largest part of the target's answer body kept with each attempt; a longer "
            "answer is cut there and the attempt says so."),
)

BY_NAME: Mapping[str, Setting] = {s.name: s for s in SETTINGS}


def load(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read every setting from the environment into a dict keyed by config key."""
    environ = os.environ if environ is None else environ
    values = {}
    for setting in SETTINGS:
        raw = environ.get(setting.name)
        values[setting.key] = setting.default if raw is None else setting.parse(raw)
    return values
