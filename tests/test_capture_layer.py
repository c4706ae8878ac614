"""The capture URL is served by a WSGI layer in front of Flask: what it answers on its own."""
from __future__ import annotations

import logging

import pytest
from werkzeug.test import EnvironBuilder

from inspector import autoforward, writer
from inspector.hooks import capture_token


def test_capture_answers_json_without_session_or_page_policies(client, endpoint):
    response = client.post(f"/hooks/{endpoint['token']}", data=b"{}")
    assert response.status_code == 200
    assert response.json == {"id": int(response.headers["X-Inspector-Request-Id"]), "ok": True}
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Content-Length"] == str(len(response.data))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in response.headers
    assert "Content-Security-Policy" not in response.headers  # a page policy, not for senders


@pytest.mark.parametrize("path", ["/hooks/a.b", "/hooks/" + "x" * 129, "/hooks/a%00b",
                                  "/hooks/caf%C3%A9", "/hooks/", "/hooks//sub"])
def test_paths_no_endpoint_can_have_are_json_404s(client, endpoint, path):
    response = client.post(path, data=b"x")
    assert response.status_code == 404
    assert response.is_json and "error" in response.json
    assert client.get(f"/api/endpoints/{endpoint['token']}/requests").json["requests"] == []


def test_capture_token_reads_only_the_first_segment():
    assert capture_token("/hooks/abc_DEF-123") == "abc_DEF-123"
    assert capture_token("/hooks/abc/deeper/path") == "abc"
    assert capture_token("/hooks/a b") == ""  # a capture URL no endpoint can have
    assert capture_token("/hooks/") is None and capture_token("/api/hooks/x") is None


def test_head_is_stored_and_answered_without_a_body(client, endpoint):
    response = client.head(f"/hooks/{endpoint['token']}")
    assert response.status_code == 200 and response.data == b""
    request_id = int(response.headers["X-Inspector-Request-Id"])
    assert client.get(f"/api/requests/{request_id}").json["method"] == "HEAD"


def test_sub_path_without_the_raw_uri_is_quoted_back(app, endpoint):
    """A server that passes no RAW_URI/REQUEST_URI: the decoded PATH_INFO is re-encoded."""
    environ = EnvironBuilder(path=f"/hooks/{endpoint['token']}/caf%C3%A9/x%20y",
                             method="POST", data=b"{}").get_environ()
    environ.pop("RAW_URI", None)
    environ.pop("REQUEST_URI", None)
    statuses = []
    body = b"".join(app.wsgi_app(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["200 OK"]
    request_id = int(body.split(b'"id":')[1].split(b",")[0])
    assert app.test_client().get(f"/api/requests/{request_id}").json["path"] == "/caf%C3%A9/x%20y"


def test_an_unexpected_failure_is_a_json_500_and_logged(client, endpoint, monkeypatch, caplog):
    def broken(app, values):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(writer, "store", broken)
    with caplog.at_level(logging.ERROR, logger="inspector.hooks"):
        response = client.post(f"/hooks/{endpoint['token']}", data=b"{}")
    assert response.status_code == 500
    assert response.json == {"error": "Internal error; the server log has the details."}
    assert "disk on fire" in caplog.text


def test_a_capture_makes_sure_the_auto_forwarder_runs(sqlite_app, monkeypatch):
    """A restarted server may see only webhooks for a while: capture starts the forwarder."""
    calls = []
    monkeypatch.setattr(autoforward.AutoForwarder, "ensure_running",
                        lambda self: calls.append(self))
    client = sqlite_app.test_client()
    token = client.post("/api/endpoints", json={"name": "a"}).json["token"]
    sqlite_app.testing = False  # served, not under test: the forwarder is needed
    assert client.post(f"/hooks/{token}", data=b"{}").status_code == 200
    assert calls == [autoforward.forwarder(sqlite_app)]


@pytest.mark.parametrize("status", [204, 304])
def test_a_bodiless_configured_status_sends_no_body_and_no_length(client, status):
    token = client.post("/api/endpoints", json={"response_status": status}).json["token"]
    response = client.post(f"/hooks/{token}", data=b"{}")
    assert response.status_code == status and response.data == b""
    assert "Content-Length" not in response.headers  # RFC 9110: none on a 204
    request_id = int(response.headers["X-Inspector-Request-Id"])
    assert client.get(f"/api/requests/{request_id}").status_code == 200
