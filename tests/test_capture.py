"""Capture URL behaviour of CONTRACT.md, on SQLite and PostgreSQL."""
from __future__ import annotations

import gzip
import io
import hashlib
import json
import random

import pytest

from inspector.samples import sample_body
from inspector.signatures import sign
from inspector.writer import STREAMED_BODY_BYTES

SECRET = "whsec_test_secret_12345"


def stored(client, request_id: int) -> dict:
    """The stored request as the API returns it."""
    response = client.get(f"/api/requests/{request_id}")
    assert response.status_code == 200
    return response.json


def raw_body(client, request_id: int) -> bytes:
    """The stored body bytes."""
    return client.get(f"/api/requests/{request_id}/body").data


BODIES = {
    "json": sample_body("message.updated"),
    "binary": bytes(range(256)) * 4,
    "invalid_utf8": b"caf\xe9 \xff\xfe not utf-8",
    "gzip": gzip.compress(b'{"id":"evt","type":"contact.created"}'),
    "multipart": (b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n"
                  b"Content-Type: application/octet-stream\r\n\r\n\x00\x01\x02\r\n--XyZ--\r\n"),
    "empty": b"",
    "nul_bytes": b"\x00" * 100,
    # Over and at writer.STREAMED_BODY_BYTES: SQLite writes these into the row in place.
    "streamed": random.Random(7).randbytes(STREAMED_BODY_BYTES + 1),
    "streamed_exactly": random.Random(8).randbytes(STREAMED_BODY_BYTES),
}


@pytest.mark.parametrize("kind", list(BODIES))
def test_body_is_stored_byte_exact(client, endpoint, kind):
    body = BODIES[kind]
    response = client.post(f"/hooks/{endpoint['token']}", data=body,
                           headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 200
    request_id = response.json["id"]
    assert response.headers["X-Inspector-Request-Id"] == str(request_id)
    assert raw_body(client, request_id) == body
    got = stored(client, request_id)
    assert got["size"] == len(body)
    assert got["body_sha256"] == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS",
                                    "PURGE", "PROPFIND"])
def test_every_method_is_captured(client, endpoint, method):
    response = client.open(f"/hooks/{endpoint['token']}", method=method)
    assert response.status_code == 200
    assert stored(client, int(response.headers["X-Inspector-Request-Id"]))["method"] == method


def test_sub_path_and_raw_query_with_repeated_keys(client, endpoint):
    response = client.post(f"/hooks/{endpoint['token']}/github/push?a=1&a=2&b=%20x&empty",
                           data=b"{}")
    got = stored(client, response.json["id"])
    assert got["path"] == "/github/push"
    assert got["query"] == "a=1&a=2&b=%20x&empty"


def test_headers_kept_in_order(client, endpoint):
    response = client.post(f"/hooks/{endpoint['token']}", data=b"x", headers=[
        ("X-Zeta", "1"), ("X-Alpha", "2"), ("X-Middle", "3")])
    names = [name for name, _ in stored(client, response.json["id"])["headers"]]
    assert names.index("x-zeta") < names.index("x-alpha") < names.index("x-middle")


def test_unknown_token_is_404_and_stores_nothing(client, endpoint):
    response = client.post("/hooks/not-a-token", data=b"x")
    assert response.status_code == 404
    assert response.is_json and "error" in response.json
    listing = client.get(f"/api/endpoints/{endpoint['token']}/requests").json
    assert listing["requests"] == []


def test_body_over_limit_is_413_and_still_listed(app, endpoint):
    app.config["MAX_BODY_BYTES"] = 1000
    client = app.test_client()
    response = client.post(f"/hooks/{endpoint['token']}", data=b"x" * 1001,
                           headers={"X-Protocol-Signature": "abc"})
    assert response.status_code == 413
    assert "error" in response.json
    listed = client.get(f"/api/endpoints/{endpoint['token']}/requests").json["requests"]
    assert len(listed) == 1
    assert listed[0]["rejected"] == "too_large"
    assert listed[0]["size"] == 1001
    assert listed[0]["signature"]["hints"][0]["code"] == "body_rejected"
    detail = stored(client, listed[0]["id"])
    assert ["x-protocol-signature", "abc"] in detail["headers"]
    # exactly at the limit is fine
    assert client.post(f"/hooks/{endpoint['token']}", data=b"x" * 1000).status_code == 200


def test_chunked_body_over_limit_is_rejected(app, endpoint):
    app.config["MAX_BODY_BYTES"] = 1000
    client = app.test_client()

    # No Content-Length: the server (gunicorn) de-chunks and marks the input terminated.
    response = client.post(f"/hooks/{endpoint['token']}", input_stream=io.BytesIO(b"y" * 2000),
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    listed = client.get(f"/api/endpoints/{endpoint['token']}/requests").json["requests"]
    assert listed[0]["rejected"] == "too_large" and listed[0]["size"] > 1000


def test_signature_valid_invalid_missing(client, endpoint):
    body = sample_body("contact.created")
    url = f"/hooks/{endpoint['token']}"
    valid = client.post(url, data=body, headers={"X-Protocol-Signature": sign(body, SECRET)})
    lower = client.post(url, data=body, headers={"x-protocol-signature": sign(body, SECRET)})
    tampered = client.post(url, data=body.replace(b"contact", b"kontakt"),
                           headers={"X-Protocol-Signature": sign(body, SECRET)})
    missing = client.post(url, data=body)
    statuses = [stored(client, r.json["id"])["signature"]["status"]
                for r in (valid, lower, tampered, missing)]
    assert statuses == ["valid", "valid", "invalid", "missing"]
    hints = stored(client, tampered.json["id"])["signature"]["hints"]
    assert [h["code"] for h in hints] == ["no_match"]


def test_unconfigured_then_recheck_after_secret_set(client):
    created = client.post("/api/endpoints", json={"name": "no secret yet"}).json
    body = sample_body("group.created")
    response = client.post(f"/hooks/{created['token']}", data=body,
                           headers={"X-Protocol-Signature": sign(body, "later-secret")})
    assert stored(client, response.json["id"])["signature"]["status"] == "unconfigured"
    patched = client.patch(f"/api/endpoints/{created['token']}", json={"secret": "later-secret"})
    assert patched.status_code == 200 and patched.json["has_secret"]
    recheck = client.post(f"/api/endpoints/{created['token']}/recheck", json={})
    assert recheck.status_code == 200 and recheck.json["statuses"] == {"valid": 1}
    assert stored(client, response.json["id"])["signature"]["status"] == "valid"


def test_white_label_header(client):
    created = client.post("/api/endpoints", json={
        "secret": "s3cret", "signature_header": "x-Cribbly-signature"}).json
    body = sample_body("message.created")
    response = client.post(f"/hooks/{created['token']}", data=body,
                           headers={"X-CRIBBLY-SIGNATURE": sign(body, "s3cret")})
    assert stored(client, response.json["id"])["signature"]["status"] == "valid"


def test_event_fields_unknown_type_and_duplicates(client, endpoint):
    url = f"/hooks/{endpoint['token']}"
    first = client.post(url, data=b'{"id":"evt_1","type":"message.updated","payload":{"id":"msg_9"}}')
    retry = client.post(url, data=b'{"id":"evt_1","type":"message.updated","payload":{"id":"msg_9"}}')
    odd = client.post(url, data=b'{"id":"evt_2","type":"invoice.paid","payload":{"id":"in_1"}}')
    event = stored(client, first.json["id"])["event"]
    assert event == {"id": "evt_1", "type": "message.updated", "resource_type": "message",
                     "resource_id": "msg_9", "known": True}
    assert stored(client, first.json["id"])["duplicate_of"] is None
    assert stored(client, retry.json["id"])["duplicate_of"] == first.json["id"]
    unknown = stored(client, odd.json["id"])
    assert unknown["event"]["type"] == "invoice.paid" and unknown["event"]["known"] is False
    assert odd.status_code == 200  # kept, not rejected


def test_configured_response_status(client):
    created = client.post("/api/endpoints", json={"response_status": 202}).json
    response = client.post(f"/hooks/{created['token']}", data=b"{}")
    assert response.status_code == 202 and response.json["ok"] is True


def test_hostile_event_fields_are_clipped_not_fatal(client, endpoint):
    body = json.dumps({"id": "i" * 5000, "type": "t" * 5000, "payload": {"id": "p" * 5000}})
    response = client.post(f"/hooks/{endpoint['token']}", data=body)
    assert response.status_code == 200
    assert raw_body(client, response.json["id"]) == body.encode()


@pytest.mark.parametrize("body", [
    b'{"id":"\\ud800","type":"\\udfff.created","payload":{"id":"\\ud83d"}}',
    b'{"id":"a\\u0000b","type":"message\\u0000.created","payload":{"id":"\\u0000"}}',
])
def test_text_postgres_cannot_hold_is_made_safe(client, endpoint, body):
    response = client.post(f"/hooks/{endpoint['token']}", data=body)
    assert response.status_code == 200
    assert raw_body(client, response.json["id"]) == body
    event = stored(client, response.json["id"])["event"]
    assert "\x00" not in event["id"] and event["type"].endswith(".created")


@pytest.mark.parametrize("path", ["/a%00b/%E2%9C%93%2Fx", "/line%0Abreak/%0D%09"])
def test_path_is_stored_as_sent_percent_encoding_kept(client, endpoint, path):
    response = client.post(f"/hooks/{endpoint['token']}{path}", data=b"")
    assert response.status_code == 200
    assert stored(client, response.json["id"])["path"] == path


def test_truncated_body_is_listed_with_400(client, endpoint):
    response = client.post(f"/hooks/{endpoint['token']}", input_stream=io.BytesIO(b"x" * 10),
                           environ_overrides={"wsgi.input_terminated": True,
                                              "CONTENT_LENGTH": "100"})
    assert response.status_code == 400
    assert "ended after 10 of the 100 bytes" in response.json["error"]
    row = stored(client, response.json["id"])
    assert row["rejected"] == "truncated" and row["size"] == 10
