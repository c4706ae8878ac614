"""The dashboard's resend panel, row button and attempt diff (htmx fragments)."""
from __future__ import annotations

import html
import re

import pytest

from inspector.signatures import sign, verify_signature
from tests.recording_target import RecordingTarget
from tests.test_resend import SECRET, store

HX = {"HX-Request": "true"}
BODY = b'{"id":"a056V7R7NmNRjl70","type":"message.updated","payload":{"text":"hi"}}'


@pytest.fixture
def app(sqlite_app):
    return sqlite_app


@pytest.fixture
def target():
    with RecordingTarget() as running:
        yield running


def panel_html(client, request_id: int, **args) -> str:
    response = client.get(f"/requests/{request_id}/resend-panel", query_string=args, headers=HX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_detail_page_shows_the_panel_with_the_pretty_body(app, client, endpoint):
    request_id = store(app, endpoint["token"], BODY)
    page = client.get(f"/requests/{request_id}").get_data(as_text=True)
    assert f'id="resend-{request_id}"' in page
    textarea = re.search(r'<textarea name="body"[^>]*>\n(.*?)</textarea>', page, re.S).group(1)
    assert html.unescape(textarea) == (
        '{\n  "id": "a056V7R7NmNRjl70",\n  "type": "message.updated",'
        '\n  "payload": {\n    "text": "hi"\n  }\n}')
    assert "Not sent again yet." in page
    raw = panel_html(client, request_id, raw=1)
    assert html.unescape(re.search(r"<textarea[^>]*>\n(.*?)</textarea>", raw, re.S).group(1)) \
        == BODY.decode()
    assert 'value="raw"' in raw


def test_binary_body_cannot_be_edited_but_can_be_resent(app, client, endpoint):
    request_id = store(app, endpoint["token"], b"\xff\x00\xfe", [("content-type", "image/png")])
    page = panel_html(client, request_id)
    assert "<textarea" not in page and "cannot be edited here" in page
    assert "Resend</button>" in page


def test_unedited_pretty_text_sends_the_original_bytes(app, client, endpoint, target):
    request_id = store(app, endpoint["token"], BODY)
    pretty = re.search(r"<textarea[^>]*>\n(.*?)</textarea>", panel_html(client, request_id),
                       re.S).group(1)
    form = {"url": target.url(), "action": "edit", "mode": "pretty",
            "body": html.unescape(pretty).replace("\n", "\r\n")}  # as a browser posts a textarea
    response = client.post(f"/requests/{request_id}/resend", data=form, headers=HX)
    got = target.wait_for(1)[0]
    assert got.body == BODY
    assert got.header("x-protocol-signature") == [sign(BODY, SECRET)]
    assert "· edited" not in response.get_data(as_text=True)
    assert "· re-signed" not in response.get_data(as_text=True)


def test_edit_and_resend_resigns_and_lists_attempts_newest_first(app, client, endpoint, target):
    request_id = store(app, endpoint["token"], BODY)
    client.post(f"/requests/{request_id}/resend", data={"url": target.url(), "action": "resend"},
                headers=HX)
    edited = '{"id":"a056V7R7NmNRjl70","type":"message.updated","payload":{"text":"bye"}}'
    page = client.post(f"/requests/{request_id}/resend",
                       data={"url": target.url(), "action": "edit", "mode": "raw", "body": edited},
                       headers=HX).get_data(as_text=True)
    first, second = target.wait_for(2)
    assert first.body == BODY and second.body == edited.encode()
    assert verify_signature(second.body, second.headers, [SECRET], "X-Protocol-Signature").status \
        == "valid"
    ids = [int(i) for i in re.findall(r'data-resend-id="(\d+)"', page)]
    assert len(ids) == 2 and ids[0] > ids[1]
    assert "edited · re-signed" in page
    # The attempts link to the diff feature's page (our /resends/compare is only a fallback).
    assert f"/diff/resends?left={ids[1]}&amp;right={ids[0]}" in page
    assert client.get(f"/diff/resends?left={ids[1]}&right={ids[0]}").status_code == 200


def test_resign_checkbox_on_an_unedited_request(app, client, endpoint, target):
    request_id = store(app, endpoint["token"], BODY, [("x-protocol-signature", "stale")])
    client.post(f"/requests/{request_id}/resend",
                data={"url": target.url(), "action": "resend", "resign": "1"}, headers=HX)
    got = target.wait_for(1)[0]
    assert got.body == BODY and got.header("x-protocol-signature") == [sign(BODY, SECRET)]


def test_hostile_answers_are_escaped(app, client, endpoint):
    request_id = store(app, endpoint["token"], BODY)
    evil = b"<script>alert(1)</script><img src=x onerror=alert(2)>"
    with RecordingTarget(body=evil, headers=(("X-Evil", "<b>bold</b>"),)) as target:
        page = client.post(f"/requests/{request_id}/resend", data={"url": target.url()},
                           headers=HX).get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<img src=x" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_answers_with_hidden_characters_are_labelled_in_the_panel(app, client, endpoint):
    """An app's answer is as hostile as a capture: U+202E cannot turn "evil" into "live"."""
    request_id = store(app, endpoint["token"], BODY)
    rlo = "\u202e".encode()
    on_the_wire = (rlo + b"evil").decode("latin-1")  # header bytes, as http.server sends them
    with RecordingTarget(body=b"ok " + rlo + b"evil", headers=(("X-Say", on_the_wire),)) as target:
        page = client.post(f"/requests/{request_id}/resend", data={"url": target.url()},
                           headers=HX).get_data(as_text=True)
    label = '<span class="invisible-char" title="U+202E RIGHT-TO-LEFT OVERRIDE">U+202E</span>'
    assert f"ok {label}evil</pre>" in page
    assert f"<td>{label}evil</td>" in page
    assert "\u202e" not in page


def test_errors_and_refusals_show_in_the_panel(app, client, endpoint):
    request_id = store(app, endpoint["token"], BODY)
    refused = client.post(f"/requests/{request_id}/resend", data={"url": "http://10.0.0.1/"},
                          headers=HX).get_data(as_text=True)
    assert 'class="form-error" role="alert">Refused to send to 10.0.0.1' in refused
    down = client.post(f"/requests/{request_id}/resend", data={"url": "http://127.0.0.1:9/"},
                       headers=HX).get_data(as_text=True)
    assert "connection refused at 127.0.0.1:9 — is your app running?" in down
    assert "no answer" in down


def test_cut_answer_says_the_cap(app, client, endpoint):
    app.config["FORWARD_MAX_RESPONSE_BYTES"] = 10
    request_id = store(app, endpoint["token"], BODY)
    with RecordingTarget(body=b"0123456789abcdef") as target:
        page = client.post(f"/requests/{request_id}/resend", data={"url": target.url()},
                           headers=HX).get_data(as_text=True)
    assert "Only the first 10 bytes of the answer were kept" in page
    assert "0123456789</pre>" in page


def test_row_button_resends_to_the_forward_url(app, client, endpoint, target):
    request_id = store(app, endpoint["token"], BODY)
    listing = client.get(f"/endpoints/{endpoint['token']}").get_data(as_text=True)
    assert f'id="row-actions-{request_id}"' in listing
    missing = client.post(f"/requests/{request_id}/quick-resend", headers=HX).get_data(as_text=True)
    assert "set the endpoint&#39;s forward URL" in missing and 'class="badge resend-status' in missing
    client.patch(f"/api/endpoints/{endpoint['token']}", json={"forward_url": target.url("/in")})
    done = client.post(f"/requests/{request_id}/quick-resend", headers=HX).get_data(as_text=True)
    assert re.search(r'resend-2xx"[^>]*>200 · [\d.]+ ms', done)
    assert f'id="row-actions-{request_id}"' in done
    assert target.wait_for(1)[0].target == "/in"


def test_compare_fallback_diffs_two_answers_escaped(app, client, endpoint):
    request_id = store(app, endpoint["token"], BODY)
    ids = []
    for body in (b'{"ok": true, "n": 1}', b'{"ok": false, "n": "<i>2</i>"}'):
        with RecordingTarget(body=body) as target:
            ids.append(client.post(f"/api/requests/{request_id}/resend",
                                   json={"url": target.url()}).json["id"])
    page = client.get(f"/resends/compare?left={ids[0]}&right={ids[1]}").get_data(as_text=True)
    assert '-  &#34;ok&#34;: true,' in page
    assert '+  &#34;n&#34;: &#34;&lt;i&gt;2&lt;/i&gt;&#34;' in page
    assert client.get("/resends/compare?left=1").status_code == 404


def test_cross_site_form_post_is_refused(app, client, endpoint, target):
    request_id = store(app, endpoint["token"], BODY)
    response = client.post(f"/requests/{request_id}/resend", data={"url": target.url()},
                           headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert target.received == []


@pytest.mark.browser
@pytest.mark.server
def test_resend_and_edit_in_the_browser(server_factory, page):
    """Real Chromium under the dashboard's CSP: Resend, Edit & resend, the row button."""
    import httpx

    # The list page holds a live stream; a short keep-alive lets the server stop quickly.
    live_server = server_factory(extra_env={"INSPECTOR_STREAM_KEEPALIVE": "1"})
    with RecordingTarget(body=b'{"ok": "<b>x</b>"}') as target:
        ep = httpx.post(live_server.url + "/api/endpoints",
                        json={"secret": SECRET, "forward_url": target.url()}).json()
        request_id = httpx.post(f"{live_server.url}/hooks/{ep['token']}", content=BODY,
                                headers={"Content-Type": "application/json"}).json()["id"]
        panel = f"#resend-{request_id}"
        page.goto(f"{live_server.url}/requests/{request_id}")
        page.click(f"{panel} button[value=resend]")
        page.locator(f"{panel} .attempt").first.wait_for()
        page.click(f"{panel} summary:has-text('Edit')")
        editor = page.locator(f"{panel} textarea")
        editor.fill(editor.input_value().replace('"hi"', '"bye"'))
        page.click(f"{panel} button[value=edit]")
        page.locator(f"{panel} .attempt").nth(1).wait_for()
        assert "edited · re-signed" in page.inner_text(f"{panel} .attempt >> nth=0")
        assert page.locator(f"{panel} pre").first.text_content() == '{"ok": "<b>x</b>"}'
        page.goto(f"{live_server.url}/endpoints/{ep['token']}")
        page.click(f"#row-actions-{request_id} button")
        page.locator(f"#row-actions-{request_id} .resend-status").wait_for()
        first, edited, row = target.wait_for(3)
    assert first.body == BODY and row.body == BODY
    assert b'"bye"' in edited.body
    assert verify_signature(edited.body, edited.headers, [SECRET], "X-Protocol-Signature").status \
        == "valid"
