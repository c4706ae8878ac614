"""(b) and (e) Live latency: from sending a POST to reading its event on the live stream.

A reader thread follows GET /api/endpoints/<token>/events and notes when each
event arrives (keyed by the webhook's own event id, so the POST's answer need
not come first); the sender notes the moment just before each POST.
"""
from __future__ import annotations

import json
import random
import socket
import threading
import time
from typing import Callable, Optional

import httpx

from common import SECRET, event_body, percentile, sign


class StreamReader:
    """Follows one endpoint's event stream over a plain socket; arrival times by event id.

    HTTP/1.0, so the server streams the body as it is (no chunking), and close()
    can shut the socket down under the reading thread at once.
    """

    def __init__(self, base_url: str, token: str):
        self.arrived: dict[str, float] = {}
        self.ready = threading.Event()
        host, port = base_url.split("//", 1)[1].split(":")
        self._sock = socket.create_connection((host, int(port)), timeout=15)
        self._sock.sendall(f"GET /api/endpoints/{token}/events HTTP/1.0\r\nHost: {host}:{port}\r\n"
                           "Accept: text/event-stream\r\n\r\n".encode())
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self.ready.wait(15):
            raise RuntimeError("the live stream did not open")

    def _run(self) -> None:
        try:
            self._sock.settimeout(None)
            lines = self._sock.makefile("rb")
            while lines.readline() not in (b"\r\n", b"\n", b""):
                pass  # status line and headers
            data = None
            for raw in lines:
                self.ready.set()
                line = raw.rstrip(b"\r\n").decode()
                if line.startswith("data: "):
                    data = line[6:]
                elif line == "" and data is not None:
                    event = (json.loads(data).get("event") or {}).get("id")
                    self.arrived.setdefault(event, time.monotonic())
                    data = None
        except (OSError, ValueError):
            pass  # closed by us, or the server went away at the end of the scenario

    def close(self) -> None:
        """Hang up, so the server's stream ends too."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join(5)


def send_events(post_url: str, token: str, events: int, spacing: float, rng: random.Random,
                on_send: Optional[Callable[[str], None]] = None) -> list[float]:
    """POST `events` signed webhooks, `spacing` apart on average; each one's answer time
    in ms. on_send(event id) runs just before each POST."""
    answered: list[float] = []
    with httpx.Client(timeout=30) as http:
        for n in range(events):
            body = event_body(rng, n)
            if on_send:
                on_send(json.loads(body)["id"])
            start = time.monotonic()
            http.post(f"{post_url}/hooks/{token}", content=body,
                      headers={"Content-Type": "application/json",
                               "X-Protocol-Signature": sign(body, SECRET)})
            answered.append(1000 * (time.monotonic() - start))
            time.sleep(spacing * (0.5 + rng.random()))
    return answered


def measure(stream_url: str, post_url: str, token: str, events: int, spacing: float,
            label: str) -> dict:
    """POST `events` signed webhooks to post_url, read them on stream_url's stream."""
    rng = random.Random(hash(label) & 0xFFFF)
    reader = StreamReader(stream_url, token)
    sent: dict[str, float] = {}
    try:
        time.sleep(0.3)  # let the stream settle before the first event
        answered = send_events(post_url, token, events, spacing, rng,
                               on_send=lambda event_id: sent.update({event_id: time.monotonic()}))
        deadline = time.monotonic() + 10
        while len(set(sent) & set(reader.arrived)) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        reader.close()
    latencies = [1000 * (reader.arrived[e] - t) for e, t in sent.items() if e in reader.arrived]
    return {"label": label, "events": len(sent), "received": len(latencies),
            "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95),
            "max_ms": max(latencies) if latencies else float("nan"),
            "post_p50_ms": percentile(answered, 50), "post_p95_ms": percentile(answered, 95)}


def answer_times(post_url: str, events: int, spacing: float, label: str) -> dict:
    """Only the POSTs' answer times: the baseline server has no stream to read."""
    answered = send_events(post_url, "baseline", events, spacing,
                           random.Random(hash(label) & 0xFFFF))
    return {"label": label, "events": len(answered), "p50_ms": percentile(answered, 50),
            "p95_ms": percentile(answered, 95)}


BROWSER_OBSERVER = """
() => {
  window.__seen = {};
  const note = (node) => {
    if (node.nodeType === 1 && node.matches && node.matches('li.req[data-id]')) {
      const id = node.dataset.id;
      // Seen once the frame that shows it is drawn.
      requestAnimationFrame(() => { if (!(id in window.__seen)) window.__seen[id] = Date.now(); });
    }
  };
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) {
      note(n);
      if (n.querySelectorAll) n.querySelectorAll('li.req[data-id]').forEach(note);
    }
  }).observe(document.body, {childList: true, subtree: true});
}
"""


def dashboard_present(base_url: str, token: str) -> bool:
    """Whether the endpoint page exists with a live list of rows."""
    try:
        page = httpx.get(f"{base_url}/endpoints/{token}", timeout=10)
    except httpx.HTTPError:
        return False
    return page.status_code == 200 and 'id="rows"' in page.text and "sse-connect" in page.text


def measure_browser(base_url: str, token: str, events: int, spacing: float,
                    chromium: str) -> Optional[dict]:
    """POST → row visible in real Chromium (Playwright driving Debian's chromium)."""
    from playwright.sync_api import sync_playwright

    rng = random.Random(7)
    sent: dict[str, float] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-background-timer-throttling", "--disable-renderer-backgrounding"])
        try:
            page = browser.new_page()
            page.goto(f"{base_url}/endpoints/{token}", wait_until="load")
            page.evaluate(BROWSER_OBSERVER)
            page.wait_for_timeout(1500)  # the event source connects after load
            with httpx.Client(timeout=30) as http:
                for n in range(events):
                    body = event_body(rng, 10_000 + n)
                    start = time.time() * 1000
                    answer = http.post(f"{base_url}/hooks/{token}", content=body,
                                       headers={"Content-Type": "application/json",
                                                "X-Protocol-Signature": sign(body, SECRET)})
                    sent[str(answer.json()["id"])] = start
                    time.sleep(spacing * (0.5 + rng.random()))
            deadline = time.monotonic() + 10
            seen: dict = {}
            while time.monotonic() < deadline:
                seen = page.evaluate("() => window.__seen")
                if all(k in seen for k in sent):
                    break
                page.wait_for_timeout(200)
        finally:
            browser.close()
    latencies = [seen[k] - t for k, t in sent.items() if k in seen]
    return {"label": "browser", "events": len(sent), "received": len(latencies),
            "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95),
            "max_ms": max(latencies) if latencies else float("nan")}

