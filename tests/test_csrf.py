"""Cross-site writes are refused; the pages' own writes carry the session token."""
from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient


@pytest.fixture
def plain(sqlite_app):
    """A client that behaves like another site's page: no token unless it finds one."""
    return FlaskClient(sqlite_app, sqlite_app.response_class, use_cookies=True)


def test_form_post_without_token_is_refused(plain):
    response = plain.post("/endpoints", data={"name": "x"})
    assert response.status_code == 403
    assert b"reload the page" in response.data


def test_form_post_with_the_pages_token_is_accepted(plain):
    home = plain.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', home).group(1)
    assert re.search(r'name="csrf_token" value="' + re.escape(token) + '"', home)
    response = plain.post("/endpoints", data={"name": "x", "csrf_token": token})
    assert response.status_code in (200, 302, 303)
    wrong = plain.post("/endpoints", data={"name": "x", "csrf_token": token + "x"})
    assert wrong.status_code == 403


def test_htmx_header_token_is_accepted(plain):
    home = plain.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', home).group(1)
    response = plain.post("/endpoints", data={"name": "y"},
                          headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert response.status_code in (200, 204) and "HX-Redirect" in response.headers


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.test"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
def test_cross_site_writes_refused_even_with_a_token(plain, headers):
    home = plain.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', home).group(1)
    response = plain.post("/endpoints", data={"name": "z", "csrf_token": token}, headers=headers)
    assert response.status_code == 403
    api = plain.post("/api/endpoints", json={}, headers=headers)
    assert api.status_code == 403 and api.json["error"] == "Cross-site request refused."


def test_api_writes_need_json_content_type(plain):
    created = plain.post("/api/endpoints", json={"name": "ok"})
    assert created.status_code == 201
    form = plain.post("/api/endpoints", data="{}", content_type="text/plain")
    assert form.status_code == 403 and "application/json" in form.json["error"]
    bare = plain.post(f"/api/endpoints/{created.json['token']}/recheck")
    assert bare.status_code == 403
    # scripts with the password are not browsers: Bearer skips the browser checks
    scripted = plain.post(f"/api/endpoints/{created.json['token']}/recheck",
                          headers={"Authorization": "Bearer anything"})
    assert scripted.status_code == 200


def test_capture_urls_accept_cross_site_posts(plain):
    token = plain.post("/api/endpoints", json={}).json["token"]
    response = plain.post(f"/hooks/{token}", data="a=1", headers={"Origin": "https://evil.test"},
                          content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200


def test_security_headers(plain):
    page = plain.get("/")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Frame-Options"] == "DENY"
    api = plain.get("/api/endpoints")
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    token = plain.post("/api/endpoints", json={}).json["token"]
    capture = plain.post(f"/hooks/{token}", data=b"x")
    assert "Content-Security-Policy" not in capture.headers
