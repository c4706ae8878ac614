"""Resend of a stored request: byte-exact, header filtering, edits re-signed, attempts recorded."""
from __future__ import annotations

import gzip
import hashlib
import json

import pytest
import sqlalchemy as sa

from inspector.capture import Arrival, EndpointConfig, record
from inspector.models import CapturedRequest, Endpoint, Resend, db
from inspector.signatures import sign, verify_signature
from tests.conftest import free_port
from tests.recording_target import RecordingTarget

SECRET = "whsec_test_secret_12345"
HEADER = "X-Protocol-Signature"


def store(app, token: str, body: bytes = b'{"id":"evt_1","type":"message.updated"}',
          headers=None, method: str = "POST", path: str = "/", query: str = "",
          content_type: str = "application/json") -> int:
    """Insert a captured request with exactly these headers (the test client merges repeats)."""
    if headers is None:
        headers = [("content-type", content_type), ("x-protocol-signature", sign(body, SECRET))]
    with app.app_context():
        ep = db.session.scalar(sa.select(Endpoint).where(Endpoint.token == token))
        config = EndpointConfig(ep.id, tuple(ep.secrets), ep.signature_header)
        values = record(Arrival(method, path, query, headers, body, content_type, "127.0.0.1"),
                        config)
        request_id = db.session.execute(sa.insert(CapturedRequest).values(**values)) \
            .inserted_primary_key[0]
        db.session.commit()
        return request_id


@pytest.fixture
def app(sqlite_app):
    """Logic tests run on SQLite; test_resend_backends.py covers both stores."""
    return sqlite_app


@pytest.fixture
def target():
    with RecordingTarget() as running:
        yield running


def resend(client, request_id: int, **body):
    return client.post(f"/api/requests/{request_id}/resend", json=body)


BODIES = {
    "binary": (bytes(range(256)) * 3, "application/octet-stream"),
    "invalid_utf8": (b'{"text": "caf\xe9 \xff\xfe"}', "application/json"),
    "gzip": (gzip.compress(b'{"id": "evt_gz", "type": "message.created"}', mtime=0),
             "application/json"),
    "odd_json_spacing": (b'{ "id" :"evt_2",\n\t"type":"contact.created" ,"n":1.50}\n',
                         "application/json"),
}


@pytest.mark.parametrize("kind", BODIES)
def test_resend_is_byte_exact(app, client, endpoint, target, kind):
    body, content_type = BODIES[kind]
    headers = [("content-type", content_type), ("x-dup", "first"), ("user-agent", "Provider/1.0"),
               ("x-dup", "second"), ("x-protocol-signature", sign(body, SECRET))]
    if kind == "gzip":
        headers.insert(1, ("content-encoding", "gzip"))
    request_id = store(app, endpoint["token"], body, headers, method="PUT", query="a=1&b=%2F&a=2")
    response = resend(client, request_id, url=target.url("/webhooks"))
    assert response.status_code == 201, response.json
    got = target.wait_for(1)[0]
    assert got.method == "PUT"
    assert got.target == "/webhooks?a=1&b=%2F&a=2"
    assert got.body == body
    assert got.headers == [("Host", f"127.0.0.1:{target.port}"), *headers,
                           ("X-Inspector-Forwarded", "1"), ("Content-Length", str(len(body)))]
    attempt = response.json
    assert attempt["status_code"] == 200 and attempt["error"] is None
    assert attempt["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert attempt["resigned"] is False and attempt["edited"] is False
    assert attempt["response_body"] == '{"received": true}'
    assert ["Content-Type", "application/json"] in attempt["response_headers"]
    assert client.get(f"/api/requests/{request_id}").json["resends"][0]["id"] == attempt["id"]


def test_hop_by_hop_host_and_length_are_dropped(app, client, endpoint, target):
    body = b'{"id":"evt_3"}'
    headers = [("host", "provider.example"), ("connection", "keep-alive, X-Per-Hop"),
               ("keep-alive", "timeout=5"), ("x-per-hop", "drop me"),
               ("transfer-encoding", "chunked"),
               ("te", "trailers"), ("trailer", "x-late"), ("upgrade", "h2c"),
               ("proxy-authorization", "Basic eA=="), ("proxy-connection", "keep-alive"),
               ("content-length", "999"), ("x-keep", "kept"), ("authorization", "Bearer app-token")]
    request_id = store(app, endpoint["token"], body, headers)
    assert resend(client, request_id, url=target.url()).status_code == 201
    got = target.wait_for(1)[0]
    assert got.headers == [("Host", f"127.0.0.1:{target.port}"), ("x-keep", "kept"),
                           ("authorization", "Bearer app-token"), ("X-Inspector-Forwarded", "1"),
                           ("Content-Length", str(len(body)))]


def test_sub_path_is_appended_only_when_asked(app, client, endpoint, target):
    request_id = store(app, endpoint["token"], path="/github/a%2Fb", query="x=1")
    resend(client, request_id, url=target.url("/webhooks/?token=t"))
    resend(client, request_id, url=target.url("/webhooks/?token=t"), append_path=True)
    plain, appended = target.wait_for(2)
    assert plain.target == "/webhooks/?token=t&x=1"
    assert appended.target == "/webhooks/github/a%2Fb?token=t&x=1"


def test_get_without_body_sends_no_content_length(app, client, endpoint, target):
    request_id = store(app, endpoint["token"], b"", [("accept", "*/*")], method="GET")
    resend(client, request_id, url=target.url())
    got = target.wait_for(1)[0]
    assert got.method == "GET" and got.body == b""
    assert got.header("Content-Length") == []


def test_forward_url_is_the_default_target(app, client, endpoint, target):
    client.patch(f"/api/endpoints/{endpoint['token']}", json={"forward_url": target.url("/hook")})
    request_id = store(app, endpoint["token"])
    assert resend(client, request_id).json["url"] == target.url("/hook")
    assert target.wait_for(1)[0].target == "/hook"


def test_edited_body_is_resigned_and_length_follows(app, client, endpoint, target):
    original = b'{"id":"evt_4","type":"message.updated","payload":{"text":"old"}}'
    request_id = store(app, endpoint["token"], original)
    edited = '{"id":"evt_4","type":"message.updated","payload":{"text":"new, longer ✓"}}'
    attempt = resend(client, request_id, url=target.url(), body=edited).json
    got = target.wait_for(1)[0]
    assert got.body == edited.encode()
    assert got.header("Content-Length") == [str(len(edited.encode()))]
    assert got.header("x-protocol-signature") == [sign(edited.encode(), SECRET)]
    check = verify_signature(got.body, got.headers, [SECRET], HEADER)
    assert check.status == "valid"
    assert [n for n, _ in got.headers].count("x-protocol-signature") == 1  # replaced in place
    assert attempt["edited"] is True and attempt["resigned"] is True
    assert attempt["body_sha256"] == hashlib.sha256(edited.encode()).hexdigest()


def test_edit_can_skip_resigning(app, client, endpoint, target):
    original = b'{"id":"evt_5"}'
    request_id = store(app, endpoint["token"], original)
    attempt = resend(client, request_id, url=target.url(), body='{"id":"evt_6"}', resign=False).json
    got = target.wait_for(1)[0]
    assert got.header("x-protocol-signature") == [sign(original, SECRET)]
    assert attempt["resigned"] is False and attempt["edited"] is True


def test_unedited_body_text_is_never_reserialized(app, client, endpoint, target):
    body = b'{ "id" : "evt_7",   "n": 1.0, "u": "\\u00e9" }'
    request_id = store(app, endpoint["token"], body)
    attempt = resend(client, request_id, url=target.url(), body=body.decode()).json
    got = target.wait_for(1)[0]
    assert got.body == body
    assert got.header("x-protocol-signature") == [sign(body, SECRET)]
    assert attempt["edited"] is False and attempt["resigned"] is False


def test_resign_unedited_after_the_secret_changed(app, client, endpoint, target):
    body = b'{"id":"evt_8"}'
    request_id = store(app, endpoint["token"], body)
    client.patch(f"/api/endpoints/{endpoint['token']}", json={"secret": "whsec_rotated_98765"})
    attempt = resend(client, request_id, url=target.url(), resign=True).json
    got = target.wait_for(1)[0]
    assert got.body == body
    assert got.header("x-protocol-signature") == [sign(body, "whsec_rotated_98765")]
    check = verify_signature(got.body, got.headers, ["whsec_rotated_98765"], HEADER)
    assert check.status == "valid"
    assert attempt["resigned"] is True and attempt["edited"] is False


def test_resign_without_a_secret_is_refused(app, client, target):
    token = client.post("/api/endpoints", json={}).json["token"]
    request_id = store(app, token, headers=[("content-type", "application/json")])
    response = resend(client, request_id, url=target.url(), resign=True)
    assert response.status_code == 400 and "no secret" in response.json["error"]
    edited = resend(client, request_id, url=target.url(), body='{"x":1}')  # sent unsigned
    assert edited.status_code == 201 and edited.json["resigned"] is False
    assert len(target.received) == 1


def test_response_body_is_capped_and_says_so(app, client, endpoint):
    app.config["FORWARD_MAX_RESPONSE_BYTES"] = 1000
    request_id = store(app, endpoint["token"])
    with RecordingTarget(body=b"x" * 5000, status=502) as target:
        attempt = resend(client, request_id, url=target.url()).json
    assert attempt["status_code"] == 502
    assert attempt["response_body"] == "x" * 1000
    assert attempt["response_truncated"] is True and attempt["response_limit"] == 1000
    assert attempt["duration_ms"] > 0


def test_connection_refused_is_recorded_in_plain_words(app, client, endpoint):
    request_id = store(app, endpoint["token"])
    port = free_port()
    response = resend(client, request_id, url=f"http://localhost:{port}/webhooks")
    assert response.status_code == 201
    attempt = response.json
    assert attempt["status_code"] is None
    assert attempt["error"] == f"connection refused at localhost:{port} — is your app running?"
    with app.app_context():
        row = db.session.get(Resend, attempt["id"])
        assert row.error == attempt["error"] and row.trigger == "manual"


def test_timeout_is_configurable_and_recorded(app, client, endpoint):
    app.config["FORWARD_TIMEOUT"] = 0.3
    request_id = store(app, endpoint["token"])
    with RecordingTarget(delay=2.0) as target:
        attempt = resend(client, request_id, url=target.url()).json
    assert attempt["status_code"] is None
    assert attempt["error"] == f"127.0.0.1:{target.port} did not answer within 0.3 s " \
                               "(INSPECTOR_FORWARD_TIMEOUT)"
    assert 250 <= attempt["duration_ms"] < 1500


def test_tls_to_a_plain_http_app_is_explained(app, client, endpoint, target):
    request_id = store(app, endpoint["token"])
    attempt = resend(client, request_id, url=f"https://127.0.0.1:{target.port}/webhooks").json
    assert attempt["status_code"] is None
    assert attempt["error"].startswith(f"TLS error at 127.0.0.1:{target.port}")
    assert "use http://" in attempt["error"]


def test_dns_failure_is_recorded_in_plain_words(app, client, endpoint, monkeypatch):
    import socket

    from inspector import resend as resend_module

    def fail(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(resend_module, "system_resolve", fail)
    request_id = store(app, endpoint["token"])
    attempt = resend(client, request_id, url="http://my-app.test:3000/hook").json
    assert attempt["status_code"] is None
    assert attempt["error"] == ("could not resolve host 'my-app.test' (Name or service not known) "
                                "— check the spelling of the URL.")


def test_bad_requests_are_explained(app, client, endpoint, target):
    request_id = store(app, endpoint["token"])
    assert resend(client, request_id).json["error"].startswith("No target")
    assert resend(client, 987654, url=target.url()).status_code == 404
    assert resend(client, request_id, url=target.url(), colour="red").status_code == 400
    assert resend(client, request_id, url=target.url(), resign="yes").status_code == 400
    assert "not valid JSON" in client.post(f"/api/requests/{request_id}/resend", data="{",
                                           content_type="application/json").json["error"]
    assert target.received == []


def test_a_rejected_request_cannot_be_resent(app, client, endpoint, target):
    app.config["MAX_BODY_BYTES"] = 10
    rejected = client.post(f"/hooks/{endpoint['token']}", data=b"x" * 100).json["id"]
    response = resend(client, rejected, url=target.url())
    assert response.status_code == 400 and "was not stored" in response.json["error"]
    assert target.received == []


def test_cross_site_post_is_refused(app, client, endpoint, target):
    request_id = store(app, endpoint["token"])
    response = client.post(f"/api/requests/{request_id}/resend", json={"url": target.url()},
                           headers={"Origin": "https://evil.example",
                                    "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403 and "error" in response.json
    assert target.received == []


def test_attempts_are_listed_newest_first(app, client, endpoint, target):
    request_id = store(app, endpoint["token"])
    ids = [resend(client, request_id, url=target.url()).json["id"] for _ in range(3)]
    listed = client.get(f"/api/requests/{request_id}").json["resends"]
    assert [r["id"] for r in listed] == ids[::-1]
    assert json.loads(listed[0]["response_body"]) == {"received": True}
