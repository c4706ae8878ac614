"""Secrets never appear in full after saving: not in pages, API answers, streams or logs."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from inspector.samples import sample_body
from inspector.signatures import sign

pytestmark = pytest.mark.server

SECRET = "whsec_TOPSECRET_0a9b8c7d6e5f"
OLD_SECRET = "whsec_OLDSECRET_1122334455"


class Links(HTMLParser):
    """Collects href/src/hx-get/sse-connect URLs of a page."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src", "hx-get", "action") and value:
                self.found.append(value)


def crawl(base: str, start: list[str], limit: int = 120) -> dict[str, str]:
    """GET every same-origin page reachable from `start` (streams skipped); url -> text."""
    seen: dict[str, str] = {}
    queue = list(start)
    with httpx.Client(timeout=10) as http:
        while queue and len(seen) < limit:
            url = urljoin(base, queue.pop(0))
            if urlsplit(url).netloc != urlsplit(base).netloc or url in seen:
                continue
            if "/stream" in url or url.endswith("/events") or "/logout" in url:
                continue
            response = http.get(url)
            seen[url] = response.text
            if "html" in response.headers.get("content-type", ""):
                parser = Links()
                parser.feed(response.text)
                queue += [link.split("#")[0] for link in parser.found]
    return seen


def test_secret_is_never_shown_in_full(live_server):
    base = live_server.url
    # saved through the dashboard's form and through the API
    page = httpx.get(base + "/")
    token_field = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    form = {"name": "Secret test", "secret": SECRET, "signature_header": "X-Protocol-Signature"}
    if token_field:
        form["csrf_token"] = token_field.group(1)
    created = httpx.post(base + "/endpoints", data=form, cookies=page.cookies,
                         headers={"Origin": base}, follow_redirects=False)
    assert created.status_code in (200, 201, 302, 303), created.text[:500]
    endpoint = httpx.post(base + "/api/endpoints", json={
        "name": "API one", "secrets": [SECRET, OLD_SECRET]}).json()
    token = endpoint["token"]
    body = sample_body("message.updated")
    capture = f"{base}/hooks/{token}"
    httpx.post(capture, content=body, headers={"X-Protocol-Signature": sign(body, SECRET)})
    httpx.post(capture, content=body, headers={"X-Protocol-Signature": sign(body, SECRET + "\n")})
    httpx.post(capture, content=body, headers={"X-Protocol-Signature": "sha256=" + sign(body, OLD_SECRET)})
    httpx.post(capture, content=body + b"\n", headers={"X-Protocol-Signature": sign(body, SECRET)})
    httpx.post(capture, content=body)
    # an invalid change is refused with a message, which must not echo the secret either
    refused = httpx.patch(f"{base}/api/endpoints/{token}",
                          json={"secret": SECRET, "signature_header": "bad header"})
    assert refused.status_code == 400

    answers = {"create": endpoint, "refused": refused.text,
               "list": httpx.get(f"{base}/api/endpoints").text,
               "requests": httpx.get(f"{base}/api/endpoints/{token}/requests").text}
    for row in httpx.get(f"{base}/api/endpoints/{token}/requests").json()["requests"]:
        answers[f"detail {row['id']}"] = httpx.get(f"{base}/api/requests/{row['id']}").text
    with httpx.stream("GET", f"{base}/api/endpoints/{token}/events",
                      headers={"Last-Event-ID": "0"}, timeout=10) as stream:
        text = ""
        for line in stream.iter_lines():
            text += line + "\n"
            if text.count("data: ") >= 5:
                break
    answers["stream"] = text
    pages = crawl(base, ["/", f"/endpoints/{token}"])
    assert any("/requests/" in url for url in pages), "the crawl should reach request pages"
    answers.update(pages)
    answers["server log"] = live_server.output()

    for name, text in answers.items():
        for secret in (SECRET, OLD_SECRET, SECRET[:-4], OLD_SECRET[:-4]):
            assert secret not in str(text), f"secret shown in {name}"
    assert endpoint["secret_hint"] == "…" + SECRET[-4:]  # the hint is all that is shown
