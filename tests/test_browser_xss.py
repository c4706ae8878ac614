"""A corpus of XSS payloads through every view of the dashboard, in Debian's Chromium.

Payloads go where a webhook sender, a resend target or a careless user can put text:
JSON keys and values, raw text/HTML/form bodies, header names and values, sub-paths,
query strings, event types and ids, object ids, endpoint names, forward URLs, and the
status line, headers and body of a resend target's answer. Every payload that runs calls
`__xss(N)` (an exposed binding), opens a dialog, sets a global or the title, or fetches
a `/__xss/N` URL; each of those is watched, and none may happen.

The first tour runs with the Content-Security-Policy *bypassed*, so escaping alone has to
hold; it also proves escaping positively, by reading back as text exactly what the API
says was stored. The second tour runs under the real CSP and requires that it never had
to block anything.
"""
from __future__ import annotations

import html
import json
import re
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from playwright.sync_api import expect

from inspector.render import header_text, hex_dump, pretty_json, reveal_invisible

pytestmark = [pytest.mark.browser, pytest.mark.server]

SECRET = "whsec_xss_corpus_secret_0001"

# `{n}` becomes the payload's number, so a hit says which one ran.
VECTORS = [
    "<script>__xss({n})</script>",
    "<img src=x onerror=__xss({n})>",
    "<svg onload=__xss({n})>",
    "<svg><script>__xss({n})</script></svg>",
    '"><img src=x onerror=__xss({n})>',
    "'><img src=x onerror=__xss({n})>",
    '" autofocus onfocus="__xss({n})" x="',
    "' autofocus onfocus='__xss({n})' x='",
    "javascript:__xss({n})",
    '<a href="javascript:__xss({n})">click</a>',
    "${__xss({n})}`;__xss({n});`",
    "{{7*7}}{{constructor.constructor('__xss({n})')()}}{% raw %}",
    "</textarea><img src=x onerror=__xss({n})>",
    "</title><img src=x onerror=__xss({n})>",
    "</script><script>__xss({n})</script>",
    "<div hx-get=/api/endpoints hx-trigger=load hx-target=body>",
    '<div hx-get="/__xss/{n}" hx-trigger="load" hx-swap="outerHTML">',
    '<div data-hx-get="/__xss/{n}" data-hx-trigger="load">',
    '<div hx-ext="sse" sse-connect="/__xss/{n}" sse-swap="request">',
    '<div hx-on:htmx:load="__xss({n})" hx-get="/" hx-trigger="load">',
    '<meta http-equiv="refresh" content="0;url=/__xss/{n}">',
    "<style>body{background:url(/__xss/{n})}</style>",
    "<link rel=stylesheet href=/__xss/{n}>",
    '<base href="/__xss/{n}/">',
    "<img src=/__xss/{n}>",
    "<math><mtext><table><mglyph><style><img src=x onerror=__xss({n})>",
    "<svg><style><img src=x onerror=__xss({n})></style></svg>",
    '<noscript><p title="</noscript><img src=x onerror=__xss({n})>">',
    '<!--<img src="--><img src=x onerror=__xss({n})//">',
    "<svg><![CDATA[><img src=x onerror=__xss({n})>]]></svg>",
    '<iframe srcdoc="<script>parent.__xss({n})</script>"></iframe>',
    '<object data="javascript:__xss({n})"></object>',
    '<embed src="javascript:__xss({n})">',
    "<details open ontoggle=__xss({n})>",
    "<body onload=__xss({n})>",
    "<svg><animate onbegin=__xss({n}) attributeName=x dur=1s>",
    "<video><source onerror=__xss({n})></video>",
    '<svg><a xlink:href="javascript:__xss({n})"><text x=9 y=9>x</text></a></svg>',
    '<form action="javascript:__xss({n})"><button>go</button></form>',
    "<input autofocus onfocus=__xss({n})>",
    "<xss id=x tabindex=1 onfocus=__xss({n})></xss>",
    "<img src=x onerror=alert({n})>",
    "<img src=x onerror=\"window.__owned={n}\">",
    "<img src=x onerror=\"document.title='owned {n}'\">",
    "&lt;img src=x onerror=__xss({n})&gt;",
    "%3Cimg%20src%3Dx%20onerror%3D__xss({n})%3E",
    "<img src=x onerror=&#95;&#95;xss({n})>",
    "\uff1cscript\uff1e__xss({n})\uff1c/script\uff1e",
    "<scr\u0000ipt>__xss({n})</scr\u0000ipt>",
    "<img src=x onerror=__xss({n})\u2028\u2029\u0085>",
    "\n\ndata: <img src=x onerror=__xss({n})>\n\n",
    "\r\revent: request\rid: 99999\rdata: <img src=x onerror=__xss({n})>\r\r",
]
P = [vector.replace("{n}", str(number)) for number, vector in enumerate(VECTORS, 1)]
assert len(set(P)) == len(P) >= 30

# Where what the page does is watched (init script of every tour's context).
WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || ""));
}, true);
"""

# Anything here that came from data is an injection: the dashboard's own markup has no
# inline handler, no image, no SVG, no style element, no javascript: URL, nothing htmx
# loads by itself, and its only scripts and links are ours.
DOM_SCAN = r"""
() => {
  const problems = [];
  const banned = new Set(["img", "svg", "math", "iframe", "object", "embed", "style", "base",
    "marquee", "video", "audio", "source", "xss", "template", "frame", "frameset", "applet",
    "animate", "mglyph", "mtext"]);
  const say = (what, el) => problems.push(what + ": " + el.outerHTML.slice(0, 120));
  for (const el of document.querySelectorAll("*")) {
    const name = el.localName;
    if (banned.has(name) || el.namespaceURI !== "http://www.w3.org/1999/xhtml") say("element", el);
    if (name === "script") {
      const src = el.getAttribute("src") || "";
      if (!src.startsWith("/static/") || el.textContent.trim()) say("script", el);
    }
    if (name === "meta" && (el.hasAttribute("http-equiv") || el.parentElement !== document.head)) {
      say("meta", el);
    }
    if (name === "link" && (el.parentElement !== document.head ||
        !["data:,", "/static/app.css"].includes(el.getAttribute("href")))) say("link", el);
    if (name === "body" && el !== document.body) say("body", el);
    for (const attr of el.attributes) {
      const n = attr.name.toLowerCase(), v = attr.value;
      if (n.startsWith("on")) say("handler " + n, el);
      if (["autofocus", "srcdoc", "http-equiv", "xlink:href", "formaction"].includes(n)) {
        say("attribute " + n, el);
      }
      if (/^\s*javascript:/i.test(v)) say("javascript: URL in " + n, el);
      const loads = n.endsWith("trigger") && /\bload\b/.test(v);
      if (/^(data-)?(hx-|sse-)/.test(n) && (/__xss|\/api\//.test(v) || loads)) say("htmx " + n, el);
    }
  }
  const titles = document.querySelectorAll("title").length;
  if (titles !== 1) problems.push("titles: " + titles);
  if (String(document.title).startsWith("owned")) problems.push("title set: " + document.title);
  if (window.__owned !== undefined) problems.push("global set: " + window.__owned);
  for (const v of window.__cspViolations || []) problems.push("CSP violation: " + v);
  return problems;
}
"""


def norm(text: str | None, pre: bool = False) -> str:
    """Text as the HTML parser leaves it: CR and CRLF read as LF, NUL dropped, and the
    newline right after a <pre> or <textarea> start tag eaten."""
    text = re.sub(r"\r\n|\r", "\n", text or "").replace("\x00", "")
    return text[1:] if pre and text.startswith("\n") else text


def revealed(text: str | None) -> str:
    """Captured text as the page shows it: bidi, invisible and control characters as
    their U+XXXX labels (render.reveal_invisible, whose own tests check the labels)."""
    return html.unescape(re.sub(r"<[^>]*>", "", str(reveal_invisible(text or ""))))


def shown(text: str | None, pre: bool = False) -> str:
    """What the browser's text of a view of captured data must be."""
    return norm(revealed(text), pre)


def title_text(text: str) -> str:
    """document.title: ASCII whitespace collapsed and trimmed."""
    return re.sub(r"[\t\n\f\r ]+", " ", norm(text)).strip("\t\n\f\r ")


# ---- the hostile resend target ------------------------------------------------------------

def answer(status: str, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    """A raw HTTP/1.1 answer (anything may be in it: it is the attacker's)."""
    head = b"HTTP/1.1 " + status.encode() + b"\r\n"
    head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return head + b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body


def header_value(text: str) -> bytes:
    """A payload as a header value: UTF-8 bytes, line breaks and NULs made spaces."""
    return re.sub(r"[\r\n\x00]", " ", text).encode()


def json_answer(version: int) -> bytes:
    """A hostile JSON answer; each version changes every value."""
    body = {p: P[(i + version) % len(P)] for i, p in enumerate(P)}
    body["version"] = f"v{version} {P[4]}"
    return json.dumps(body).encode()


ANSWERS = {
    "first": answer("200 OK <img src=x onerror=__xss(901)>",
                    [(b"Content-Type", b"application/json"),
                     (b"X-`'|~!#$%&*+.^_-evil", header_value(P[0])),
                     *((f"X-Evil-{i}".encode(), header_value(p)) for i, p in enumerate(P))],
                    json_answer(1)),
    "second": answer("201 <svg onload=__xss(902)>", [(b"Content-Type", b"application/json"),
                                                      (b"X-Evil", header_value(P[5]))],
                     json_answer(2)),
    "text": answer("200 OK", [(b"Content-Type", b"text/html"), (b"X-Evil", header_value(P[1]))],
                   "\n".join(P).encode()),
    "broken": b"HTTP/1.1 200 OK\r\nX-<img src=x onerror=__xss(903)>: 1\r\n\r\n"
              + P[2].encode(),
}


class HostileTarget:
    """A local app whose answers are the attacker's: status line, headers and body."""

    def __init__(self):
        self.mode = "first"
        self.count = 0
        target = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                rest = len(head.split(b"\r\n\r\n", 1)[1])
                while length and rest < int(length.group(1)):
                    chunk = self.request.recv(65536)
                    if not chunk:
                        break
                    rest += len(chunk)
                target.count += 1
                self.wfile.write(ANSWERS[target.mode])

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---- putting the payloads in ---------------------------------------------------------------

def raw_request(port: int, target: str, headers: list[tuple[bytes, bytes]], body: bytes = b"",
                method: str = "POST") -> int:
    """A request written byte by byte (httpx would percent-encode the path and query)."""
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
    head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200"), data[:300]
    return int(re.search(rb"(?i)x-inspector-request-id: (\d+)", data).group(1))


def unicode_escaped(text: str) -> str:
    """JSON text with every < > & written as a \\u escape (the same values once decoded)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


RESOURCE = P[2]  # "<svg onload=__xss(3)>": the resource type, from the event type
OBJECT = P[1]    # "<img src=x onerror=__xss(2)>": payload.id


def envelope(event_id: str, action: str, shift: int) -> dict:
    """An event about OBJECT whose payload has every payload as a key and as a value."""
    payload = {"id": OBJECT, **{p: P[(i + shift) % len(P)] for i, p in enumerate(P)}, "all": P}
    return {"id": event_id, "type": f"{RESOURCE}.{action}", "payload": payload}


SSE_TYPE = "x\n\ndata: <img src=x onerror=__xss(904)>\n\n\r\revent: request\rid: 99999\r<b>"
SSE_ID = "\r\rid: 99999\rdata: <svg onload=__xss(905)>\r\r"
SSE_OBJECT = "\n\nevent: request\ndata: <img src=x onerror=__xss(906)>\n\n"


@dataclass
class Corpus:
    """What was stored, for the checks: request ids before and after the page opened."""

    server: object
    token: str
    name: str
    forward_url: str
    names: list[str]
    loaded: list[int] = field(default_factory=list)
    live: list[int] = field(default_factory=list)
    earlier: int = 0  # two events about OBJECT: the second's detail diffs them
    later: int = 0
    stored: dict[int, dict] = field(default_factory=dict)

    def api(self, path: str) -> dict:
        """A JSON answer of the server's API."""
        response = httpx.get(self.server.url + path, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def request(self, request_id: int) -> dict:
        """GET /api/requests/<id> with the body's bytes, once (only its resends change)."""
        if request_id not in self.stored:
            data = self.api(f"/api/requests/{request_id}")
            data["bytes"] = httpx.get(f"{self.server.url}/api/requests/{request_id}/body").content
            self.stored[request_id] = data
        return self.stored[request_id]


def capture(corpus: Corpus, body: bytes, content_type: str, headers: dict | None = None) -> int:
    """A request to the capture URL through httpx."""
    response = httpx.post(f"{corpus.server.url}/hooks/{corpus.token}", content=body,
                          headers={"Content-Type": content_type, **(headers or {})})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def send_before_load(corpus: Corpus) -> None:
    """Requests listed when the endpoint page loads."""
    port, token = corpus.server.port, corpus.token
    ids = corpus.loaded
    created = capture(corpus, json.dumps(envelope(P[0], "created", 1)).encode(), "application/json")
    ids.append(created)
    # Text bodies (a NUL would make the differ call them binary): their diff is line by line.
    text = [p for p in P if "\x00" not in p]
    ids.append(capture(corpus, "\n".join(["plain text"] + text).encode(), "text/plain"))
    ids.append(capture(corpus, ("<!doctype html><title>x</title>\n" + "\n".join(text[::-1])).encode(),
                       "text/html"))
    ids.append(capture(corpus, b"\xff\xfe" + "\n".join(P).encode(), "application/octet-stream"))
    values = [(f"X-Evil-{i}".encode(), header_value(p)) for i, p in enumerate(P)]
    ids.append(raw_request(port, f"/hooks/{token}", [
        (b"Content-Type", b"application/json"), (b"X-Protocol-Signature", header_value(P[4])),
        (b"X-`'|~!#$%&*+.^_-evil", header_value(P[0])), *values], b'{"id": 1}'))
    ids.append(raw_request(port, f"/hooks/{token}", [  # no configured header: a hint names this one
        (b"X-'`|~!#$%&*+.^_'-signature", header_value(P[5])), *values[:10]], b"{}"))
    ids.append(hostile_request_line(port, token, 0))
    corpus.earlier = created


def encoded_pairs(budget: int, start: int) -> str:
    """As many payloads as fit in `budget` characters, percent-encoded as query pairs
    (gunicorn takes request lines of up to 4094 bytes)."""
    pieces: list[str] = []
    for p in P[start:] + P[:start]:
        piece = urlencode([(p, p)])
        if sum(len(x) + 1 for x in pieces) + len(piece) > budget:
            break
        pieces.append(piece)
    return "&".join(pieces)


def hostile_request_line(port: int, token: str, offset: int) -> int:
    """Payloads in the raw sub-path and query, and percent-encoded ones the detail decodes."""
    path = "/" + "/".join(p.replace(" ", "/") for p in (P[1 + offset], P[4], P[12], P[13])
                          if not re.search(r"[\s?#]", p.replace(" ", "/")))
    raw_query = "q=" + P[4 + offset].replace(" ", "+") + "&'a'=<b>&" + P[11].replace(" ", "+")
    query = raw_query + "&" + encoded_pairs(3900 - len(token) - len(path) - len(raw_query), 20 * offset)
    return raw_request(port, f"/hooks/{token}{path}?{query}", [(b"Content-Type", b"text/plain")],
                       b"sub-path and query")


def send_live(corpus: Corpus) -> None:
    """Requests that arrive over the live stream while the endpoint page is open."""
    port, token = corpus.server.port, corpus.token
    ids = corpus.live
    updated = capture(corpus, unicode_escaped(json.dumps(envelope(P[6], "updated", 3))).encode(),
                      "application/json")
    ids.append(updated)
    corpus.later = updated
    ids.append(capture(corpus, urlencode([(p, p) for p in P]).encode(),
                       "application/x-www-form-urlencoded"))
    ids.append(capture(corpus, "&".join(f"{p}={p}" for p in P).encode(),
                       "application/x-www-form-urlencoded"))
    ids.append(capture(corpus, json.dumps({"id": SSE_ID, "type": SSE_TYPE,
                                           "payload": {"id": SSE_OBJECT}}).encode(), "application/json"))
    ids.append(capture(corpus, unicode_escaped(json.dumps(
        {"id": P[13], "type": P[15], "payload": {"id": P[27], "text": P[30]}})).encode(), "application/json"))
    ids.append(hostile_request_line(port, token, 1))


def setup_corpus(server, target: HostileTarget) -> Corpus:
    """Hostile endpoints (one per payload, for the home page) and the main one."""
    names = []
    for name in (p.strip() for p in P):
        response = httpx.post(server.url + "/api/endpoints", json={"name": name})
        if "\x00" in name:  # no store keeps a NUL in text: refused, and said so
            assert response.status_code == 400 and "NUL" in response.json()["error"]
            continue
        assert response.status_code == 201
        names.append(name)
    main_name = "</title><img src=x onerror=__xss(907)>'\"{{7*7}} ${__xss(908)}"
    forward_url = (f"http://127.0.0.1:{target.port}/in?a=\"><img src=x onerror=__xss(909)>"
                   f"&b='><svg onload=__xss(910)>&c=</textarea>{{{{7*7}}}}")
    response = httpx.post(server.url + "/api/endpoints", json={
        "name": main_name, "secret": SECRET, "forward_url": forward_url})
    assert response.status_code == 201, response.text
    return Corpus(server, response.json()["token"], main_name, forward_url, names + [main_name])


# ---- driving the dashboard -------------------------------------------------------------------

@dataclass
class Watch:
    """Everything that would show a payload ran, for one browser context."""

    calls: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def attach(self, context, page):
        context.expose_binding("__xss", lambda source, *args: self.calls.append((args, source["page"].url)))
        context.add_init_script(WATCH)
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        context.on("request", lambda request: self.requests.append(request.url)
                   if "__xss" in request.url or "/api/" in request.url else None)
        page.on("response", lambda response: self.errors.append(f"{response.status} {response.url}")
                if response.status >= 500 else None)
        page.on("pageerror", lambda exc: self.errors.append(f"JavaScript error: {exc}"))

    def nothing_happened(self, page, where: str) -> None:
        """No payload ran, none left an element behind, the CSP never had to step in."""
        self.no_hits(where)
        try:
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            problems = page.evaluate(DOM_SCAN)
        except Exception as exc:  # a payload navigated away (meta refresh, base, form)
            self.no_hits(where)
            raise AssertionError(f"{where}: the page went away: {exc}") from None
        assert problems == [], f"{where}: {problems}"
        self.no_hits(where)

    def no_hits(self, where: str) -> None:
        """No binding call, dialog, payload URL fetched, server error or script error."""
        assert (self.calls, self.dialogs, self.requests, self.errors) == ([], [], [], []), where


def go(page, url: str) -> None:
    """Open a page; it must answer 200."""
    response = page.goto(url)
    assert response.status == 200, f"{url}: {response.status}"


def texts(locator) -> list[str]:
    return locator.evaluate_all("els => els.map(el => el.textContent)")


def table(locator) -> list[list[str]]:
    return locator.evaluate_all(
        "rows => rows.map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent])")


def section(page, detail, heading: str):
    """The detail's panel with this heading."""
    return detail.locator("section.panel", has=page.locator("h3", has_text=re.compile(heading)))


def check_row(page, corpus: Corpus, request_id: int) -> None:
    """The list row shows the stored fields as text."""
    data = corpus.request(request_id)
    row = page.locator(f"#req-{request_id}")
    expect(row).to_have_count(1)
    event = data["event"] or {}
    assert norm(row.locator(".req-path").text_content()) == shown(
        data["path"] + (f"?{data['query']}" if data["query"] else ""))
    assert row.locator(".req-event").text_content() == shown(event.get("type") or "no event")
    assert row.locator(".req-object").text_content() == shown(event.get("resource_id") or "")


def check_detail(page, corpus: Corpus, request_id: int) -> None:
    """Every view of the detail shows the stored data as text, byte for byte."""
    data = corpus.request(request_id)
    detail = page.locator(f"#detail-{request_id}")
    expect(detail).to_be_visible()
    body = data["bytes"]
    panel = detail.locator(".body-panel")
    if data["body_text"] is not None:
        assert panel.locator("pre.raw").text_content() == shown(data["body_text"], pre=True)
        pretty = pretty_json(data["body_text"])
        if pretty is not None:
            assert panel.locator("pre.highlight").text_content().rstrip("\n") == shown(pretty, pre=True)
    assert panel.locator("pre.hex").text_content() == norm(hex_dump(body), pre=True)
    header_rows = section(page, detail, r"^Headers \(in arrival order\)$").locator("tr")
    # values are shown as their sender meant them (UTF-8 where the latin-1 text decodes)
    assert table(header_rows) == [[shown(n), shown(header_text(v))] for n, v in data["headers"]]
    if data["query"]:
        query = section(page, detail, r"^Query$")
        assert query.locator("pre").text_content() == shown("?" + data["query"], pre=True)
        assert table(query.locator("tr")) == [[shown(n), shown(v)] for n, v in
                                              parse_qsl(data["query"], keep_blank_values=True)]
    event = data["event"]
    if event:
        codes = texts(detail.locator(".event-panel dd > code"))[:3]
        assert codes == [shown(event["type"] or "—"), shown(event["resource_id"] or ""),
                         shown(event["id"] or "—")]
    header = data["signature"].get("header")
    if header:
        sent = [v for n, v in data["headers"] if n.lower() == header.lower()]
        assert texts(detail.locator("code.sig-value")) == [shown(v) for v in sent]
    hints = [hint["message"] for hint in data["signature"].get("hints", [])]
    assert texts(detail.locator(".hint")) == [shown(h) for h in hints]
    assert detail.locator(".detail-path").text_content() == shown(
        data["path"] + (f"?{data['query']}" if data["query"] else ""))


def check_diff(page, corpus: Corpus, api: str) -> None:
    """The diff page lists exactly the changes and lines of its JSON twin, as text."""
    data = corpus.api(api)
    paths = texts(page.locator(".diff-changes-panel code.diff-path"))
    assert paths == [shown(c["path"]) or "(whole body)" for c in data["changes"]][:2000]
    rows = page.locator("tr.sxs-row").evaluate_all(
        "rows => rows.map(r => [r.children[1].textContent, r.children[3].textContent])")
    wanted = [[shown(r["left_text"] or ""), shown(r["right_text"] or "")] for r in data["rows"]]
    assert all(row in wanted for row in rows) and (len(rows) > 0 or data["kind"] == "binary")
    if data["unified"]:
        assert page.locator("pre.unified").text_content() == shown(data["unified"], pre=True)


def check_attempts(page, corpus: Corpus, request_id: int) -> None:
    """The resend panel shows every answer's headers and body as text."""
    attempts = corpus.api(f"/api/requests/{request_id}")["resends"]
    items = page.locator(f"#resend-{request_id} li.attempt")
    expect(items).to_have_count(len(attempts))
    for attempt, item in zip(attempts, items.all()):
        assert item.get_attribute("data-resend-id") == str(attempt["id"])
        assert item.locator("p.meta code").text_content() == attempt["url"]
        if attempt["error"]:
            assert item.locator(".form-error").text_content() == shown(attempt["error"])
        else:
            assert table(item.locator("table.kv tr")) == [[shown(n), shown(header_text(v))]
                                                          for n, v in attempt["response_headers"]]
            assert item.locator("pre.raw").text_content() == shown(attempt["response_body"], pre=True)


def tour(page, watch: Watch, corpus: Corpus, target: HostileTarget, *, act: bool) -> None:
    """Home, the endpoint page (rows loaded and live), each detail in the pane and as a page,
    the diffs, the resend panel (after resends when `act`), the answers' diff."""
    server = corpus.server
    go(page, server.url + "/")
    names = texts(page.locator(".endpoint-name"))
    assert all(norm(name) in names for name in corpus.names)
    watch.nothing_happened(page, "home")

    go(page, f"{server.url}/endpoints/{corpus.token}")
    assert page.title() == title_text(f"{corpus.name} · Webhook Inspector")
    assert page.locator("h1").text_content() == corpus.name
    assert page.locator("#settings-form input[name=name]").input_value() == corpus.name
    assert page.locator("#settings-form input[name=forward_url]").input_value() == corpus.forward_url
    assert page.locator(".bulk-form input[name=url]").get_attribute("placeholder") == corpus.forward_url
    assert corpus.forward_url in page.locator("#settings-summary").text_content()
    for request_id in corpus.loaded + corpus.live:
        check_row(page, corpus, request_id)
    watch.nothing_happened(page, "endpoint page as loaded")

    if act:
        send_live(corpus)
        live = list(corpus.live)
    else:  # one more of each kind of live row, on a page that loaded the others
        live = [capture(corpus, json.dumps({"id": SSE_ID, "type": SSE_TYPE,
                                            "payload": {"id": SSE_OBJECT}}).encode(), "application/json"),
                hostile_request_line(server.port, corpus.token, 2)]
    for request_id in live:
        expect(page.locator(f"#req-{request_id}")).to_be_visible()
        check_row(page, corpus, request_id)
    # The stream's place is the newest real id: no id smuggled in from captured text.
    every = list(dict.fromkeys(corpus.loaded + corpus.live + live))
    newest = max(every)
    expect(page.locator("#request-list")).to_have_attribute("sse-connect",
                                                            re.compile(rf"after={newest}(&|$)"))
    assert page.locator("#rows > li.req").count() == len(every)
    watch.nothing_happened(page, "endpoint page with live rows")

    if act:
        page.click(f"#row-actions-{corpus.loaded[0]} button")
        badge = page.locator(f"#row-actions-{corpus.loaded[0]} .resend-status")
        expect(badge).to_have_text(re.compile(r"^200 · "))
        first = corpus.api(f"/api/requests/{corpus.loaded[0]}")["resends"][0]
        assert badge.get_attribute("title") == f"POST {first['url']}"
        watch.nothing_happened(page, "row resend")

    for request_id in every:  # the detail pane of each request
        page.locator(f"#req-{request_id} .req-open").click()
        expect(page.locator(f"#pane #detail-{request_id}")).to_be_visible()
        watch.nothing_happened(page, f"pane of #{request_id}")
        check_detail(page, corpus, request_id)

    earlier, later = corpus.earlier, corpus.later
    context = page.locator(f"#pane #diff-context-{later}")
    page.locator(f"#req-{later} .req-open").click()
    expect(context.locator("h3")).to_have_text(norm(f"Changes to this {RESOURCE}"))
    previous = corpus.api(f"/api/requests/{later}/previous-diff")
    assert previous["previous"] == earlier
    listed = texts(context.locator("code.diff-path"))
    assert listed and set(listed) <= {c["path"] for c in previous["diff"]["changes"]}
    watch.nothing_happened(page, "automatic diff in the pane")
    hints = corpus.request(corpus.loaded[5])["signature"]["hints"]  # names the odd header
    assert any(h["code"] == "other_header" and "x-'`|~" in h["message"] for h in hints)

    for request_id in every:  # the detail page of each request
        go(page, f"{server.url}/requests/{request_id}")
        watch.nothing_happened(page, f"detail page of #{request_id}")
        check_detail(page, corpus, request_id)
        assert page.title() == title_text(revealed(f"#{request_id} " + (
            (corpus.request(request_id)["event"] or {}).get("type")
            or "POST") + " · Webhook Inspector"))

    for left, right in ((earlier, later), (corpus.loaded[1], corpus.loaded[2]),
                        (corpus.loaded[3], corpus.loaded[1])):
        go(page, f"{server.url}/diff?left={left}&right={right}")
        watch.nothing_happened(page, f"diff {left} → {right}")
        check_diff(page, corpus, f"/api/diff?left={left}&right={right}")

    subject = corpus.loaded[0]
    go(page, f"{server.url}/requests/{subject}")
    panel = f"#resend-{subject}"
    assert page.locator(f"{panel} input[name=url]").get_attribute("placeholder") == corpus.forward_url
    if act:
        for mode in ("second", "text", "broken", "first"):
            count = page.locator(f"{panel} li.attempt").count()
            target.mode = mode
            if mode == "first":  # Edit & resend, unedited: the original bytes again
                page.locator(f"{panel} details.resend-edit").evaluate("d => { d.open = true; }")
                page.click(f"{panel} button[value=edit]")
            else:
                page.click(f"{panel} button[value=resend]")
            expect(page.locator(f"{panel} li.attempt")).to_have_count(count + 1, timeout=15_000)
            watch.nothing_happened(page, f"resend panel after a {mode} answer")
        go(page, f"{server.url}/requests/{subject}")
    watch.nothing_happened(page, "resend panel")
    check_attempts(page, corpus, subject)
    assert page.locator(f"{panel} li.attempt .form-error").count() >= 1  # the broken answer

    attempts = [a["id"] for a in corpus.api(f"/api/requests/{subject}")["resends"]]
    for left, right in ((attempts[-1], attempts[-2]), (attempts[-2], attempts[-3]),
                        (attempts[-3], attempts[-4])):
        go(page, f"{server.url}/diff/resends?left={left}&right={right}")
        watch.nothing_happened(page, f"answers diff {left} → {right}")
        check_diff(page, corpus, f"/api/diff/resends?left={left}&right={right}")
    go(page, f"{server.url}/resends/compare?left={attempts[-1]}&right={attempts[-2]}")
    assert P[1] in page.locator("pre.resend-diff").text_content()
    watch.nothing_happened(page, "answers compare fallback")

    if act:
        go(page, f"{server.url}/endpoints/{corpus.token}")
        page.click("details.replay summary")
        page.click(".bulk-form button[type=submit]")
        progress = page.locator(".bulk-progress")
        expect(progress).to_have_attribute("data-state", "done", timeout=15_000)
        watch.nothing_happened(page, "bulk replay")

    page.wait_for_timeout(300)  # anything asynchronous a payload might have started
    watch.nothing_happened(page, "the end")


def test_no_payload_runs_anywhere_in_the_dashboard(server_factory, browser):
    server = server_factory(extra_env={"INSPECTOR_STREAM_KEEPALIVE": "1"})
    target = HostileTarget()
    try:
        corpus = setup_corpus(server, target)
        send_before_load(corpus)
        for bypass_csp in (True, False):
            context = browser.new_context(bypass_csp=bypass_csp)
            context.set_default_timeout(10_000)
            page = context.new_page()
            watch = Watch()
            watch.attach(context, page)
            try:
                tour(page, watch, corpus, target, act=bypass_csp)
            finally:
                context.close()
        assert target.count >= 5
    finally:
        target.close()
