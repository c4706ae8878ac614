"""Forward URL and auto-forward as the API and the dashboard's forms set them, on both stores:
what the settings say is what happens (run synchronously with run_pending)."""
from __future__ import annotations

import json
import re

import pytest

from inspector import autoforward
from tests.recording_target import RecordingTarget

HTMX = {"HX-Request": "true"}
FORM = {"name": "", "signature_header": "X-Protocol-Signature"}


@pytest.fixture
def target():
    with RecordingTarget() as running:
        yield running


def capture_and_forward(app, client, token: str, n: int) -> None:
    """Capture one request, then let auto-forward send whatever is waiting."""
    response = client.post(f"/hooks/{token}", data=json.dumps({"n": n}),
                           content_type="application/json")
    assert response.status_code == 200
    autoforward.run_pending(app)


def forwarded(target) -> list[int]:
    return [json.loads(r.body)["n"] for r in target.received]


def settings(client, token: str) -> dict:
    return client.get(f"/api/endpoints/{token}").json


def summary(client, token: str) -> str:
    """The settings summary line of the endpoint page, as text."""
    html = client.get(f"/endpoints/{token}").get_data(as_text=True)
    return re.search(r'<span id="settings-summary"[^>]*>(.*?)</span>', html, re.S).group(1)


def checkbox(html: str) -> str:
    """The auto-forward checkbox tag."""
    return re.search(r'<input type="checkbox" name="auto_forward"[^>]*>', html).group(0)


# --- the forms ---------------------------------------------------------------------------

def test_settings_checkbox_switches_auto_forward_on_and_off(app, client, target):
    token = client.post("/api/endpoints", json={"name": "Mine"}).json["token"]
    url = target.url("/in")
    page = client.get(f"/endpoints/{token}").get_data(as_text=True)
    assert "Auto-forward each new request to this URL" in page and "checked" not in checkbox(page)

    # A URL alone is a resend target: nothing is sent by itself, and the page says so.
    client.post(f"/endpoints/{token}/settings", data={**FORM, "forward_url": url,
                                                      "auto_forward_shown": "1"})
    assert settings(client, token)["auto_forward"] is False
    assert f"resend target {url} (auto-forward off)" in summary(client, token)
    assert "auto-forwards" not in summary(client, token)
    capture_and_forward(app, client, token, 0)
    assert target.received == []

    saved = client.post(f"/endpoints/{token}/settings", headers=HTMX, data={
        **FORM, "forward_url": url, "auto_forward_shown": "1", "auto_forward": "1"})
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200 and " checked" in checkbox(html)
    assert f"auto-forwards to {url}" in html  # the summary, swapped in out of band
    assert settings(client, token)["auto_forward"] is True
    capture_and_forward(app, client, token, 1)
    assert forwarded(target) == [1]

    # A post from a form without the checkbox leaves the setting alone...
    client.post(f"/endpoints/{token}/settings", data={"name": "Renamed"})
    assert settings(client, token)["auto_forward"] is True
    # ...and the settings form with the box unticked (which sends nothing) switches it off.
    client.post(f"/endpoints/{token}/settings", data={**FORM, "forward_url": url,
                                                      "auto_forward_shown": "1"})
    assert settings(client, token)["auto_forward"] is False
    assert f"resend target {url} (auto-forward off)" in summary(client, token)
    capture_and_forward(app, client, token, 2)
    assert forwarded(target) == [1]


def test_settings_refuse_auto_forward_without_a_url_under_the_checkbox(client):
    token = client.post("/api/endpoints", json={"name": "Mine"}).json["token"]
    refused = client.post(f"/endpoints/{token}/settings", headers=HTMX, data={
        **FORM, "name": "Kept?", "forward_url": "", "auto_forward_shown": "1", "auto_forward": "1"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    error = re.search(r'<span class="field-error" id="settings-auto_forward-error"[^>]*>([^<]*)',
                      html).group(1)
    assert "auto_forward needs a forward URL" in error
    assert 'class="form-error"' not in html  # said once, under its field
    tag = checkbox(html)
    assert " checked" in tag and 'aria-describedby="settings-auto_forward-error"' in tag
    assert html.index('name="auto_forward"') < html.index("settings-auto_forward-error")
    assert 'value="Kept?"' in html  # what was typed is kept
    assert settings(client, token)["auto_forward"] is False
    assert settings(client, token)["name"] == "Mine"


def test_create_form_can_switch_auto_forward_on(client, target):
    url = target.url()
    made = client.post("/endpoints", data={**FORM, "forward_url": url,
                                           "auto_forward_shown": "1", "auto_forward": "1"})
    assert made.status_code == 303
    token = made.headers["Location"].rsplit("/", 1)[1]
    assert settings(client, token)["auto_forward"] is True
    assert f"auto-forwards to {url}" in summary(client, token)
    plain = client.post("/endpoints", data={**FORM, "forward_url": url, "auto_forward_shown": "1"})
    plain_token = plain.headers["Location"].rsplit("/", 1)[1]
    assert settings(client, plain_token)["auto_forward"] is False


def test_create_form_refuses_auto_forward_without_a_url(client):
    refused = client.post("/endpoints", headers=HTMX, data={
        **FORM, "name": "No URL", "forward_url": "", "auto_forward_shown": "1", "auto_forward": "1"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert re.search(r'id="auto_forward-error"[^>]*>auto_forward needs a forward URL', html)
    assert " checked" in checkbox(html)
    assert client.get("/api/endpoints").json["endpoints"] == []


# --- the API -----------------------------------------------------------------------------

@pytest.mark.parametrize("cleared", [None, ""])
def test_clearing_the_forward_url_clears_it_and_stops_auto_forward(app, client, target, cleared):
    token = client.post("/api/endpoints", json={"forward_url": target.url(),
                                                "auto_forward": True}).json["token"]
    capture_and_forward(app, client, token, 0)
    patched = client.patch(f"/api/endpoints/{token}", json={"forward_url": cleared})
    assert patched.status_code == 200
    assert patched.json["forward_url"] is None and patched.json["auto_forward"] is False
    capture_and_forward(app, client, token, 1)
    assert forwarded(target) == [0]
    assert "forwards" not in summary(client, token) and "resend target" not in summary(client, token)


def test_auto_forward_needs_a_forward_url(client, target):
    token = client.post("/api/endpoints", json={"name": "No URL"}).json["token"]
    for body in ({"auto_forward": True}, {"auto_forward": True, "forward_url": None},
                 {"auto_forward": True, "forward_url": ""}):
        refused = client.patch(f"/api/endpoints/{token}", json=body)
        assert refused.status_code == 400, body
        assert refused.json["error"].startswith("auto_forward needs a forward URL")
    assert settings(client, token)["auto_forward"] is False
    created = client.post("/api/endpoints", json={"auto_forward": True})
    assert created.status_code == 400 and "auto_forward" in created.json["error"]
    # Setting the URL in the same request is fine, and so is a URL set before.
    both = client.patch(f"/api/endpoints/{token}", json={"auto_forward": True,
                                                         "forward_url": target.url()})
    assert both.status_code == 200 and both.json["auto_forward"] is True
    client.patch(f"/api/endpoints/{token}", json={"auto_forward": False})
    again = client.patch(f"/api/endpoints/{token}", json={"auto_forward": True})
    assert again.status_code == 200 and again.json["auto_forward"] is True
    # Other changes leave both alone.
    renamed = client.patch(f"/api/endpoints/{token}", json={"name": "Renamed"}).json
    assert renamed["auto_forward"] is True and renamed["forward_url"] == target.url()
