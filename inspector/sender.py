"""Sending a built request with httpx and recording the attempt as a `Resend` row.

`deliver` needs no database (the `inspector forward` command uses it on a
laptop); `outgoing_for`, `refuse_own_capture` and `record` are the in-server
steps around it.
The connection goes to the addresses the target policy checked, with the
original Host header and TLS name, so a DNS answer that changes between the
check and the connect cannot redirect it.
"""
from __future__ import annotations

import errno
import functools
import ssl
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import httpx

import sqlalchemy as sa

from .resend import (LookupFailed, Outgoing, ResendError, Resolver, Target, TargetRefused, build,
                     capture_token, check_target)

READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Policy:
    """Where attempts may go and how long they may take."""

    allow: Sequence[str] = ()
    timeout: float = 30.0
    max_response_bytes: int = 256 * 1024
    resolve: Optional[Resolver] = None

    @classmethod
    def from_config(cls, config) -> "Policy":
        """From the app's config (or `settings.load()`)."""
        return cls(allow=tuple(config["FORWARD_ALLOW"]), timeout=config["FORWARD_TIMEOUT"],
                   max_response_bytes=config["FORWARD_MAX_RESPONSE_BYTES"])


@dataclass
class Attempt:
    """What happened when we sent: the answer, or an error in plain words."""

    url: str
    method: str
    status_code: Optional[int] = None
    error: Optional[str] = None
    duration_ms: float = 0.0
    response_headers: list = field(default_factory=list)
    response_body: bytes = b""
    truncated: bool = False


def _chain(exc: BaseException):
    """The exception and every cause or context behind it."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _seconds(value: float) -> str:
    """30 s, 0.3 s."""
    return f"{value:g} s"


def explain(exc: httpx.HTTPError, target: Target, timeout: float) -> str:
    """An httpx failure in plain words, naming host:port."""
    where = target.host_port
    causes = list(_chain(exc))
    if any(isinstance(c, ConnectionRefusedError) or getattr(c, "errno", None) == errno.ECONNREFUSED
           or "connection refused" in str(c).lower() for c in causes):
        return f"connection refused at {where} — is your app running?"
    if isinstance(exc, httpx.ConnectTimeout):
        return (f"could not connect to {where} within {_seconds(timeout)} "
                "(INSPECTOR_FORWARD_TIMEOUT)")
    if isinstance(exc, httpx.TimeoutException):
        return f"{where} did not answer within {_seconds(timeout)} (INSPECTOR_FORWARD_TIMEOUT)"
    tls = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
    if tls is not None or "ssl" in str(exc).lower():
        reason = getattr(tls, "reason", None) or str(tls or exc)
        if "WRONG_VERSION_NUMBER" in str(reason).upper():
            return f"TLS error at {where}: it does not speak TLS — use http:// instead of https://"
        if isinstance(tls, ssl.SSLCertVerificationError):
            reason = tls.verify_message or reason
        return f"TLS error at {where}: {reason} — check the certificate or use http://"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{where} closed the connection without a valid HTTP answer ({exc})"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect to {where}: {exc}"
    return f"sending to {where} failed: {exc}"


def _pinned_url(outgoing_url: str, address: str) -> httpx.URL:
    """The URL with its host replaced by the checked address."""
    return httpx.URL(outgoing_url).copy_with(host=address)


def _latin1(pairs: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Header bytes as they arrived (servers decode them as latin-1)."""
    def enc(text: str) -> bytes:
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            return text.encode("utf-8", "surrogateescape")
    return [(enc(n), enc(v)) for n, v in pairs]


def _read_capped(response: httpx.Response, attempt: Attempt, cap: int, deadline: float,
                 target: Target, timeout: float) -> None:
    """Keep at most `cap` bytes of the answer; past the deadline stop with an error."""
    chunks, size = [], 0
    for chunk in response.iter_bytes(READ_CHUNK):
        if size + len(chunk) > cap:
            chunks.append(chunk[:cap - size])
            attempt.truncated = True
            break
        chunks.append(chunk)
        size += len(chunk)
        if time.monotonic() > deadline:
            attempt.error = (f"{target.host_port} did not finish its answer within "
                             f"{_seconds(timeout)} (INSPECTOR_FORWARD_TIMEOUT)")
            break
    attempt.response_body = b"".join(chunks)


def _send(client: httpx.Client, outgoing: Outgoing, target: Target, attempt: Attempt,
          policy: Policy, started: float) -> None:
    """Try each checked address in turn until one connects."""
    last_error: Optional[httpx.HTTPError] = None
    for address in target.addresses:
        request = client.build_request(
            outgoing.method, _pinned_url(outgoing.url, address), content=outgoing.body,
            extensions={"sni_hostname": target.host} if target.scheme == "https" else None)
        request.headers = httpx.Headers(_latin1(outgoing.wire_headers(target.host_header)))
        try:
            response = client.send(request, stream=True)
        except httpx.ConnectError as exc:
            last_error = exc
            continue  # the app may listen on ::1 only, or on 127.0.0.1 only
        try:
            attempt.status_code = response.status_code
            attempt.response_headers = [[k.decode("latin-1"), v.decode("latin-1")]
                                        for k, v in response.headers.raw]
            _read_capped(response, attempt, policy.max_response_bytes,
                         started + policy.timeout, target, policy.timeout)
        finally:
            response.close()
        return
    if last_error is not None:
        raise last_error


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """The system's trust store (where mkcert puts local CAs), built once: it is slow to load."""
    return ssl.create_default_context()


def new_client(policy: Policy) -> httpx.Client:
    """A client for sending to targets: no proxies from the environment, no redirects."""
    return httpx.Client(trust_env=False, follow_redirects=False,
                        timeout=httpx.Timeout(policy.timeout), verify=_tls_context())


def deliver(outgoing: Outgoing, policy: Policy, client: Optional[httpx.Client] = None) -> Attempt:
    """Send once; TargetRefused when the policy forbids the target (nothing sent then).

    A long-running caller (an auto-forward drain) passes its own `client` to reuse it.
    """
    attempt = Attempt(url=outgoing.url, method=outgoing.method)
    try:
        target = check_target(outgoing.url, policy.allow, policy.resolve)
    except LookupFailed as exc:
        attempt.error = str(exc)
        return attempt
    started = time.monotonic()
    try:
        if client is not None:
            _send(client, outgoing, target, attempt, policy, started)
        else:
            with new_client(policy) as own:
                started = time.monotonic()  # the duration is the exchange with the target
                _send(own, outgoing, target, attempt, policy, started)
    except httpx.HTTPError as exc:
        attempt.error = explain(exc, target, policy.timeout)
    finally:
        attempt.duration_ms = round((time.monotonic() - started) * 1000, 1)
    return attempt


def refuse_own_capture(url: str) -> None:
    """Loop guard: a URL whose path names one of our endpoints' capture tokens is refused."""
    from .models import Endpoint, db

    token = capture_token(url)
    if token and db.session.scalar(sa.select(Endpoint.id).where(Endpoint.token == token)):
        raise TargetRefused("That is this inspector's own capture URL: sending there would "
                            "capture the request again and could loop forever.")


def outgoing_for(row, endpoint, url: str, *, new_body: Optional[bytes] = None,
                 resign: Optional[bool] = None, append_path: bool = False,
                 stale_signatures: Sequence[str] = ()) -> Outgoing:
    """The Outgoing request for a stored row (ResendError when it cannot be sent)."""
    if row.rejected:
        raise ResendError(f"The body of request {row.id} was not stored ({row.rejected}), "
                          "so it cannot be sent again.")
    return build(method=row.method, path=row.path, query=row.query, headers=row.headers,
                 body=row.body, target=url, append_path=append_path, new_body=new_body,
                 resign=resign, secret=(endpoint.secrets or [None])[0],
                 signature_header=endpoint.signature_header, stale_signatures=stale_signatures)


def record(request_id: int, outgoing: Optional[Outgoing], attempt: Attempt, trigger: str):
    """Add the attempt to the session as a Resend row (the caller commits)."""
    from .models import Resend, db

    row = Resend(
        request_id=request_id, url=attempt.url, method=attempt.method,
        body_sha256=outgoing.body_sha256 if outgoing else "",
        resigned=bool(outgoing and outgoing.resigned), edited=bool(outgoing and outgoing.edited),
        trigger=trigger, status_code=attempt.status_code, error=attempt.error,
        duration_ms=attempt.duration_ms, response_headers=attempt.response_headers,
        response_body=attempt.response_body, response_truncated=attempt.truncated)
    db.session.add(row)
    return row


def refused_attempt(url: str, method: str, reason: str) -> Attempt:
    """An attempt that never left: auto-forward and bulk replay still list why."""
    return Attempt(url=url, method=method, error=reason)
