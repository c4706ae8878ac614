"""In Chromium: an open dashboard learns that its endpoint was deleted, its requests
cleared or its login lost, instead of going on as if nothing happened."""
from __future__ import annotations

import re
import sqlite3
from types import SimpleNamespace

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.server]

PASSWORD = "correct horse"
NOTICED = 15_000  # ms: a stream looks about once a second; the machine may be busy
STREAM_SOURCE = "document.getElementById('request-list')['htmx-internal-data'].sseEventSource"


def server_env(data_dir) -> dict:
    return {"INSPECTOR_DATA_DIR": str(data_dir), "INSPECTOR_SECRET_KEY": "test-key",
            "INSPECTOR_STREAM_KEEPALIVE": "1", "INSPECTOR_PASSWORD": PASSWORD}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One password-protected server for the module; killed, as open streams would
    hold a graceful stop."""
    running = RunningServer(server_env(tmp_path_factory.mktemp("lifetime"))).start()
    yield running
    running.stop(sig=9)


def api(server, method: str, path: str, **kw) -> httpx.Response:
    return httpx.request(method, server.url + path, headers=server.auth, **kw)


def new_endpoint(server) -> SimpleNamespace:
    data = api(server, "POST", "/api/endpoints", json={}).json()
    return SimpleNamespace(token=data["token"], dashboard=data["dashboard_url"])


def capture(server, token: str) -> int:
    response = httpx.post(f"{server.url}/hooks/{token}", content=b'{"n":1}')
    return int(response.headers["X-Inspector-Request-Id"])


def open_logged_in(page, url: str) -> None:
    """Open a dashboard page through the login form, and wait until its stream is live."""
    page.goto(url)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(url)
    expect(page.locator("#live-state")).to_have_text("live")


def test_deleting_the_endpoint_ends_the_open_dashboard(server, page):
    ep = new_endpoint(server)
    capture(server, ep.token)
    open_logged_in(page, ep.dashboard)
    assert api(server, "DELETE", f"/api/endpoints/{ep.token}").status_code == 204
    expect(page.locator("#list-notice")).to_contain_text("This endpoint was deleted",
                                                         timeout=NOTICED)
    expect(page.locator("#rows > li")).to_have_count(0)
    expect(page.locator("#live-state")).to_have_text("ended")
    # Closed by the page: an EventSource closed never reconnects.
    assert page.evaluate(f"{STREAM_SOURCE}.readyState") == 2


def test_an_endpoint_deleted_while_the_server_was_down_ends_the_page(tmp_path, page):
    """No stream is left to say "ended": the reconnect is refused with a 404, and the
    page asks why instead of showing "reconnecting…" for ever."""
    first = RunningServer(server_env(tmp_path)).start()
    try:
        ep = new_endpoint(first)
        capture(first, ep.token)
        open_logged_in(page, ep.dashboard)
    finally:
        first.stop(sig=9)
    expect(page.locator("#live-state")).to_have_text("reconnecting…")
    with sqlite3.connect(tmp_path / "inspector.db") as db:
        db.execute("PRAGMA foreign_keys = ON")
        assert db.execute("DELETE FROM endpoints WHERE token = ?", (ep.token,)).rowcount == 1
    again = RunningServer(server_env(tmp_path), port=first.port).start()
    try:
        expect(page.locator("#list-notice")).to_contain_text("This endpoint was deleted",
                                                             timeout=NOTICED)
        expect(page.locator("#live-state")).to_have_text("ended")
        expect(page.locator("#rows > li")).to_have_count(0)
    finally:
        again.stop(sig=9)


def test_clearing_the_requests_empties_the_open_list(server, page):
    ep = new_endpoint(server)
    first, second = capture(server, ep.token), capture(server, ep.token)
    open_logged_in(page, ep.dashboard)
    expect(page.locator("#rows > li.req")).to_have_count(2)
    assert api(server, "DELETE", f"/api/endpoints/{ep.token}/requests").json() == {"deleted": 2}
    expect(page.locator("#rows > li.req")).to_have_count(0, timeout=NOTICED)
    expect(page.locator("#rows > li.empty")).to_be_visible()
    expect(page.locator("#list-notice")).to_contain_text("cleared")
    for gone in (first, second):
        expect(page.locator(f"#req-{gone}")).to_have_count(0)
    later = capture(server, ep.token)  # the list is still live
    expect(page.locator(f"#req-{later}")).to_be_visible()
    expect(page.locator("#rows > li.req")).to_have_count(1)


def test_a_row_clicked_after_logout_opens_the_login_page_whole(server, page):
    ep = new_endpoint(server)
    request_id = capture(server, ep.token)
    open_logged_in(page, ep.dashboard)
    page.context.clear_cookies()  # logged out (in another tab, say)
    page.click(f"#req-{request_id} .req-open")
    # next= is the dashboard the reader was on, not the fragment the click asked for.
    expect(page).to_have_url(f"{server.url}/login?next=%2Fendpoints%2F{ep.token}")
    expect(page.locator("#pane")).to_have_count(0)  # a page of its own, not in the pane
    # Logging in again leads back to the dashboard.
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(ep.dashboard)


def test_logging_out_in_another_tab_stops_this_one(server, page):
    ep = new_endpoint(server)
    open_logged_in(page, ep.dashboard)
    other = page.context.new_page()
    other.goto(ep.dashboard)
    other.click(".logout-form button")
    expect(other).to_have_url(re.compile(r"/login$"))
    expect(page).to_have_url(re.compile(r"/login\?next="))
    capture(server, ep.token)
    expect(page.locator("#rows")).to_have_count(0)
