"""How captured bodies, sizes and times are shown: pure helpers, no Flask."""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from markupsafe import Markup, escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer

HIGHLIGHT_LIMIT = 1024 * 1024   # above this a body is not pretty-printed or highlighted
PREVIEW_BYTES = 64 * 1024       # how much of a big body is shown inline
HEX_LIMIT = 16 * 1024           # hex dumps longer than this are unreadable anyway

# JSON tokens: strings (escapes kept verbatim), punctuation, bare words (numbers, literals).
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\],:]|[^\s{}\[\],:"]+', re.S)
_FORMATTER = HtmlFormatter(nowrap=True)


def pretty_json(text: str, indent: int = 2) -> Optional[str]:
    """Re-indent JSON text, or None if it is not JSON.

    Works on the tokens of the original text, so numbers keep their exact
    spelling (big integers, 1.10, 1e400) and strings their escapes: nothing
    goes through a float or a re-encoding.
    """
    text = text.lstrip("\ufeff")
    try:
        # Validation only; len() stands in for number parsing, which could fail on huge ints.
        json.loads(text, parse_int=len, parse_float=len)
    except (ValueError, RecursionError):
        return None
    tokens = _JSON_TOKEN.findall(text)
    out: list[str] = []
    depth = 0
    for i, token in enumerate(tokens):
        if token in ("{", "["):
            out.append(token)
            if i + 1 < len(tokens) and tokens[i + 1] in ("}", "]"):
                continue  # empty container stays on one line
            depth += 1
            out.append("\n" + " " * indent * depth)
        elif token in ("}", "]"):
            if i > 0 and tokens[i - 1] in ("{", "["):
                out.append(token)
                continue
            depth -= 1
            out.append("\n" + " " * indent * depth + token)
        elif token == ",":
            out.append(",\n" + " " * indent * depth)
        elif token == ":":
            out.append(": ")
        else:
            out.append(token)
    return "".join(out)


def highlight_json(pretty: str) -> Markup:
    """Syntax-highlighted HTML of JSON text.

    Marked safe because Pygments HTML-escapes every token's text itself; the
    captured data only ever reaches the page through that escaping.
    """
    return Markup(highlight(pretty, JsonLexer(), _FORMATTER))


# Characters that change or hide what text looks like: C0/C1 controls (newline and tab
# are layout, and so is the CR of a CRLF: see _mark), soft hyphen, bidi marks, embeddings,
# overrides and isolates, zero-width and other invisible format characters, and Unicode
# tags (invisible copies of ASCII). None is HTML-special, so escaping leaves them as they are.
# One character class and no alternation: sre then scans big text fastest.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]")
# unicodedata has no names for control characters; their usual abbreviations instead.
_CONTROL_NAMES = dict(enumerate(
    "NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI "
    "DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US".split()))
_CONTROL_NAMES[0x7F] = "DEL"  # C1 controls (U+0080-U+009F) have no common names
_marks: dict[str, str] = {}


def _is_line_end(match: re.Match) -> bool:
    """A CR right before a newline is a CRLF line end: layout, like the newline itself."""
    return match.group() == "\r" and match.string.startswith("\n", match.end())


def _mark(match: re.Match) -> str:
    """The visible label of one invisible character (built once per character)."""
    char = match.group()
    if _is_line_end(match):
        return char
    if char not in _marks:
        code = f"U+{ord(char):04X}"
        name = unicodedata.name(char, "") or f"{_CONTROL_NAMES.get(ord(char), 'C1')} control character"
        _marks[char] = f'<span class="invisible-char" title="{code} {name}">{code}</span>'
    return _marks[char]


def reveal_invisible(value: Any) -> Markup:
    """Captured text as HTML in which bidi controls, invisible and control characters
    show as a marked `U+XXXX` label instead of silently reordering or hiding text.

    Plain text is HTML-escaped first; Markup (Pygments' output) is taken as already
    escaped, and the labels go between its tags just the same. Only for display:
    whatever is copied, sent or downloaded keeps the exact characters.
    """
    html = escape(value)
    if not _INVISIBLE.search(html):  # the usual case: one scan, returned as it is
        return html
    return Markup(_INVISIBLE.sub(_mark, html))


def reveal_line(line: Optional[str], crlf_end: bool = False) -> Markup:
    """One line of a text split at its newlines, as reveal_invisible shows it. With
    `crlf_end` (the line was followed by an LF and its text uses CRLF throughout) a final
    CR is the line end, layout like the LF: left out, not labelled on every line. Any
    other CR keeps its label."""
    if line is None:
        return Markup("")
    return reveal_invisible(line[:-1] if crlf_end and line.endswith("\r") else line)


def has_invisible(*values: Any) -> bool:
    """Whether any of the texts (or lists and pairs of texts) holds a character
    reveal_invisible marks; None and other non-text values hold none."""
    for value in values:
        if isinstance(value, str):
            if any(not _is_line_end(match) for match in _INVISIBLE.finditer(value)):
                return True
        elif isinstance(value, (list, tuple)) and has_invisible(*value):
            return True
    return False


def hex_dump(data: bytes, limit: int = HEX_LIMIT) -> str:
    """`xxd`-style dump: offset, 16 hex bytes, printable ASCII."""
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        chunk = data[offset:offset + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<47}  |{text}|")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit} more bytes (download the body to see them)")
    return "\n".join(lines)


@dataclass(frozen=True)
class BodyView:
    """What the detail pane shows of a body."""

    kind: str                       # empty | json | text | binary
    text: Optional[str] = None      # raw text (UTF-8 bodies), possibly a preview
    html: Optional[Markup] = None   # highlighted pretty JSON
    hex: Optional[str] = None       # hex dump, possibly of a preview
    truncated: bool = False         # only the first PREVIEW_BYTES are shown


def _as_text(data: bytes, cut: bool) -> Optional[str]:
    """UTF-8 text, or None; a cut preview may end inside a character, which is still text."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if cut and exc.end == len(data) and exc.start >= len(data) - 3:
            return data[:exc.start].decode("utf-8", "replace")
        return None


def body_view(body: bytes) -> BodyView:
    """Choose how to show a body: pretty JSON, text or hex; big bodies only in part."""
    if not body:
        return BodyView("empty")
    big = len(body) > HIGHLIGHT_LIMIT
    shown = body[:PREVIEW_BYTES] if big else body
    text = _as_text(shown, cut=big)
    hexed = hex_dump(shown)
    if text is None:
        return BodyView("binary", hex=hexed, truncated=big)
    pretty = None if big else pretty_json(text)
    if pretty is not None:
        return BodyView("json", text=text, html=highlight_json(pretty), hex=hexed)
    return BodyView("text", text=text, hex=hexed, truncated=big)


def header_text(value: str) -> str:
    """A header value for reading: servers hand it over as latin-1, so UTF-8 bytes
    (`é` sent as two bytes) are shown as the text the sender meant when they decode."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def human_size(size: int) -> str:
    """Bytes for people: 812 B, 4.2 KB, 25.0 MB (powers of 1024)."""
    if size < 1024:
        return f"{size} B"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


def utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC, seconds precision, with a Z: 2024-06-10T06:13:20Z."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def from_unix(seconds: float) -> datetime:
    """A unix timestamp (event payloads use seconds) as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, timezone.utc)


def relative_time(moment: datetime, now: datetime) -> str:
    """"5 min ago", "in 2 days": how far a moment is from now, roughly."""
    delta = (now - moment).total_seconds()
    seconds = abs(delta)
    if seconds < 5:
        return "just now"
    for limit, size, unit in ((60, 1, "s"), (3600, 60, "min"), (86400, 3600, "h"),
                              (86400 * 60, 86400, "day"), (86400 * 730, 86400 * 30, "month")):
        if seconds < limit:
            break
    else:
        size, unit = 86400 * 365, "year"
    count = int(seconds // size)
    amount = f"{count} {unit}" + ("s" if unit in ("day", "month", "year") and count != 1 else "")
    return f"{amount} ago" if delta > 0 else f"in {amount}"
