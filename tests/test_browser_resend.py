"""Resend from the list and bulk replay from the endpoint page, in Debian's Chromium against
the real server (gunicorn), sending to a local recording target."""
from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from inspector.samples import sample_body
from tests.recording_target import RecordingTarget

pytestmark = [pytest.mark.browser, pytest.mark.server]

# The badge colours of static/app.css (--valid-bg) in each theme.
GREEN = {"light": "rgb(220, 245, 227)", "dark": "rgb(18, 58, 34)"}


def capture(server, token: str, event_type: str) -> int:
    """A sample event sent to the capture URL; its request id."""
    response = httpx.post(f"{server.url}/hooks/{token}", content=sample_body(event_type),
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def test_row_resend_then_bulk_replay_of_the_filtered_list(server_factory, page):
    server = server_factory(extra_env={"INSPECTOR_STREAM_KEEPALIVE": "1"})
    with RecordingTarget() as target:
        ep = httpx.post(server.url + "/api/endpoints", json={"name": "Replay me"}).json()
        page.goto(ep["dashboard_url"])
        page.click(".settings summary")
        page.fill("#settings-form input[name=forward_url]", target.url("/hooks/in"))
        page.click("#settings-form button[type=submit]")
        expect(page.locator("#settings-summary")).to_contain_text(
            "resend target " + target.url("/hooks/in") + " (auto-forward off)")

        ids = [capture(server, ep["token"], kind)
               for kind in ("message.created", "contact.created", "message.updated")]
        for request_id in ids:
            expect(page.locator(f"#req-{request_id}")).to_be_visible()

        # One click on a row: the attempt's status appears in the row.
        page.click(f"#row-actions-{ids[0]} button")
        badge = page.locator(f"#row-actions-{ids[0]} .resend-status")
        expect(badge).to_have_text(re.compile(r"^200 · [\d.]+ ms$"))
        expect(badge).to_have_class(re.compile(r"\bresend-2xx\b"))
        colour = "el => getComputedStyle(el).backgroundColor"
        assert badge.evaluate(colour) == GREEN["light"]
        page.emulate_media(color_scheme="dark")
        assert badge.evaluate(colour) == GREEN["dark"]
        page.emulate_media(color_scheme="light")
        assert target.wait_for(1)[0].target == "/hooks/in"

        # The detail lists the attempt with its status.
        page.locator(f"#req-{ids[0]} .req-open").click()
        attempt = page.locator("#pane .attempts .attempt").first
        expect(attempt.locator(".resend-status")).to_have_text("200")
        expect(attempt).to_contain_text("POST")
        page.keyboard.press("Escape")

        # Bulk replay of the list's current filter (messages only), from the endpoint page.
        page.select_option("select[name=resource_type]", "message")
        expect(page.locator("#rows > li.req")).to_have_count(2)
        page.click("details.replay summary")
        page.click(".bulk-form button[type=submit]")
        progress = page.locator(".bulk-progress")
        expect(progress).to_have_attribute("data-state", "done", timeout=15_000)
        expect(progress.locator(".bulk-counts")).to_have_text("2 of 2 sent · 2 ok · 0 failed")
        expect(progress.locator("progress")).to_have_attribute("value", "2")
        replayed = target.wait_for(3)[1:]
        assert sorted(r.body for r in replayed) == sorted(
            httpx.get(f"{server.url}/api/requests/{i}/body").content for i in (ids[0], ids[2]))
