"""Allowed hosts, the optional password, login rate limiting."""
from __future__ import annotations

import pytest

from inspector.access import RateLimiter, allowed_hosts, host_allowed, host_name


@pytest.mark.parametrize("header, name", [
    ("localhost:8420", "localhost"), ("127.0.0.1", "127.0.0.1"), ("[::1]:8420", "::1"),
    ("Example.COM", "example.com"), ("evil.test:80", "evil.test"),
])
def test_host_name(header, name):
    assert host_name(header) == name


def test_allowed_hosts_from_settings():
    allowed = allowed_hosts({"PUBLIC_URL": "https://hooks.example.org/x",
                             "ALLOWED_HOSTS": ("Box.local",)})
    assert {"localhost", "127.0.0.1", "::1", "hooks.example.org", "box.local"} <= allowed
    assert host_allowed("hooks.example.org:443", allowed)
    assert not host_allowed("attacker.test", allowed)
    assert host_allowed("anything.test", {"*"})


def test_rate_limiter_window():
    limiter = RateLimiter(2, 60)
    assert limiter.allow("a", 0) and limiter.allow("a", 1)
    assert not limiter.allow("a", 2)
    assert limiter.allow("b", 2)
    assert limiter.allow("a", 61.5)


def test_foreign_host_refused_for_dashboard_and_api_but_not_capture(client, endpoint):
    evil = {"Host": "rebind.attacker.test"}
    assert client.get("/", headers=evil).status_code == 400
    api = client.get("/api/endpoints", headers=evil)
    assert api.status_code == 400 and "INSPECTOR_ALLOWED_HOSTS" in api.json["error"]
    capture = client.post(f"/hooks/{endpoint['token']}", data=b"x", headers=evil)
    assert capture.status_code == 200


@pytest.fixture
def locked(sqlite_app):
    """The app with a password set."""
    sqlite_app.config["PASSWORD"] = "correct horse"
    return sqlite_app


def test_password_protects_dashboard_and_api_not_capture(locked):
    client = locked.test_client()
    token = client.post("/api/endpoints", json={},
                        headers={"Authorization": "Bearer correct horse"}).json["token"]
    assert client.get("/api/endpoints").status_code == 401
    assert client.get("/api/endpoints", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/endpoints",
                      headers={"Authorization": "Bearer correct horse"}).status_code == 200
    page = client.get("/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert client.post(f"/hooks/{token}", data=b"x").status_code == 200


def test_login_form_sets_session_and_redirects_only_locally(locked):
    client = locked.test_client()
    assert client.get("/login").status_code == 200
    wrong = client.post("/login", data={"password": "nope", "next": "/"})
    assert wrong.status_code == 401 and b"Wrong password" in wrong.data
    ok = client.post("/login", data={"password": "correct horse", "next": "//evil.test/x"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert client.get("/api/endpoints").status_code == 200
    client.post("/logout")
    assert client.get("/api/endpoints").status_code == 401


def test_login_attempts_are_rate_limited(locked):
    client = locked.test_client()
    codes = [client.post("/login", data={"password": "guess"}).status_code for _ in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    # even the right password waits until the window passes
    assert client.post("/login", data={"password": "correct horse"}).status_code == 429


def test_a_utf8_password_works_as_bearer_token(locked):
    """A WSGI server hands the header over as Latin-1 text of the bytes sent (PEP 3333)."""
    locked.config["PASSWORD"] = "pa ss:wörd"
    client = locked.test_client()

    def status(password_bytes: bytes) -> int:
        header = (b"Bearer " + password_bytes).decode("latin-1")
        return client.get("/api/endpoints", headers={"Authorization": header}).status_code

    assert status("pa ss:wörd".encode()) == 200
    assert status(b"  " + "pa ss:wörd".encode() + b" ") == 200
    assert status("pa ss:wörd".encode("latin-1")) == 401  # the same text, other bytes
    assert status("pa ss:word".encode()) == 401
    # text no server can hand over (not Latin-1) is simply not the password
    assert client.get("/api/endpoints", headers={"Authorization": "Bearer €"}).status_code == 401
