"""Resend on both stores: the bytes read back from each backend go out unchanged."""
from __future__ import annotations

import hashlib

import pytest

from tests.recording_target import RecordingTarget
from tests.test_resend import BODIES, store


@pytest.mark.parametrize("kind", ["binary", "gzip", "invalid_utf8"])
def test_stored_bytes_go_out_unchanged(app, client, endpoint, kind):
    body, content_type = BODIES[kind]
    headers = [("content-type", content_type), ("x-dup", "1"), ("x-dup", "2")]
    request_id = store(app, endpoint["token"], body, headers, query="q=%E2%9C%93")
    with RecordingTarget() as target:
        attempt = client.post(f"/api/requests/{request_id}/resend",
                              json={"url": target.url()}).json
        got = target.wait_for(1)[0]
    assert got.body == body and got.target == "/webhooks?q=%E2%9C%93"
    assert got.header("x-dup") == ["1", "2"]
    assert attempt["body_sha256"] == hashlib.sha256(body).hexdigest()
    listed = client.get(f"/api/requests/{request_id}").json["resends"]
    assert [r["id"] for r in listed] == [attempt["id"]] and listed[0]["status_code"] == 200
