"""List rows show the time of day in the browser's time zone, not the server's UTC."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.server]
ZONE = "America/Los_Angeles"  # never UTC, whatever the date


def test_rows_show_local_time_of_day_also_for_live_rows(live_server, browser):
    server = live_server
    token = httpx.post(server.url + "/api/endpoints", json={}).json()["token"]
    first = httpx.post(f"{server.url}/hooks/{token}", content=b"{}").json()["id"]
    context = browser.new_context(timezone_id=ZONE, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(f"{server.url}/endpoints/{token}")
        expect(page.locator("#live-state")).to_have_text("live")
        live = httpx.post(f"{server.url}/hooks/{token}", content=b"{}").json()["id"]
        for request_id in (first, live):
            stamp = page.locator(f"#req-{request_id} time.req-time")
            received = datetime.fromisoformat(stamp.get_attribute("datetime"))
            local = received.astimezone(ZoneInfo(ZONE))
            expect(stamp).to_have_text(local.strftime("%H:%M:%S"))
            assert received.strftime("%H:%M:%S") != local.strftime("%H:%M:%S")
            assert stamp.get_attribute("datetime") in stamp.get_attribute("title")
    finally:
        context.close()
