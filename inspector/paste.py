"""Find the endpoint token in whatever a user pasted: a capture URL, a dashboard URL or a token."""
from __future__ import annotations

import re
from typing import Optional
from urllib.parse import unquote, urlsplit

_TOKEN = r"[A-Za-z0-9_-]{8,64}"
# /hooks/<token>[/...], /endpoints/<token>[...], /api/endpoints/<token>[...]
_IN_PATH = re.compile(rf"/(?:hooks|endpoints)/({_TOKEN})(?:[/?#]|$)")
_BARE = re.compile(rf"{_TOKEN}")


def token_from_paste(text: str) -> Optional[str]:
    """The token a pasted URL or bare token names, or None when it names none."""
    text = text.strip().strip("<>\"'")
    if _BARE.fullmatch(text):
        return text
    # A URL without a scheme ("localhost:8420/hooks/...") still has the path we want.
    if text.startswith("/"):
        path = urlsplit(text).path
    else:
        path = urlsplit(text if "://" in text else "//" + text).path
    found = _IN_PATH.search(unquote(path))
    return found.group(1) if found else None
