"""`inspector forward`: relay every request of a running inspector to a local app.

It follows the endpoint's live stream (`GET /api/endpoints/<token>/events`),
fetches each request (`/api/requests/<id>`) and its raw body
(`/api/requests/<id>/body`), and sends them byte-exact to `--to` with the
same builder and sender as the dashboard's Resend. After each event the id is
written to a small state file, and every (re)connection sends it as
`Last-Event-ID`, so the inspector replays exactly what came after it: after a
dropped connection, an inspector restart or a laptop that slept, nothing is
skipped and nothing sent twice. An inspector that is not up yet at start-up is
waited for the same way; a refused password or an unknown endpoint ends the run.

When the local app cannot be reached (connection refused or reset, no answer
within INSPECTOR_FORWARD_TIMEOUT), the forwarder does not move on: it says so
once per backoff step and sends the same request again, every few seconds at
most, until the app answers. Any HTTP answer, 4xx and 5xx included, counts as
delivered; only then is the id written down. (An app that got the request but
did not answer in time gets it again.) A request that can never be sent (the
target refused by policy, a body that was not stored) is reported and skipped.

Ctrl-C lets the request in flight finish and be written down first (a second
Ctrl-C quits at once); during the wait for the app it stops at once, and the
request waited on is sent again by the next run.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional
from urllib.parse import urlsplit

import httpx

from .resend import (Outgoing, ResendError, TargetRefused, build, capture_token,
                     check_target)
from .sender import Attempt, Policy, deliver

_SOURCE_PATH = re.compile(
    r"^(?P<prefix>.*?)/(?:hooks|endpoints)/(?P<token>[A-Za-z0-9_-]{16,64})(?:/|$)")
BACKOFF = (0.25, 0.5, 1.0, 1.0, 2.0, 2.0, 5.0, 10.0)
APP_BACKOFF = (0.25, 0.5, 1.0, 2.0)  # waits for an unreachable app; the last one repeats
READ_TIMEOUT = 60.0  # the stream sends a keep-alive every 15 s by default


class ForwardError(Exception):
    """A problem the user has to fix (wrong URL, refused target, password needed)."""


@dataclass(frozen=True)
class Source:
    """The inspector and endpoint to follow."""

    base: str
    token: str

    @property
    def capture_url(self) -> str:
        """The endpoint's capture URL."""
        return f"{self.base}/hooks/{self.token}"

    def api(self, path: str) -> str:
        """An API URL of this inspector."""
        return f"{self.base}/api{path}"


def parse_source(url: str) -> Source:
    """Base URL and token from a capture URL (`/hooks/<token>…`) or a dashboard URL."""
    parts = urlsplit(url.strip())
    found = _SOURCE_PATH.match(parts.path)
    if parts.scheme not in ("http", "https") or not parts.netloc or not found:
        raise ForwardError(f"{url!r} is neither a capture URL (…/hooks/<token>) nor a dashboard "
                           "URL (…/endpoints/<token>) of an inspector.")
    base = f"{parts.scheme}://{parts.netloc}{found.group('prefix')}".rstrip("/")
    return Source(base, found.group("token"))


def default_state_file(data_dir: str, source: Source) -> Path:
    """One state file per inspector URL and token, in the data folder."""
    key = hashlib.sha256(f"{source.base}/{source.token}".encode()).hexdigest()[:20]
    return Path(data_dir).expanduser() / "forward-state" / f"{key}.json"


class StateFile:
    """The id of the last request relayed, written atomically after each one."""

    def __init__(self, path: Path, source: Source):
        self.path, self.source = path, source

    def load(self) -> Optional[int]:
        """The remembered id, or None on a first run."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            raise ForwardError(f"{self.path} is not a forward state file; delete it to start "
                               "from new requests.") from None
        if data.get("inspector") != self.source.base or data.get("token") != self.source.token:
            raise ForwardError(f"{self.path} belongs to another inspector or endpoint.")
        return int(data["last_id"])

    def save(self, last_id: int) -> None:
        """Write the id so a restart resumes after it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"inspector": self.source.base, "token": self.source.token,
                                   "last_id": last_id}))
        os.replace(tmp, self.path)


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[Optional[str], str]]:
    """(id, data) of each server-sent event with data; comments and bare retries skipped."""
    event_id, data = None, []
    for line in lines:
        if line == "":
            if data:
                yield event_id, "\n".join(data)
            event_id, data = None, []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "id":
                event_id = value
            elif field == "data":
                data.append(value)


def describe(summary: dict) -> str:
    """`message.updated a056…`, or `POST /sub/path` when the body is no event."""
    event = summary.get("event") or {}
    if event.get("type"):
        short = (event.get("id") or "")[:4]
        return f"{event['type']} {short}…" if short else event["type"]
    return f"{summary.get('method', '?')} {summary.get('path', '/')}"


def answer_line(attempt: Attempt) -> str:
    """`200 POST http://localhost:3000/webhooks 12 ms`, or the error in plain words."""
    if attempt.error and attempt.status_code is None:
        return f"!! {attempt.error}"
    line = f"{attempt.status_code} {attempt.method} {attempt.url} {attempt.duration_ms:.0f} ms"
    return f"{line} ({attempt.error})" if attempt.error else line


class Interrupts:
    """Ctrl-C (or SIGTERM) while a request is in flight waits for it to be written down."""

    def __init__(self, echo: Callable[[str], None]):
        self.echo, self.busy, self.pending = echo, False, False

    def _handler(self, signum, frame):
        if self.busy and not self.pending:
            self.pending = True
            self.echo("Stopping after the request in flight (Ctrl-C again to quit now).")
            return
        raise KeyboardInterrupt

    @contextmanager
    def installed(self):
        """Install the handlers for the duration of the command."""
        old = {s: signal.signal(s, self._handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)

    def pause(self, seconds: float) -> None:
        """Wait inside a critical section; Ctrl-C ends the wait at once (nothing is half done).

        Not busy while waiting, so the handler raises KeyboardInterrupt and cuts the sleep
        short; a Ctrl-C that came during the send before it stops here too.
        """
        busy, self.busy = self.busy, False
        try:
            if self.pending:
                raise KeyboardInterrupt
            time.sleep(seconds)
        finally:
            self.busy = busy

    @contextmanager
    def critical(self):
        """A section that must finish (relay + state write)."""
        self.busy = True
        try:
            yield
        finally:
            self.busy = False
        if self.pending:
            raise KeyboardInterrupt


def unreachable(attempt: Attempt) -> bool:
    """The app could not be reached or did not answer (no status): worth sending again."""
    return attempt.status_code is None and attempt.error is not None


class Forwarder:
    """Follows one endpoint and relays each request to `to`."""

    app_backoff = APP_BACKOFF

    def __init__(self, source: Source, to: str, policy: Policy, state: StateFile,
                 echo: Callable[[str], None], password: str = "", append_path: bool = True):
        self.source, self.to, self.policy, self.state = source, to, policy, state
        self.echo, self.append_path = echo, append_path
        self.password_given = bool(password)
        # UTF-8 bytes: the inspector compares the raw bytes, and httpx sends str as ASCII only
        headers = {"Authorization": b"Bearer " + password.encode()} if password else {}
        self.client = httpx.Client(headers=headers, timeout=httpx.Timeout(10.0, read=READ_TIMEOUT))
        self.interrupts = Interrupts(echo)
        self.last_id: Optional[int] = None

    def check(self) -> None:
        """Refuse a target the policy forbids, or the followed capture URL itself."""
        if capture_token(self.to) == self.source.token:
            raise ForwardError("--to is the capture URL being followed: every relayed request "
                               "would be captured and relayed again, forever.")
        try:
            check_target(self.to, self.policy.allow, self.policy.resolve)
        except ResendError as exc:  # refused, or a host name that does not resolve
            raise ForwardError(str(exc)) from None

    def _get(self, url: str, gone_ok: bool = False, **kw) -> Optional[httpx.Response]:
        """A GET to the inspector; fatal answers become ForwardError (a gone request: None)."""
        response = self.client.get(url, **kw)
        if gone_ok and response.status_code == 404:
            return None
        if response.status_code in (401, 403, 404):
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text[:200]
            if response.status_code == 401:
                raise ForwardError(self._password_problem(url))
            raise ForwardError(f"{url}: {response.status_code} {message}")
        response.raise_for_status()
        return response

    def _password_problem(self, url: str) -> str:
        """A 401: the password given was wrong, or one is needed."""
        if self.password_given:
            return (f"{url}: 401: the inspector refused the password; check --password "
                    "(or INSPECTOR_PASSWORD) against the inspector's INSPECTOR_PASSWORD.")
        return (f"{url}: 401: the inspector needs a password; give its INSPECTOR_PASSWORD "
                "as --password (or set INSPECTOR_PASSWORD).")

    def start_position(self) -> int:
        """The remembered id, or on a first run the newest request now (new ones only)."""
        remembered = self.state.load()
        if remembered is not None:
            return remembered
        page = self._get(self.source.api(f"/endpoints/{self.source.token}/requests"),
                         params={"limit": 1}).json()
        newest = page["requests"][0]["id"] if page["requests"] else 0
        self.state.save(newest)
        return newest

    def relay(self, request_id: int, summary: dict) -> None:
        """Send one request to the local app, print both lines, remember it once it is done."""
        self.echo(f"--> {describe(summary)}")
        self.echo(f"<-- {self._outcome(request_id, summary)}")
        self.state.save(request_id)
        self.last_id = request_id

    def _outcome(self, request_id: int, summary: dict) -> str:
        """The answer line once the app answered, or why this request cannot be sent."""
        if summary.get("rejected"):
            return (f"skipped: request {request_id} was {summary['rejected']}, its body "
                    "was not stored")
        detail = self._get(self.source.api(f"/requests/{request_id}"), gone_ok=True)
        body = self._get(self.source.api(f"/requests/{request_id}/body"), gone_ok=True)
        if detail is None or body is None:
            return f"skipped: request {request_id} was deleted on the inspector"
        detail, body = detail.json(), body.content
        if hashlib.sha256(body).hexdigest() != detail["body_sha256"]:
            raise httpx.TransportError(f"the body of request {request_id} arrived damaged")
        try:
            outgoing = build(method=detail["method"], path=detail["path"], query=detail["query"],
                             headers=detail["headers"], body=body, target=self.to,
                             append_path=self.append_path)
        except ResendError as exc:  # this request can never be sent: report it, move on
            return answer_line(Attempt(url=self.to, method=detail["method"], error=str(exc)))
        return answer_line(self._deliver(outgoing))

    def _deliver(self, outgoing: Outgoing) -> Attempt:
        """Send until the app answers (any status), waiting with backoff while it is down.

        The request was fetched once, so the wait does not depend on the inspector's stream.
        """
        failures, said = 0, None
        while True:
            try:
                attempt = deliver(outgoing, self.policy)
            except TargetRefused as exc:  # a user error, not a transient one: do not retry
                return Attempt(url=outgoing.url, method=outgoing.method, error=str(exc))
            if not unreachable(attempt):
                return attempt
            delay = self.app_backoff[min(failures, len(self.app_backoff) - 1)]
            if failures < len(self.app_backoff) or attempt.error != said:
                self.echo(f"<-- {answer_line(attempt)} (retrying in {delay:g} s; "
                          "Ctrl-C to stop)")  # at the longest wait only new errors print
            failures, said = failures + 1, attempt.error
            self.interrupts.pause(delay)

    def follow(self) -> None:
        """One connection to the stream, relaying until it ends."""
        headers = {"Accept": "text/event-stream", "Last-Event-ID": str(self.last_id)}
        url = self.source.api(f"/endpoints/{self.source.token}/events")
        with self.client.stream("GET", url, headers=headers) as response:
            if response.status_code != 200:
                response.read()
                self._get(url, headers=headers)  # raises with the message
            self.connected()
            for event_id, data in parse_sse(response.iter_lines()):
                if event_id is None or not event_id.isdigit():
                    continue
                request_id = int(event_id)
                if request_id == self.last_id:
                    continue
                with self.interrupts.critical():
                    self.relay(request_id, json.loads(data))

    def connected(self) -> None:
        """Reset the backoff once the stream answers."""
        self._failures = 0

    def start(self) -> None:
        """Find where to begin (on a first run this asks the inspector) and say so."""
        self.last_id = self.start_position()
        self.echo(f"Forwarding {self.source.capture_url} -> {self.to} "
                  f"(after request {self.last_id}). Ctrl-C to stop.")

    def run(self) -> None:
        """Follow forever, reconnecting with backoff; returns on Ctrl-C.

        An inspector that cannot be reached at start-up is waited for like a dropped one;
        a refused password or an unknown endpoint (ForwardError) ends the run.
        """
        self._failures = 0
        with self.interrupts.installed():
            try:
                while True:
                    try:
                        if self.last_id is None:
                            self.start()
                        self.follow()
                        reason = "the inspector closed the stream"
                    except (httpx.HTTPError, ValueError, KeyError) as exc:
                        reason = str(exc) or type(exc).__name__
                    delay = BACKOFF[min(self._failures, len(BACKOFF) - 1)]
                    self._failures += 1
                    self.echo(self._retry_line(reason, delay))
                    time.sleep(delay)
            except KeyboardInterrupt:
                self.echo("Stopped before reaching the inspector; nothing was relayed."
                          if self.last_id is None else
                          f"Stopped. Last relayed request: {self.last_id}; the next run "
                          "resumes after it.")
            finally:
                self.client.close()

    def _retry_line(self, reason: str, delay: float) -> str:
        """One line per attempt: not reached yet, or the connection was lost."""
        if self.last_id is None:
            return (f"Cannot reach the inspector at {self.source.base} ({reason}); "
                    f"retrying in {delay:g} s. Ctrl-C to stop.")
        return (f"Connection lost ({reason}); reconnecting in {delay:g} s "
                f"from request {self.last_id}.")

