""""Copy as curl": a shell command that sends a captured request again, byte-exact (no Flask)."""
from __future__ import annotations

from typing import Optional, Sequence
from urllib.parse import quote

from .resend import sub_path_in_url

# Headers curl adds on its own unless told not to (`-H 'Name:'` removes one): a replay of
# a request that had none must not gain them. Content-Type only comes with a body.
CURL_DEFAULTS = ("User-Agent", "Accept")
# Headers that describe one connection rather than the request; curl sets its own.
TRANSPORT_HEADERS = frozenset({
    "host", "content-length", "transfer-encoding", "connection", "keep-alive", "expect",
    "te", "trailer", "upgrade", "proxy-connection",
})
# Above this, a `$'...'` argument risks the kernel's per-argument limit (128 KiB on Linux),
# so the body is piped in from printf (a shell builtin, no limit) or downloaded first.
INLINE_BODY_LIMIT = 64 * 1024
# Where a downloaded body is kept. A file, not a pipe: with `&&` a failed download
# (wrong password, request deleted) sends nothing, where a pipe sent an empty body.
BODY_FILE = "webhook-body.bin"
# The inspector's password, read by the shell from the user's environment: the
# command never holds it.
PASSWORD_HEADER = '-H "Authorization: Bearer $INSPECTOR_PASSWORD"'
_URL_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))
_BARE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./:@%+,=")
_PLAIN = frozenset(range(0x20, 0x7F)) - {ord("'")}
_ANSI_C_ESCAPES = {ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t",
                   # Escaped so neither a quote scanner nor bash history expansion trips on them.
                   ord("'"): "\\x27", ord("!"): "\\x21"}


def wire_bytes(text: str) -> bytes:
    """Header text back to its bytes: servers decode headers as Latin-1, so that round-trips."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def shell_quote(data: bytes) -> str:
    """One shell word that is exactly these bytes (never containing NUL, which argv cannot)."""
    if b"\x00" in data:
        raise ValueError("a shell argument cannot contain a NUL byte")
    if data and all(b in _BARE for b in data):
        return data.decode("ascii")
    if data and all(b in _PLAIN for b in data):
        return "'" + data.decode("ascii") + "'"
    # ANSI-C quoting ($'...', bash and zsh): every other byte spelled as an escape,
    # so the command survives copy/paste and any terminal encoding.
    out = []
    for b in data:
        if b in _ANSI_C_ESCAPES:
            out.append(_ANSI_C_ESCAPES[b])
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02x}")
    return "$'" + "".join(out) + "'"


def printf_format(data: bytes) -> str:
    """A single-quoted printf format that prints exactly these bytes, NUL included."""
    out = []
    for b in data:
        if b == ord("%"):
            out.append("%%")
        elif b == ord("\\"):
            out.append("\\\\")
        elif b in _PLAIN:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03o}")  # at most 3 octal digits are read, so digits after are safe
    return "'" + "".join(out) + "'"


def _header_argument(name: str, value: str) -> str:
    """`-H` with the header; an empty value needs curl's `Name;` spelling or curl drops it."""
    line = wire_bytes(name) + (b": " + wire_bytes(value) if value else b";")
    return "-H " + shell_quote(line)


def curl_command(method: str, url: str, headers: Sequence[Sequence[str]], body: bytes,
                 body_url: Optional[str] = None, password: bool = False) -> str:
    """A curl command line (bash/zsh) that repeats the request: method, headers in order, body.

    Bodies over INLINE_BODY_LIMIT are downloaded from `body_url` when one is given,
    with $INSPECTOR_PASSWORD when the inspector has a `password`.
    """
    url_bytes = url.encode("utf-8")
    words = ["curl"]
    if any(c in url for c in "[]{}"):
        words.append("--globoff")  # curl would read brackets in a query as a URL pattern
    words.append("--head" if method.upper() == "HEAD" else "-X " + shell_quote(method.encode()))
    words += [_header_argument(name, value) for name, value in headers
              if name.strip().lower() not in TRANSPORT_HEADERS]
    sent = {name.strip().lower() for name, _ in headers}
    added = CURL_DEFAULTS + (("Content-Type",) if body else ())
    words += [f"-H '{name}:'" for name in added if name.lower() not in sent]
    prefix = ""
    if body and body_url and len(body) > INLINE_BODY_LIMIT:
        words.append(f"--data-binary @{BODY_FILE}")
        auth = f" {PASSWORD_HEADER}" if password else ""
        prefix = f"curl -sSf{auth} -o {BODY_FILE} {shell_quote(body_url.encode())} && "
    elif body and (b"\x00" in body or len(body) > INLINE_BODY_LIMIT):
        words.append("--data-binary @-")
        prefix = f"printf {printf_format(body)} | "
    elif body:
        words.append("--data-binary " + shell_quote(body))
    words.append(shell_quote(url_bytes))
    return prefix + " \\\n  ".join(words)


def replay_url(capture_url: str, path: str, query: str) -> str:
    """The capture URL plus the sub-path and raw query the request came with."""
    tail = "" if path in ("", "/") else sub_path_in_url(path)
    # The raw query is kept as sent; only bytes a URL cannot carry literally are escaped.
    query = quote(query, safe=_URL_PRINTABLE, encoding="latin-1", errors="surrogateescape")
    return capture_url.rstrip("/") + tail + (f"?{query}" if query else "")


TRY_BODY = '{"id":"evt_try_1","type":"message.updated","payload":{"id":"msg_try_1","message":"Hello"}}'


def try_commands(capture_url: str, header: str, has_secret: bool) -> dict[str, str]:
    """Ready-to-paste commands that send a test event; the secret stays in $WEBHOOK_SECRET."""
    url = shell_quote(capture_url.encode())
    send = f"inspector send message.updated --url {url}"
    if has_secret:
        send += ' --secret "$WEBHOOK_SECRET"'
    if header.lower() != "x-protocol-signature":
        send += f" --header {shell_quote(header.encode())}"
    plain = (f"curl -X POST {url} -H 'Content-Type: application/json' "
             f"--data-binary {shell_quote(TRY_BODY.encode())}")
    commands = {"send": send, "curl": plain}
    if has_secret:
        signature = ('$(printf %s "$body" | openssl dgst -sha256 -hmac "$WEBHOOK_SECRET" '
                     "| sed 's/^.* //')")
        commands["signed_curl"] = (
            f"body={shell_quote(TRY_BODY.encode())}; curl -X POST {url} "
            f"-H 'Content-Type: application/json' "
            f"-H {shell_quote(f'{header}: '.encode())}\"{signature}\" --data-binary \"$body\"")
    return commands
