"""Edit & resend keeps what the user did not touch; re-signing replaces old signatures;
bulk replay refuses a filter it cannot read (both stores)."""
from __future__ import annotations

import html
import json
import re

import pytest
import sqlalchemy as sa

from inspector.models import BulkReplay, Resend, db
from inspector.resend import build, pretty_body
from inspector.signatures import sign
from tests.recording_target import RecordingTarget
from tests.test_resend import SECRET, store

HX = {"HX-Request": "true"}
NUMBERS = (b'{"id":"e1","type":"message.updated","payload":{"id":"m1",'
           b'"n":12345678901234567890123,"f":1.10,"e":1e2,"E":2.5E-3,"z":-0,"x":-0.0}}')


@pytest.fixture
def target():
    with RecordingTarget() as running:
        yield running


def editor_text(client, request_id: int) -> str:
    """The text the panel's textarea starts with, as a browser reads it."""
    page = client.get(f"/requests/{request_id}/resend-panel", headers=HX)
    assert page.status_code == 200
    found = re.search(r'<textarea name="body"[^>]*>\n(.*?)</textarea>', page.get_data(as_text=True),
                      re.S)
    return html.unescape(found.group(1))


def send_edited(client, request_id: int, url: str, text: str, mode: str = "pretty"):
    """Post the panel's Edit & resend form as a browser does (textarea lines end in CRLF)."""
    form = {"url": url, "action": "edit", "mode": mode, "body": text.replace("\n", "\r\n")}
    return client.post(f"/requests/{request_id}/resend", data=form, headers=HX)


# ---- the editor keeps numbers as sent ----------------------------------------------------

def test_editor_shows_every_number_as_sent_and_an_edit_changes_only_the_edit(
        app, client, endpoint, target):
    request_id = store(app, endpoint["token"], NUMBERS)
    text = editor_text(client, request_id)
    for spelled in ('"n": 12345678901234567890123', '"f": 1.10', '"e": 1e2', '"E": 2.5E-3',
                    '"z": -0', '"x": -0.0'):
        assert spelled in text
    send_edited(client, request_id, target.url(), text.replace('"m1"', '"m2"'))
    got = target.wait_for(1)[0]
    assert got.body == text.replace('"m1"', '"m2"').encode()  # as typed, LF kept
    assert json.loads(got.body, parse_float=str, parse_int=str)["payload"] == {
        "id": "m2", "n": "12345678901234567890123", "f": "1.10", "e": "1e2", "E": "2.5E-3",
        "z": "-0", "x": "-0.0"}
    assert got.header("x-protocol-signature") == [sign(got.body, SECRET)]


def test_unchanged_pretty_text_of_a_crlf_body_sends_the_stored_bytes(app, client, endpoint,
                                                                      target):
    body = b'{\r\n  "id": "e1",\r\n  "f": 1.10\r\n}\r\n'
    request_id = store(app, endpoint["token"], body)
    text = editor_text(client, request_id)
    assert text == '{\n  "id": "e1",\n  "f": 1.10\n}'
    page = send_edited(client, request_id, target.url(), text).get_data(as_text=True)
    assert target.wait_for(1)[0].body == body
    assert "· edited" not in page
    with app.app_context():
        assert db.session.scalar(sa.select(Resend.edited)) is False


def test_pretty_body_keeps_key_order_and_declines_what_it_cannot_show():
    assert pretty_body(b'{"b":1,"a":[1.50,{"c":1E+2}]}') == (
        '{\n  "b": 1,\n  "a": [\n    1.50,\n    {\n      "c": 1E+2\n    }\n  ]\n}')
    assert pretty_body(b'"caf\\u00e9"') == '"café"'
    assert pretty_body(b"[1e999,-1E400," + b"9" * 5000 + b"]") == (
        "[\n  1e999,\n  -1E400,\n  " + "9" * 5000 + "\n]")  # beyond float and int()
    assert pretty_body(b'{"a":"\\ud800"}') is None  # no UTF-8 text for a lone surrogate
    assert pretty_body(b"[" * 100_000 + b"]" * 100_000) is None
    assert pretty_body(b"{nope") is None and pretty_body(b"\xff") is None


def test_a_body_the_editor_cannot_pretty_print_opens_raw(app, client, endpoint):
    for body in (b'{"a":"\\ud800"}', b"[" * 50_000 + b"]" * 50_000):
        request_id = store(app, endpoint["token"], body)
        assert editor_text(client, request_id) == body.decode()


# ---- re-signing replaces old signature headers --------------------------------------------

def test_build_puts_the_fresh_signature_in_place_of_every_old_one():
    headers = [("content-type", "application/json"), ("X-Signature", "old1"), ("a", "1"),
               ("x-protocol-signature", "old2"), ("X-Old", "old3"), ("b", "2")]
    out = build(method="POST", path="/", query="", headers=headers, body=b"{}",
                target="http://localhost/", new_body=b"[]", secret=SECRET,
                signature_header="X-Protocol-Signature")
    assert list(out.headers) == [("content-type", "application/json"),
                                 ("x-protocol-signature", sign(b"[]", SECRET)), ("a", "1"),
                                 ("X-Old", "old3"), ("b", "2"), ("X-Inspector-Forwarded", "1")]
    kept = build(method="POST", path="/", query="", headers=headers, body=b"{}",
                 target="http://localhost/", new_body=b"[]", resign=False, secret=SECRET,
                 signature_header="X-Protocol-Signature")
    assert list(kept.headers)[:-1] == headers  # not re-signing: nothing replaced


def test_resign_replaces_a_signature_sent_under_another_name(app, client, endpoint, target):
    body = b'{"id":"e1","type":"message.updated"}'
    request_id = store(app, endpoint["token"], body, [
        ("content-type", "application/json"), ("X-Signature", sign(body, SECRET)),
        ("user-agent", "Provider/1.0")])
    assert client.get(f"/api/requests/{request_id}").json["signature"]["status"] == "missing"
    attempt = client.post(f"/api/requests/{request_id}/resend",
                          json={"url": target.url(), "body": '{"id":"e2"}'}).json
    got = target.wait_for(1)[0]
    assert attempt["resigned"] is True
    assert [(n.lower(), v) for n, v in got.headers if n.lower().endswith("signature")] == [
        ("x-protocol-signature", sign(b'{"id":"e2"}', SECRET))]
    names = [n.lower() for n, _ in got.headers]
    assert names.index("x-protocol-signature") < names.index("user-agent")  # where the old one was


def test_resign_replaces_the_header_named_when_it_was_captured(app, client, target):
    token = client.post("/api/endpoints", json={"secret": SECRET,
                                                "signature_header": "X-Hub-Sig"}).json["token"]
    body = b'{"id":"e1","type":"message.updated"}'
    request_id = store(app, token, body, [("content-type", "application/json"),
                                          ("X-Hub-Sig", sign(body, SECRET))])
    assert client.patch(f"/api/endpoints/{token}",
                        json={"signature_header": "X-Protocol-Signature"}).status_code == 200
    verdict = client.get(f"/api/requests/{request_id}").json["signature"]
    assert (verdict["status"], verdict["header"]) == ("valid", "X-Hub-Sig")
    page = send_edited(client, request_id, target.url(), '{"id":"e2"}', mode="raw")
    assert page.status_code == 200
    got = target.wait_for(1)[0]
    assert got.header("X-Hub-Sig") == []
    assert got.header("X-Protocol-Signature") == [sign(b'{"id":"e2"}', SECRET)]


# ---- bulk replay refuses a filter it cannot read --------------------------------------------

def capture(client, token: str, event_type: str, n: int) -> None:
    body = json.dumps({"id": f"evt_{n}", "type": event_type, "payload": {"id": f"o{n}"}})
    client.post(f"/hooks/{token}", data=body, content_type="application/json")


def no_job_and_nothing_sent(app, target) -> None:
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(BulkReplay)) == 0
    assert target.received == []


@pytest.mark.parametrize("extra, named", [
    ({"event_type": 5}, "event_type must be a string"),
    ({"event_type": ["message.updated"]}, "event_type must be a string"),
    ({"signature": {"is": "valid"}}, "signature must be a string"),
    ({"q": True}, "q must be a string"),
    ({"type": "message.updated"}, "Unknown field(s): type."),
    ({"event_typ": "message.updated", "status": "valid"}, "Unknown field(s): event_typ, status."),
])
def test_api_replay_refuses_a_filter_it_cannot_read(app, client, endpoint, target, extra, named):
    for n, kind in enumerate(("message.updated", "message.created")):
        capture(client, endpoint["token"], kind, n)
    response = client.post(f"/api/endpoints/{endpoint['token']}/replays",
                           json={"url": target.url(), **extra})
    assert response.status_code == 400 and named in response.json["error"], response.json
    no_job_and_nothing_sent(app, target)


@pytest.mark.parametrize("form, named", [
    ({"type": "message.updated"}, "Unknown field(s): type."),
    ({"event_type": ["message.updated", ""]}, "event_type was given more than once"),
])
def test_form_replay_refuses_a_filter_it_cannot_read(app, client, endpoint, target, form, named):
    for n, kind in enumerate(("message.updated", "message.created")):
        capture(client, endpoint["token"], kind, n)
    page = client.post(f"/endpoints/{endpoint['token']}/replays", headers=HX,
                       data={"url": target.url(), "pacing": "fast", **form})
    assert 'class="form-error"' in page.get_data(as_text=True)
    assert named in html.unescape(page.get_data(as_text=True))
    no_job_and_nothing_sent(app, target)
