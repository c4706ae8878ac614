"""Auto-forward switched on and off from the settings, in Debian's Chromium against the real
server (gunicorn, whose background forwarder does the sending) and a local recording app."""
from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import expect

from tests.recording_target import RecordingTarget

pytestmark = [pytest.mark.browser, pytest.mark.server]


def capture(server, token: str, n: int) -> int:
    """One request to the capture URL; its id."""
    response = httpx.post(f"{server.url}/hooks/{token}", content=json.dumps({"n": n}),
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def save(page) -> None:
    """Submit the settings form and wait for its answer to replace it."""
    page.click("#settings-form button[type=submit]")
    expect(page.locator("#settings-form .form-notice")).to_contain_text("Saved.")


def test_auto_forward_ticked_in_the_settings_sends_new_requests(server_factory, page):
    server = server_factory(extra_env={"INSPECTOR_STREAM_KEEPALIVE": "1"})
    with RecordingTarget() as app:
        url = app.url("/hooks/in")
        ep = httpx.post(server.url + "/api/endpoints", json={"name": "Forward me"}).json()
        page.goto(ep["dashboard_url"])
        page.click(".settings summary")
        box = page.locator("#settings-form input[name=auto_forward]")
        expect(box).not_to_be_checked()

        page.fill("#settings-form input[name=forward_url]", url)
        page.locator("#settings-form input[name=auto_forward]").check()
        save(page)
        expect(page.locator("#settings-summary")).to_contain_text("auto-forwards to " + url)
        expect(box).to_be_checked()
        first = capture(server, ep["token"], 1)
        arrived = app.wait_for(1)
        assert arrived[0].target == "/hooks/in" and json.loads(arrived[0].body) == {"n": 1}

        # Unticked (the box then sends nothing): new requests stay here.
        page.locator("#settings-form input[name=auto_forward]").uncheck()
        save(page)
        expect(page.locator("#settings-summary")).to_contain_text(
            f"resend target {url} (auto-forward off)")
        expect(box).not_to_be_checked()
        assert httpx.get(f"{server.url}/api/endpoints/{ep['token']}").json()["auto_forward"] is False
        while_off = capture(server, ep["token"], 2)

        # Ticked again it starts from the newest request: the one captured while off
        # is never sent, the next one is.
        page.locator("#settings-form input[name=auto_forward]").check()
        save(page)
        capture(server, ep["token"], 3)
        app.wait_for(2)
        assert [json.loads(r.body)["n"] for r in app.received] == [1, 3]
        assert httpx.get(f"{server.url}/api/requests/{while_off}").json()["resends"] == []
        assert len(httpx.get(f"{server.url}/api/requests/{first}").json()["resends"]) == 1
