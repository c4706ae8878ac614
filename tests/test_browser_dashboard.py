"""The live dashboard in Debian's Chromium, against the real server (gunicorn, 2 workers)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from playwright.sync_api import expect

from inspector.samples import sample_body
from inspector.signatures import sign

from .conftest import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.server]

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_browser_secret_4242"
# Short keep-alives let a server notice closed pages quickly and free their threads.
SERVER_ENV = {"INSPECTOR_SECRET_KEY": "test-key", "INSPECTOR_STREAM_KEEPALIVE": "2",
              "INSPECTOR_MAX_BODY_BYTES": "100000"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two server processes on one SQLite store, shared by this module's tests.

    Starting servers is the slow part of these tests, so each test makes its
    own endpoint on these instead of starting its own. Killed, not stopped:
    open live streams would hold a graceful shutdown for its full timeout.
    """
    data_dir = str(tmp_path_factory.mktemp("browser-store"))
    env = {**SERVER_ENV, "INSPECTOR_DATA_DIR": data_dir}
    first = RunningServer(env).start()
    second = RunningServer(env).start()
    yield SimpleNamespace(data_dir=data_dir, env=env, server=first, second=second)
    for server in (first, second):
        server.stop(sig=9)


def new_endpoint(server, **fields) -> dict:
    """Create an endpoint through the API of a running server."""
    response = httpx.post(server.url + "/api/endpoints", json={"name": "Protocol staging", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def capture(server, token: str, body: bytes, headers: dict | None = None, path: str = "") -> int:
    """Send a request to a server's capture URL; returns the stored request id."""
    response = httpx.post(f"{server.url}/hooks/{token}{path}", content=body, headers=headers or {})
    assert response.status_code in (200, 413), response.text
    return int(response.headers["X-Inspector-Request-Id"])


def send_event(server, token: str, event_type: str = "message.created", secret: str | None = SECRET,
               tamper: bool = False, **kw) -> int:
    """A sample event, signed (or not); `tamper` changes the body after signing."""
    body = sample_body(event_type, **kw)
    headers = {"Content-Type": "application/json", "User-Agent": "Protocol-Webhooks/1.4"}
    if secret:
        headers["X-Protocol-Signature"] = sign(body, secret)
    if tamper:
        body = body.replace(b'"payload":{', b'"payload":{"injected":true,', 1)
    return capture(server, token, body, headers)


def row_ids(page) -> list[str]:
    """DOM ids of the list rows, top to bottom."""
    return page.eval_on_selector_all("#rows > li.req", "rows => rows.map(r => r.id)")


def test_request_sent_after_the_page_opened_appears_without_reload(store, page):
    server = store.server
    ep = new_endpoint(server, secret=SECRET)
    page.goto(ep["dashboard_url"])
    expect(page.locator("#rows li.empty")).to_contain_text("No requests yet")
    page.evaluate("window.sameDocument = true")
    request_id = send_event(server, ep["token"], "message.updated", object_id="msg_live_1")
    row = page.locator(f"#req-{request_id}")
    expect(row).to_be_visible()
    expect(row.locator(".req-event")).to_have_text("message.updated")
    expect(row.locator(".req-object")).to_have_text("msg_live_1")
    expect(row.locator(".sig")).to_have_text("valid")
    expect(page.locator("#rows li.empty")).to_be_hidden()
    assert page.evaluate("window.sameDocument") is True


def test_row_captured_by_a_second_server_process_appears(store, page):
    second = store.second  # same data folder: same SQLite store, another process
    ep = new_endpoint(store.server)
    page.goto(ep["dashboard_url"])
    request_id = send_event(second, ep["token"], "contact.created", secret=None)
    expect(page.locator(f"#req-{request_id} .req-event")).to_have_text("contact.created")


def test_reconnect_after_restart_fills_the_gap_without_duplicates(store, server_factory, page):
    server = server_factory(extra_env=store.env)
    other = store.second
    ep = new_endpoint(server)
    page.goto(ep["dashboard_url"])
    before = send_event(server, ep["token"])
    expect(page.locator(f"#req-{before}")).to_be_visible()
    server.stop(sig=9)  # the page's stream drops mid-flight
    expect(page.locator("#live-state")).to_have_text("reconnecting…")
    missed = [send_event(other, ep["token"], "message.updated") for _ in range(3)]
    restarted = server_factory(port=server.port, extra_env=store.env)  # back on the same address
    for request_id in missed:
        expect(page.locator(f"#req-{request_id}")).to_be_visible(timeout=15_000)
    after = send_event(other, ep["token"], "message.deleted")
    expect(page.locator(f"#req-{after}")).to_be_visible()
    expected = [after, *reversed(missed), before]
    assert row_ids(page) == [f"req-{i}" for i in expected]  # each once, newest first
    restarted.stop(sig=9)


def test_signature_badges_and_hints(store, page):
    server = store.server
    ep = new_endpoint(server, secret=SECRET)
    page.goto(ep["dashboard_url"])
    valid = send_event(server, ep["token"])
    tampered = send_event(server, ep["token"], tamper=True)
    unsigned = send_event(server, ep["token"], secret=None)
    for request_id, word in ((valid, "valid"), (tampered, "invalid"), (unsigned, "missing")):
        expect(page.locator(f"#req-{request_id} .sig")).to_have_text(word)
    colour = "el => getComputedStyle(el).backgroundColor"
    assert (page.locator(f"#req-{valid} .sig").evaluate(colour)
            != page.locator(f"#req-{tampered} .sig").evaluate(colour))

    page.locator(f"#req-{tampered} .req-open").click()
    pane = page.locator("#pane")
    expect(pane.locator(".signature-panel h3")).to_contain_text("invalid")
    expect(pane.locator(".hint")).to_have_attribute("data-code", "no_match")
    expect(pane.locator(".hint")).to_contain_text("the body changed in transit")
    expect(pane.locator(".signature-panel")).to_contain_text("X-Protocol-Signature")
    expect(page).to_have_url(f"{server.url}/requests/{tampered}")

    page.locator(f"#req-{unsigned} .req-open").click()
    expect(pane.locator(".signature-panel h3")).to_contain_text("missing")
    expect(pane.locator(".signature-panel")).to_contain_text("the request has no X-Protocol-Signature header")
    expect(pane.locator(".hint")).to_have_count(0)

    page.locator(f"#req-{valid} .req-open").click()
    expect(pane.locator(".signature-panel h3")).to_contain_text("valid")
    expect(pane.locator(".signature-panel")).to_contain_text("exactly these")


def test_copy_as_curl_replays_the_request_byte_exact(store, page):
    server = store.server
    ep = new_endpoint(server, secret=SECRET)
    body = ('{"id":"evt_curl","type":"message.created","payload":{"id":"msg_c",'
            '"message":"It\'s \\"quoted\\" — café ☕ $HOME `id` !x\\nline"}}\n\t\r\n').encode()
    original = capture(server, ep["token"], body, {
        "Content-Type": "application/json; charset=utf-8", "X-Note": "it's \"fine\"",
        "X-Protocol-Signature": sign(body, SECRET)}, path="/billing/v2")
    page.goto(ep["dashboard_url"])
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator(f"#req-{original} .req-open").click()
    command = page.locator(f"#curl-{original}").text_content()
    page.locator(f"button[data-copy='curl-{original}']").click()
    expect(page.locator(f"button[data-copy='curl-{original}']")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == command

    subprocess.run(["bash", "-c", command], check=True, capture_output=True, timeout=20)
    newest = httpx.get(f"{server.url}/api/endpoints/{ep['token']}/requests?limit=1").json()["requests"][0]
    replayed = httpx.get(f"{server.url}/api/requests/{newest['id']}").json()
    assert newest["id"] != original
    assert newest["body_sha256"] == httpx.get(f"{server.url}/api/requests/{original}").json()["body_sha256"]
    assert newest["path"] == "/billing/v2" and newest["signature"]["status"] == "valid"
    assert ["x-note", "it's \"fine\""] in replayed["headers"]
    expect(page.locator(f"#req-{newest['id']}")).to_be_visible()


def test_keyboard_filters_pause_and_scrolling(store, page):
    server = store.server
    ep = new_endpoint(server, secret=SECRET)
    older = [send_event(server, ep["token"], "contact.updated") for _ in range(52)]
    page.goto(ep["dashboard_url"])
    expect(page.locator("#rows > li.req")).to_have_count(50)
    page.locator("#rows > li.more").scroll_into_view_if_needed()
    expect(page.locator("#rows > li.req")).to_have_count(52)  # older rows loaded on scroll
    page.mouse.wheel(0, -100_000)

    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator(f"#req-{older[-2]}")).to_have_class("req is-current")
    page.keyboard.press("Enter")
    expect(page.locator(f"#pane #detail-{older[-2]}")).to_be_visible()
    page.keyboard.press("k")  # with the pane open, moving opens the next one
    expect(page.locator(f"#pane #detail-{older[-1]}")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#pane")).to_be_hidden()
    expect(page).to_have_url(ep["dashboard_url"])

    page.select_option("select[name=signature]", "invalid")
    expect(page.locator("#rows > li.req")).to_have_count(0)
    expect(page).to_have_url(f"{ep['dashboard_url']}?event_type=&resource_type=&signature=invalid&q=")
    send_event(server, ep["token"])  # valid: filtered out of the live rows too
    invalid = send_event(server, ep["token"], tamper=True)
    expect(page.locator(f"#req-{invalid}")).to_be_visible()
    expect(page.locator("#rows > li.req")).to_have_count(1)

    page.locator("#pause-toggle").click()
    held = [send_event(server, ep["token"], tamper=True) for _ in range(2)]
    expect(page.locator("#held-count")).to_have_text("2 new waiting")
    expect(page.locator("#pause-toggle")).to_have_text("Resume (2 new)")
    expect(page.locator(f"#req-{held[0]}")).to_have_count(0)
    page.locator("#pause-toggle").click()
    expect(page.locator("#held-count")).to_be_hidden()
    assert row_ids(page) == [f"req-{held[1]}", f"req-{held[0]}", f"req-{invalid}"]

    page.locator(f"#req-{held[0]} input[name=compare]").check()
    page.locator(f"#req-{invalid} input[name=compare]").check()
    page.locator("#compare-selected").click()
    expect(page).to_have_url(f"{server.url}/diff?left={invalid}&right={held[0]}")


def test_screenshot_of_the_dashboard(store, browser):
    server = store.server
    ep = new_endpoint(server, secret=SECRET)
    token = ep["token"]
    send_event(server, token, "contact.created")
    send_event(server, token, "conversation.created")
    send_event(server, token, "message.created")
    send_event(server, token, "group.updated", event_id="evt_9rTq2LmXw0aB4cDe")
    send_event(server, token, "group.updated", event_id="evt_9rTq2LmXw0aB4cDe")  # a retry
    send_event(server, token, "attachment.created", secret=None)
    capture(server, token, b"\x00" * 150_000, {"Content-Type": "application/octet-stream"}, "/uploads")
    send_event(server, token, "message.updated")
    body = sample_body("message.updated")
    shown = capture(server, token, body, {"Content-Type": "application/json",
                                          "X-Protocol-Signature": sign(json.dumps(
                                              json.loads(body), indent=2).encode(), SECRET)})
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="light")
    page = context.new_page()
    try:
        page.goto(ep["dashboard_url"])
        page.locator(f"#req-{shown} .req-open").click()
        expect(page.locator("#pane .hint")).to_contain_text("re-serialized")
        path = ROOT / "docs" / "dashboard.png"
        path.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(path))
        assert path.stat().st_size > 20_000
    finally:
        context.close()


def test_home_forms_show_errors_in_place_and_open_endpoints(store, page):
    server = store.server
    page.goto(server.url + "/")
    page.fill("#endpoint-form input[name=name]", "Cribbly prod")
    page.fill("#endpoint-form input[name=signature_header]", "x-DocsSmith Demo2-signature")
    page.click("#endpoint-form button[type=submit]")
    expect(page.locator("#endpoint-form .field-error")).to_contain_text('did you mean "x-DocsSmith-Demo2-signature"?')
    expect(page.locator("#endpoint-form input[name=name]")).to_have_value("Cribbly prod")
    expect(page).to_have_url(server.url + "/")  # swapped in place, no navigation

    page.fill("input[name=url]", server.url + "/hooks/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/x")
    page.click(".open-form button[type=submit]")
    expect(page.locator("#open-result")).to_contain_text("no endpoint with that token")

    page.fill("#endpoint-form input[name=signature_header]", "x-DocsSmith-Demo2-signature")
    page.click("#endpoint-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Cribbly prod")
    expect(page.locator("#try-send")).to_contain_text("--header x-DocsSmith-Demo2-signature")
    capture_url = page.locator("#capture-url").text_content()
    page.goto(server.url + "/")
    page.fill("input[name=url]", capture_url + "/sub/path?x=1")
    page.click(".open-form button[type=submit]")
    expect(page.locator("#capture-url")).to_have_text(capture_url)


def test_settings_are_edited_in_place_and_recheck_the_list(store, page):
    server = store.server
    ep = new_endpoint(server)  # no secret yet
    request_id = send_event(server, ep["token"])
    page.goto(ep["dashboard_url"])
    expect(page.locator(f"#req-{request_id} .sig")).to_have_text("unconfigured")
    page.click(".settings summary")
    page.fill("#settings-form input[name=signature_header]", "x-DocsSmith Demo2-signature")
    page.click("#settings-form button[type=submit]")
    expect(page.locator("#settings-form .form-error")).to_contain_text("x-DocsSmith-Demo2-signature")
    page.fill("#settings-form input[name=signature_header]", "X-Protocol-Signature")
    page.fill("#settings-form input[name=secret]", SECRET)
    page.click("#settings-form button[type=submit]")
    expect(page.locator("#settings-form .form-notice")).to_contain_text("checked again")
    expect(page.locator(f"#req-{request_id} .sig")).to_have_text("valid")  # the list reloaded itself
    expect(page.locator("#settings-summary")).to_contain_text("…4242")
    expect(page.locator("#try-send")).to_contain_text('--secret "$WEBHOOK_SECRET"')
    assert SECRET not in page.content()
