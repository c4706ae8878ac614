"""Validation of endpoint settings sent by the API or the dashboard's forms (no Flask)."""
from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

from .signatures import DEFAULT_HEADER, InvalidHeaderName, validate_header_name

MAX_NAME = 200
MAX_SECRET = 1000
MAX_SECRETS = 5


class InputError(ValueError):
    """A setting the user sent cannot be used; the message says why."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _string(data: Mapping[str, Any], field: str, limit: int) -> str | None:
    """An optional string field, length-checked; None when absent."""
    if field not in data or data[field] is None:
        return None
    value = data[field]
    if not isinstance(value, str):
        raise InputError(f"{field} must be a string.", field)
    if len(value) > limit:
        raise InputError(f"{field} is too long (at most {limit} characters).", field)
    return _storable(value, field)


def _storable(value: str, field: str) -> str:
    """Text both stores can keep: JSON may carry a lone surrogate (not encodable as
    UTF-8) or a NUL (refused by PostgreSQL's text), and either failed only on save."""
    if "\x00" in value:
        raise InputError(f"{field} must not contain NUL characters.", field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{field} must be valid Unicode text (it holds a lone surrogate "
                         "escape such as \\ud800).", field) from None
    return value


def _secrets(data: Mapping[str, Any]) -> list[str] | None:
    """`secret` (one) or `secrets` (several, newest first, for rotation)."""
    if "secrets" in data and data["secrets"] is not None:
        values = data["secrets"]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InputError("secrets must be a list of strings.", "secrets")
    elif "secret" in data:
        single = _string(data, "secret", MAX_SECRET)
        values = [single] if single else []
    else:
        return None
    values = [v for v in values if v != ""]
    if len(values) > MAX_SECRETS:
        raise InputError(f"At most {MAX_SECRETS} secrets per endpoint.", "secrets")
    if any(len(v) > MAX_SECRET for v in values):
        raise InputError(f"A secret is too long (at most {MAX_SECRET} characters).", "secrets")
    return [_storable(v, "secrets") for v in values]


def _forward_url(data: Mapping[str, Any]) -> str | None:
    """An http(s) URL with a host, or "" to clear it (sent as "" or null); None when absent."""
    if "forward_url" in data and data["forward_url"] is None:
        return ""  # null clears it, as it does a secret
    value = _string(data, "forward_url", 2000)
    if value is None or value.strip() == "":
        return value if value is None else ""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("forward_url must be an http:// or https:// URL with a host, "
                         "for example http://localhost:3000/webhooks.", "forward_url")
    return value


def _settle_auto_forward(fields: dict[str, Any], current_forward_url: str | None) -> None:
    """Auto-forward needs a URL: clearing the URL switches it off, and switching it on
    without one (now or in the same request) is refused rather than silently idle."""
    url = fields.get("forward_url", current_forward_url)
    if fields.get("auto_forward") and not url:
        raise InputError("auto_forward needs a forward URL to send to: set forward_url too "
                         "(for example http://localhost:3000/webhooks).", "auto_forward")
    if "forward_url" in fields and not url:
        fields["auto_forward"] = False


def parse_endpoint(data: Mapping[str, Any], *, creating: bool,
                   current_forward_url: str | None = None) -> dict[str, Any]:
    """The model fields to set from a create or update request (`current_forward_url`:
    the endpoint's forward URL now, for an update that leaves it unchanged)."""
    if not isinstance(data, Mapping):
        raise InputError("Send a JSON object.")
    known = {"name", "secret", "secrets", "signature_header", "forward_url",
             "auto_forward", "response_status"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"Unknown field(s): {', '.join(unknown)}.")
    fields: dict[str, Any] = {}
    name = _string(data, "name", MAX_NAME)
    if name is not None:
        fields["name"] = name.strip()
    secrets = _secrets(data)
    if secrets is not None:
        fields["secrets"] = secrets
    header = _string(data, "signature_header", 200)
    if header is not None or creating:
        try:
            fields["signature_header"] = validate_header_name(header or DEFAULT_HEADER)
        except InvalidHeaderName as exc:
            raise InputError(str(exc), "signature_header") from None
    forward = _forward_url(data)
    if forward is not None:
        fields["forward_url"] = forward or None
    if "auto_forward" in data:
        if not isinstance(data["auto_forward"], bool):
            raise InputError("auto_forward must be true or false.", "auto_forward")
        fields["auto_forward"] = data["auto_forward"]
    _settle_auto_forward(fields, current_forward_url)
    if "response_status" in data:
        status = data["response_status"]
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise InputError("response_status must be a whole number from 200 to 599.",
                             "response_status")
        fields["response_status"] = status
    return fields
