"""Payload diffs in Debian's Chromium, against the real server: the automatic context of
a message.updated, then "Compare selected" and the diff page."""
from __future__ import annotations

import json
import random
import re

import httpx
import pytest
from playwright.sync_api import expect

from inspector.samples import sample_body

pytestmark = [pytest.mark.browser, pytest.mark.server]

MESSAGE_ID = "SIuAFq2m8XkP0wZt"
EVENT_ID_PATH = re.compile(r"^id$")  # the event id: changes on every event, so noisy


def message_event(event_type: str, event_id: str, text: str) -> bytes:
    """The same sample message each time (same object id and seed), with its own event id and text."""
    envelope = json.loads(sample_body(event_type, object_id=MESSAGE_ID, event_id=event_id, rng=random.Random(4)))
    envelope["payload"]["message"] = text
    return json.dumps(envelope, separators=(",", ":")).encode()


def capture(server, token: str, body: bytes) -> int:
    """POST a body to the capture URL; the stored request's id."""
    response = httpx.post(f"{server.url}/hooks/{token}", content=body,
                          headers={"Content-Type": "application/json", "User-Agent": "Protocol-Webhooks/1.4"})
    assert response.status_code == 200, response.text
    return int(response.headers["X-Inspector-Request-Id"])


def test_automatic_context_then_compare_selected(server_factory, page):
    server = server_factory()
    endpoint = httpx.post(server.url + "/api/endpoints", json={"name": "Protocol staging"}).json()
    created = capture(server, endpoint["token"], message_event("message.created", "evtCreated000001", "See you at 6"))
    updated = capture(server, endpoint["token"], message_event("message.updated", "evtUpdated000002", "See you at 7"))
    csp_errors: list[str] = []
    page.on("console", lambda message: csp_errors.append(message.text)
            if "Content Security Policy" in message.text else None)

    # The detail of the update says what changed since the message was created.
    page.goto(endpoint["dashboard_url"])
    page.locator(f"#req-{updated} .req-open").click()
    context = page.locator("#pane .diff-context")
    expect(context).to_contain_text(f"#{created}")
    message = context.locator(".diff-change", has=page.locator("code.diff-path", has_text="payload.message"))
    expect(message.locator(".diff-old")).to_have_text('"See you at 6"')
    expect(message.locator(".diff-new")).to_have_text('"See you at 7"')
    expect(context.locator(".diff-full-link")).to_have_attribute("href", f"/diff?left={created}&right={updated}")
    page.locator(f"#req-{created} .req-open").click()
    expect(page.locator("#pane .diff-context")).to_contain_text(f"First event seen about message {MESSAGE_ID}")

    # Tick both rows and compare them.
    page.locator(f"#req-{updated} input[name=compare]").check()
    page.locator(f"#req-{created} input[name=compare]").check()
    page.locator("#compare-selected").click()
    expect(page).to_have_url(f"{server.url}/diff?left={created}&right={updated}")
    expect(page.locator(".sxs td.sxs-del", has_text='"message": "See you at 6"')).to_be_visible()
    expect(page.locator(".sxs td.sxs-ins", has_text='"message": "See you at 7"')).to_be_visible()
    old_line = page.locator(".sxs td.sxs-del", has_text='"message"')
    same_line = page.locator(".sxs tr.sxs-equal td.sxs-text").first
    assert old_line.evaluate("el => getComputedStyle(el).backgroundColor") != \
        same_line.evaluate("el => getComputedStyle(el).backgroundColor")  # highlighted
    changes = page.locator(".diff-changes-panel")
    expect(changes.locator("code.diff-path", has_text="payload.message")).to_be_visible()
    expect(changes.locator("code.diff-path", has_text="type")).to_be_visible()
    expect(changes.locator("code.diff-path").filter(has_text=EVENT_ID_PATH)).to_have_count(1)

    # Noisy fields go with one click (htmx swap, URL kept shareable), and come back.
    page.locator(".noise-toggle").click()
    expect(page).to_have_url(f"{server.url}/diff?left={created}&right={updated}&noise=hide")
    expect(page.locator(".noise-toggle")).to_have_attribute("aria-checked", "true")
    expect(changes.locator("code.diff-path").filter(has_text=EVENT_ID_PATH)).to_have_count(0)
    expect(changes.locator("code.diff-path", has_text="payload.message")).to_be_visible()
    page.locator(".noise-toggle").click()
    expect(page.locator(".noise-toggle")).to_have_attribute("aria-checked", "false")
    expect(changes.locator("code.diff-path").filter(has_text=EVENT_ID_PATH)).to_have_count(1)
    assert csp_errors == []
