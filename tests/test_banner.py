"""The page chrome that depends on how the server is run: the exposure warning on every
page, the log-out button and the login form."""
from __future__ import annotations

import re

import pytest

WARNING = "without a password: anyone who can reach it can read your webhooks"


@pytest.fixture
def app(sqlite_app):
    return sqlite_app


def pages(client) -> list[str]:
    """A page of each kind: home, endpoint, request detail, diff, 404."""
    token = client.post("/api/endpoints", json={"name": "Banner"}).json["token"]
    request_id = client.post(f"/hooks/{token}", data=b'{"id":"e1","type":"message.created"}',
                             content_type="application/json").json["id"]
    urls = ["/", f"/endpoints/{token}", f"/requests/{request_id}",
            f"/diff?left={request_id}&right={request_id}", "/endpoints/nope"]
    return [client.get(url).get_data(as_text=True) for url in urls]


def test_no_warning_on_loopback_by_default(app, client):
    assert app.config["HOST"] == "127.0.0.1"
    for html in pages(client):
        assert WARNING not in html and "exposure-warning" not in html
        assert "Log out" not in html


def test_every_page_warns_when_listening_publicly_without_a_password(app, client):
    app.config["HOST"] = "0.0.0.0"
    for html in pages(client):
        banner = re.search(r'<p class="exposure-warning" role="alert">(.*?)</p>', html, re.S)
        assert banner, html[:500]
        text = " ".join(re.sub(r"<[^>]+>", "", banner.group(1)).split())
        assert text == ("Warning: this inspector listens on 0.0.0.0 without a password: anyone "
                        "who can reach it can read your webhooks. Set INSPECTOR_PASSWORD.")


def test_a_password_silences_the_warning_and_adds_log_out(app):
    app.config.update(HOST="0.0.0.0", PASSWORD="correct horse")
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    assert WARNING not in login
    assert "Log out" not in login  # not logged in yet
    assert 'class="form login-form"' in login and 'class="button primary"' in login
    client.post("/login", data={"password": "correct horse", "next": "/"})
    home = client.get("/").get_data(as_text=True)
    assert WARNING not in home
    form = re.search(r'<form class="logout-form" method="post" action="/logout">(.*?)</form>',
                     home, re.S)
    assert form and 'name="csrf_token"' in form.group(1) and "Log out</button>" in form.group(1)
    assert client.post("/logout").status_code == 302  # the page-like client sends the token
    assert client.get("/").status_code == 302


def test_log_out_without_the_token_is_refused(app):
    app.config["PASSWORD"] = "correct horse"
    client = app.test_client()
    client.post("/login", data={"password": "correct horse"})
    assert client.post("/logout", headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.get("/api/endpoints").status_code == 200  # still logged in
