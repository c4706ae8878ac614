"""Find what a user pasted names: a capture URL, a dashboard or request URL, or a token."""
from __future__ import annotations

import re
from typing import Optional
from urllib.parse import unquote, urlsplit

_TOKEN = r"[A-Za-z0-9_-]{8,64}"
# /hooks/<token>[/...], /endpoints/<token>[...], /api/endpoints/<token>[...]
_IN_PATH = re.compile(rf"/(?:hooks|endpoints)/({_TOKEN})(?:[/?#]|$)")
# /requests/<id>[...], /api/requests/<id>[...]: a link to one captured request
_REQUEST_IN_PATH = re.compile(r"/requests/(\d{1,19})(?:[/?#]|$)")
_BARE = re.compile(rf"{_TOKEN}")


def _cleaned(text: str) -> str:
    """Without the spaces, quotes and angle brackets that come along when copying."""
    return text.strip().strip("<>\"'")


def _parts(text: str):
    """The pasted text split as a URL, with or without a scheme or a leading slash
    ("localhost:8420/hooks/…" and "hooks/…" still have the path we want)."""
    if text.startswith("/"):
        return urlsplit(text)
    if "://" in text:
        return urlsplit(text)
    if text.split("/", 1)[0] in ("hooks", "endpoints", "api", "requests"):
        return urlsplit("/" + text)
    return urlsplit("//" + text)


def token_from_paste(text: str) -> Optional[str]:
    """The token a pasted URL or bare token names, or None when it names none."""
    text = _cleaned(text)
    if _BARE.fullmatch(text):
        return text
    found = _IN_PATH.search(unquote(_parts(text).path))
    return found.group(1) if found else None


def request_id_from_paste(text: str) -> Optional[int]:
    """The id a pasted request link (…/requests/<id>) names, or None."""
    found = _REQUEST_IN_PATH.search(unquote(_parts(_cleaned(text)).path))
    return int(found.group(1)) if found else None


def host_of_paste(text: str) -> Optional[str]:
    """The host (and port) a pasted URL names, lowercased; None for a bare path or token."""
    text = _cleaned(text)
    if _BARE.fullmatch(text):
        return None
    netloc = _parts(text).netloc
    return netloc.rsplit("@", 1)[-1].lower() or None
