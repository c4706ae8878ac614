"""Limits the resend views state: the editor's size cap and the answer cap in every JSON shape."""
from __future__ import annotations

import pytest

from inspector.resend_views import EDITOR_LIMIT
from tests.recording_target import RecordingTarget
from tests.test_resend import store

HX = {"HX-Request": "true"}


@pytest.fixture
def app(sqlite_app):
    return sqlite_app


def test_a_body_over_one_mib_is_not_put_in_the_editor_but_still_resent(app, client, endpoint):
    big = b'{"blob": "' + b"x" * (EDITOR_LIMIT + 512 * 1024) + b'"}'
    request_id = store(app, endpoint["token"], big)
    for url in (f"/requests/{request_id}/resend-panel", f"/requests/{request_id}"):
        page = client.get(url, headers=HX if "panel" in url else {}).get_data(as_text=True)
        assert "<textarea" not in page
        assert "The body is too large to edit here (1.5 MB); Resend sends it byte-exact." in page
        assert "x" * 1000 not in page.split('id="resend-')[1]  # the panel holds no copy of it
    with RecordingTarget() as target:
        client.post(f"/requests/{request_id}/resend", data={"url": target.url()}, headers=HX)
        assert target.wait_for(1)[0].body == big


def test_a_body_of_exactly_one_mib_is_still_editable(app, client, endpoint):
    body = b"y" * EDITOR_LIMIT
    request_id = store(app, endpoint["token"], body, [("content-type", "text/plain")])
    page = client.get(f"/requests/{request_id}/resend-panel", headers=HX).get_data(as_text=True)
    assert "<textarea" in page and "too large to edit" not in page


def test_detail_answer_gives_each_resend_the_response_cap_like_the_post_does(app, client,
                                                                              endpoint):
    app.config["FORWARD_MAX_RESPONSE_BYTES"] = 1000
    request_id = store(app, endpoint["token"])
    with RecordingTarget(body=b"z" * 3000) as target:
        posted = client.post(f"/api/requests/{request_id}/resend",
                             json={"url": target.url()}).json
    listed = client.get(f"/api/requests/{request_id}").json["resends"]
    assert posted["response_limit"] == 1000 and posted["response_truncated"] is True
    assert listed == [posted]  # the same shape and values from both URLs
