"""Building a resend from a stored request, and deciding where it may go (no Flask here).

* `build` turns a captured request into the `Outgoing` request: the original
  method, query, body bytes and headers (minus hop-by-hop ones, `Host` and
  `Content-Length`, which the client sets), the sub-path appended when asked,
  a loop-guard hop count, and a fresh signature when the body was edited or a
  re-sign was asked for (in place of every old signature header, not beside
  them). A body the user did not edit is sent as the stored bytes, never
  re-serialized.
* `check_target` is the target policy: loopback only unless
  INSPECTOR_FORWARD_ALLOW names the host (or is `*`). The host is resolved
  once and every address must be loopback, so a name that points (or
  rebinds) elsewhere is refused; the sender then connects to exactly the
  addresses that were checked.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import socket
from dataclasses import dataclass
from typing import Callable, Optional, Sequence
from urllib.parse import SplitResult, quote, urlsplit

from .jsontext import JsonNumber, dumps
from .signatures import sign

# RFC 9110 7.6.1 hop-by-hop fields, plus the old Proxy-Connection and Keep-Alive.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "proxy-connection", "te", "trailer", "trailers", "transfer-encoding", "upgrade",
})
CLIENT_SET = frozenset({"host", "content-length"})
LOOP_HEADER = "X-Inspector-Forwarded"
MAX_HOPS = 5
ALLOW_SETTING = "INSPECTOR_FORWARD_ALLOW"
_CAPTURE_PATH = re.compile(r"/hooks/([A-Za-z0-9_-]{16,64})(?:/|$)")
# Stored sub-paths are raw (percent-escapes kept): only characters a URL path cannot
# hold are escaped when one goes back into a URL.
PATH_SAFE = "/:@!$&'()*+,;=~%"
# Methods that carry a body: they always get a Content-Length, even 0.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Resolver = Callable[[str, int], Sequence[str]]


def sub_path_in_url(path: str) -> str:
    """A stored sub-path back in a URL: its percent-escapes kept as sent, any other
    character a URL cannot hold escaped as the byte it arrived as (the server gave
    us the raw path decoded as Latin-1)."""
    try:
        raw = path.encode("latin-1")
    except UnicodeEncodeError:
        raw = path.encode("utf-8", "surrogateescape")
    return quote(raw, safe=PATH_SAFE)


class ResendError(ValueError):
    """A resend that cannot be built as asked; the message says why in plain words."""


class TargetRefused(ResendError):
    """The target is not allowed by the policy (nothing was sent)."""


class InvalidTarget(TargetRefused):
    """The target is not an http(s) URL with a host: a mistake in what was typed."""


class LookupFailed(ResendError):
    """The target's host name does not resolve (a DNS error, reported as an attempt)."""


@dataclass(frozen=True)
class Outgoing:
    """A request ready to send: headers without Host and Content-Length."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    resigned: bool = False
    edited: bool = False

    @property
    def body_sha256(self) -> str:
        """SHA-256 of the bytes sent."""
        return hashlib.sha256(self.body).hexdigest()

    def wire_headers(self, host: str) -> list[tuple[str, str]]:
        """Host first, then ours, then the Content-Length of the body actually sent."""
        headers = [("Host", host), *self.headers]
        if self.body or self.method.upper() in _BODY_METHODS:
            headers.append(("Content-Length", str(len(self.body))))
        return headers


@dataclass(frozen=True)
class Target:
    """An allowed target: where to connect (the checked addresses) and what to call it."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]

    @property
    def host_port(self) -> str:
        """`localhost:3000`, as error messages name it."""
        return f"{self.host}:{self.port}" if ":" not in self.host else f"[{self.host}]:{self.port}"

    @property
    def host_header(self) -> str:
        """The Host header a client would send for this URL."""
        default = 443 if self.scheme == "https" else 80
        return self.host_port if self.port != default else (
            self.host if ":" not in self.host else f"[{self.host}]")


def hop_count(headers: Sequence[Sequence[str]]) -> int:
    """How many inspectors this request has already passed through."""
    for name, value in headers:
        if name.lower() == LOOP_HEADER.lower():
            try:
                return max(0, int(value.strip()))
            except ValueError:
                return MAX_HOPS  # a mangled guard header is treated as a loop
    return 0


def forward_headers(headers: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
    """Original headers in order, repeats kept, minus hop-by-hop ones and those the client sets."""
    named_by_connection = {
        token.strip().lower()
        for name, value in headers if name.lower() == "connection"
        for token in value.split(",")}
    dropped = HOP_BY_HOP | CLIENT_SET | named_by_connection | {LOOP_HEADER.lower()}
    return [(name, value) for name, value in headers if name.lower() not in dropped]


def target_url(base: str, path: str, query: str, append_path: bool) -> str:
    """The target URL: the sub-path appended when asked, then the original query."""
    parts = urlsplit(base)
    url_path = parts.path
    if append_path and path and path != "/":
        url_path = url_path.rstrip("/") + sub_path_in_url(path)
    full_query = "&".join(q for q in (parts.query, query) if q)
    url = f"{parts.scheme}://{parts.netloc}{url_path or '/'}"
    return f"{url}?{full_query}" if full_query else url


def looks_like_signature(name: str) -> bool:
    """A header named like a signature (`X-Signature`, `Stripe-Signature`): the rule the
    verdict uses to point at a signature sent under another name."""
    return name.strip().lower().endswith("signature")


def _replace_signature(headers: Sequence[Sequence[str]], header_name: str, value: str,
                       stale: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Put the fresh signature in place of the request's old ones, once.

    Old ones are the endpoint's header, any header named like a signature, and
    the `stale` names (the header the capture-time verdict read): a copy left
    behind would still sign the old body, and the app might read it. The fresh
    value goes where the first old one was, under the endpoint's header name
    (spelled as the request spelled it), or at the end.
    """
    wanted = header_name.strip().lower()
    old_names = {wanted, *(name.strip().lower() for name in stale if name)}
    spelling = next((name for name, _ in headers if name.strip().lower() == wanted), header_name)
    out, done = [], False
    for name, old in headers:
        if name.strip().lower() in old_names or looks_like_signature(name):
            if not done:
                out.append((spelling, value))
                done = True
            continue
        out.append((name, old))
    return out if done else out + [(header_name, value)]


def edited_body(original: bytes, sent: Optional[str],
                shown: Optional[str] = None) -> Optional[bytes]:
    """The new body bytes, or None when the user did not change it.

    `shown` is what the editor started with (the pretty or raw form); text
    equal to it, or to the stored body, is not an edit. Browsers send a
    textarea with CRLF line ends, so line ends do not count when comparing,
    and an edit keeps LF unless the stored body used CRLF itself.
    """
    if sent is None:
        return None
    as_lf = sent.replace("\r\n", "\n")
    if shown is not None and as_lf == shown.replace("\r\n", "\n"):
        return None
    if b"\r\n" not in original:
        sent = as_lf
    if sent.encode("utf-8", "surrogatepass") == original:
        return None
    return sent.encode("utf-8", "surrogatepass")


def build(*, method: str, path: str, query: str, headers: Sequence[Sequence[str]],
          body: bytes, target: str, append_path: bool = False, new_body: Optional[bytes] = None,
          resign: Optional[bool] = None, secret: Optional[str] = None,
          signature_header: str = "", stale_signatures: Sequence[str] = ()) -> Outgoing:
    """The request to send for a stored one; edits are re-signed unless `resign` is False.
    `stale_signatures`: more header names a re-signed request drops (see _replace_signature)."""
    hops = hop_count(headers)
    if hops >= MAX_HOPS:
        raise ResendError(
            f"This request has already passed through {hops} inspectors ({LOOP_HEADER}); "
            "forwarding it again looks like a loop, so it was not sent.")
    out = forward_headers(headers)
    edited = new_body is not None
    sent = new_body if edited else body
    # Edits are re-signed when there is a secret; an explicit re-sign without one is an error.
    resigned = bool(resign) if resign is not None else edited and bool(secret)
    if resigned:
        if not secret:
            raise ResendError("This endpoint has no secret, so the request cannot be re-signed; "
                              "set a secret first (or send it without re-signing).")
        out = _replace_signature(out, signature_header, sign(sent, secret), stale_signatures)
    out.append((LOOP_HEADER, str(hops + 1)))
    return Outgoing(method=method.upper(), url=target_url(target, path, query, append_path),
                    headers=tuple(out), body=sent, resigned=resigned, edited=edited)


def _exact_int(text: str) -> object:
    """An int writes back as read, except -0 and one too long for int() (kept as text)."""
    return JsonNumber(text) if text == "-0" or len(text) > 1000 else int(text)


def _exact_float(text: str) -> object:
    """A float when it writes back as read (cheaper to encode), else the exact text."""
    number = float(text)
    return number if repr(number) == text else JsonNumber(text)


def pretty_body(body: bytes) -> Optional[str]:
    """The body as indented JSON for the editor, or None when it is not a JSON text.

    Keys keep their order and every number its spelling as sent (1.10, 1e2, -0,
    big integers): whatever the user does not edit goes back as it came.
    """
    try:
        value = json.loads(body.decode("utf-8"), parse_int=_exact_int, parse_float=_exact_float)
        text = dumps(value, indent=2, ensure_ascii=False)
        text.encode("utf-8")  # a lone surrogate escape (\ud800) has no UTF-8 text: raw only
        return text
    except (UnicodeError, ValueError, RecursionError):
        return None


def capture_token(url: str) -> Optional[str]:
    """The token when the URL's path is an inspector capture URL (`/hooks/<token>...`)."""
    found = _CAPTURE_PATH.search(urlsplit(url).path)
    return found.group(1) if found else None


def system_resolve(host: str, port: int) -> list[str]:
    """Every address the host name resolves to (IP literals resolve to themselves)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def is_loopback(address: str) -> bool:
    """127.0.0.0/8, ::1 and IPv4-mapped loopback; zone ids ignored."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def _literal(host: str) -> tuple[str, ...]:
    """An IP address given as the host needs no lookup."""
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        return ()


def _refusal(host: str, shown: str) -> TargetRefused:
    """The plain-words refusal, with the setting that would allow it."""
    hint = " (0.0.0.0 is not an address to send to: use 127.0.0.1)" if host == "0.0.0.0" else ""
    return TargetRefused(
        f"Refused to send to {shown}: only this machine (localhost, 127.0.0.1, ::1) is allowed "
        f"by default, so a public inspector cannot reach the network behind it{hint}. "
        f"To allow it, set {ALLOW_SETTING}={host} (a comma list of hosts, or *).")


def target_parts(url: str) -> tuple[SplitResult, Optional[int]]:
    """The URL split, and its port, if it can be a target; InvalidTarget otherwise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidTarget(f"{url!r} is not a valid URL: {exc}.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidTarget(f"{url!r} is not an http:// or https:// URL with a host, "
                            "for example http://localhost:3000/webhooks.")
    return parts, port


def check_target(url: str, allow: Sequence[str] = (),
                 resolve: Optional[Resolver] = None) -> Target:
    """The target if the policy allows it; TargetRefused (or LookupFailed) otherwise."""
    parts, port = target_parts(url)
    host = parts.hostname.rstrip(".").lower()
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = _literal(host) or tuple((resolve or system_resolve)(host, port))
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise LookupFailed(f"could not resolve host {host!r} ({reason}) — check the spelling "
                           "of the URL.") from None
    if not addresses:
        raise LookupFailed(f"could not resolve host {host!r} — check the spelling of the URL.")
    allowed = {entry.strip().strip("[]").rstrip(".").lower() for entry in allow}
    if "*" not in allowed and host not in allowed:
        strangers = [a for a in addresses if not is_loopback(a)]
        if strangers:
            resolved = f" (it resolves to {', '.join(strangers)})" if strangers != [host] else ""
            raise _refusal(host, host + resolved)
    return Target(url=url, scheme=parts.scheme, host=host, port=port, addresses=addresses)
