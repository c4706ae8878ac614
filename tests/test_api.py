"""The JSON API of CONTRACT.md: endpoints, lists, filters, paging, errors, stream."""
from __future__ import annotations

import json

import pytest

from inspector.samples import sample_body
from inspector.signatures import sign

SECRET = "whsec_test_secret_12345"


def send(client, token, event_type="message.created", signed=True, **kw):
    """Capture one sample event; returns its request id."""
    body = sample_body(event_type, **kw)
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["X-Protocol-Signature"] = sign(body, SECRET)
    response = client.post(f"/hooks/{token}", data=body, headers=headers)
    assert response.status_code == 200
    return response.json["id"]


def test_create_endpoint_shape(client):
    response = client.post("/api/endpoints", json={"name": "Billing", "secret": "12345678abcd",
                                                   "forward_url": "http://localhost:3000/hooks"})
    assert response.status_code == 201
    ep = response.json
    assert len(ep["token"]) >= 22  # >= 128 bits, URL-safe
    assert ep["capture_url"] == f"http://localhost/hooks/{ep['token']}"
    assert ep["dashboard_url"] == f"http://localhost/endpoints/{ep['token']}"
    assert ep["signature_header"] == "X-Protocol-Signature"
    assert ep["has_secret"] is True and ep["secret_hint"] == "…abcd"
    assert "12345678abcd" not in json.dumps(ep)
    assert ep["forward_url"] == "http://localhost:3000/hooks"
    assert ep["created_at"].endswith("Z")


def test_numeric_looking_secret_stays_a_string(client):
    ep = client.post("/api/endpoints", json={"secret": "12345"}).json
    body = b'{"id":"e","type":"contact.created","payload":{"id":"c"}}'
    rid = client.post(f"/hooks/{ep['token']}", data=body,
                      headers={"X-Protocol-Signature": sign(body, "12345")}).json["id"]
    assert client.get(f"/api/requests/{rid}").json["signature"]["status"] == "valid"


@pytest.mark.parametrize("payload, message", [
    ({"signature_header": "x-DocsSmith Demo2-signature"}, "x-DocsSmith-Demo2-signature"),
    ({"name": 5}, "name must be a string"),
    ({"forward_url": "ftp://x"}, "forward_url"),
    ({"response_status": 99}, "response_status"),
    ({"colour": "red"}, "Unknown field"),
    ({"secrets": "notalist"}, "secrets must be a list"),
])
def test_create_endpoint_errors(client, payload, message):
    response = client.post("/api/endpoints", json=payload)
    assert response.status_code == 400
    assert message in response.json["error"]


def test_forward_url_to_our_own_capture_url_is_refused_on_save(client, endpoint):
    own = endpoint["capture_url"] + "/sub?x=1"
    created = client.post("/api/endpoints", json={"forward_url": own})
    assert created.status_code == 400 and "own capture URL" in created.json["error"]
    patched = client.patch(f"/api/endpoints/{endpoint['token']}", json={"forward_url": own})
    assert patched.status_code == 400 and "forward_url" in patched.json["error"]
    form = client.post(f"/endpoints/{endpoint['token']}/settings", headers={"HX-Request": "true"},
                       data={"name": "", "signature_header": "X-Protocol-Signature",
                             "forward_url": own})
    assert form.status_code == 422 and "own capture URL" in form.get_data(as_text=True)
    assert client.get(f"/api/endpoints/{endpoint['token']}").json["forward_url"] is None


def test_invalid_json_body_is_400(client):
    response = client.post("/api/endpoints", data=b"{not json", content_type="application/json")
    assert response.status_code == 400 and "not valid JSON" in response.json["error"]
    response = client.post("/api/endpoints", json=[1, 2])
    assert response.status_code == 400


def test_get_patch_delete_endpoint(client, endpoint):
    token = endpoint["token"]
    assert client.get(f"/api/endpoints/{token}").json["name"] == "Test"
    patched = client.patch(f"/api/endpoints/{token}", json={"name": "Renamed",
                                                            "signature_header": "x-Cribbly-signature"})
    assert patched.json["name"] == "Renamed"
    assert patched.json["signature_header"] == "x-Cribbly-signature"
    assert [e["token"] for e in client.get("/api/endpoints").json["endpoints"]] == [token]
    send(client, token)
    assert client.delete(f"/api/endpoints/{token}").status_code == 204
    assert client.get(f"/api/endpoints/{token}").status_code == 404
    assert client.post(f"/hooks/{token}", data=b"x").status_code == 404


def test_secret_rotation_both_secrets_verify(client):
    ep = client.post("/api/endpoints", json={"secrets": ["new-secret", "old-secret"]}).json
    assert ep["secret_hint"] == "…cret" and ep["secret_count"] == 2
    body = b'{"id":"e","type":"contact.created","payload":{"id":"c"}}'
    for secret in ("new-secret", "old-secret"):
        rid = client.post(f"/hooks/{ep['token']}", data=body,
                          headers={"X-Protocol-Signature": sign(body, secret)}).json["id"]
        assert client.get(f"/api/requests/{rid}").json["signature"]["status"] == "valid"


def test_list_filters_and_paging(client, endpoint):
    token = endpoint["token"]
    ids = [send(client, token, "message.created") for _ in range(3)]
    ids.append(send(client, token, "contact.updated", signed=False))
    ids.append(send(client, token, "message.updated", object_id="msg_findme"))
    url = f"/api/endpoints/{token}/requests"
    everything = client.get(url).json
    assert [r["id"] for r in everything["requests"]] == sorted(ids, reverse=True)
    assert everything["next_before"] is None
    by_type = client.get(url, query_string={"event_type": "message.created"}).json["requests"]
    assert [r["id"] for r in by_type] == sorted(ids[:3], reverse=True)
    missing = client.get(url, query_string={"signature": "missing"}).json["requests"]
    assert [r["id"] for r in missing] == [ids[3]]
    found = client.get(url, query_string={"q": "MSG_FINDME"}).json["requests"]
    assert [r["id"] for r in found] == [ids[4]]
    in_headers = client.get(url, query_string={"q": "x-protocol-SIGNATURE"}).json["requests"]
    assert len(in_headers) == 4
    page1 = client.get(url, query_string={"limit": 2}).json
    assert [r["id"] for r in page1["requests"]] == [ids[4], ids[3]]
    page2 = client.get(url, query_string={"limit": 2, "before": page1["next_before"]}).json
    assert [r["id"] for r in page2["requests"]] == [ids[2], ids[1]]
    page3 = client.get(url, query_string={"limit": 2, "before": page2["next_before"]}).json
    assert [r["id"] for r in page3["requests"]] == [ids[0]] and page3["next_before"] is None


def test_search_needle_with_like_wildcards_is_literal(client, endpoint):
    token = endpoint["token"]
    plain = client.post(f"/hooks/{token}", data=b"100 percent").json["id"]
    literal = client.post(f"/hooks/{token}", data=b"100% sure_thing").json["id"]
    url = f"/api/endpoints/{token}/requests"
    assert [r["id"] for r in client.get(url, query_string={"q": "100%"}).json["requests"]] == [literal]
    assert [r["id"] for r in client.get(url, query_string={"q": "e_t"}).json["requests"]] == [literal]
    assert plain


def test_search_finds_the_sub_path_and_query_as_sent(client, endpoint):
    token = endpoint["token"]
    routed = client.post(f"/hooks/{token}/billing/v2%20beta?Account=ACME&x_y=1",
                         data=b"{}").json["id"]
    client.post(f"/hooks/{token}/other", data=b"billing")
    url = f"/api/endpoints/{token}/requests"

    def found(q):
        return [r["id"] for r in client.get(url, query_string={"q": q}).json["requests"]]
    assert found("BILLING/V2%20") == [routed] and found("account=acme") == [routed]
    assert found("x_y=") == [routed] and found("x%y") == []  # LIKE wildcards stay literal


def test_search_non_ascii_and_binary(client, endpoint):
    token = endpoint["token"]
    rid = client.post(f"/hooks/{token}", data="I’m traveling".encode()).json["id"]
    client.post(f"/hooks/{token}", data=b"\xff\x00binary")
    url = f"/api/endpoints/{token}/requests"
    assert [r["id"] for r in client.get(url, query_string={"q": "i’m trav"}).json["requests"]] == [rid]


def test_search_folds_ascii_case_only_the_same_on_every_backend(client, endpoint):
    """Letters A-Z match either case; other letters match as typed, in the body and in
    the headers alike (SQLite's lower() folds ASCII only, and PostgreSQL is told to).
    Before, a needle with a capital non-ASCII letter found nothing, even as typed."""
    token = endpoint["token"]
    rid = client.post(f"/hooks/{token}", data="Bienvenue à l'ÉCOLE".encode(),
                      headers={"X-Note": "Ünïcode Header", "X-Quote": 'say "hi"'}).json["id"]
    url = f"/api/endpoints/{token}/requests"

    def found(q):
        return [r["id"] for r in client.get(url, query_string={"q": q}).json["requests"]]

    assert found("ÉCOLE") == [rid] and found("Écol") == [rid]  # as typed
    assert found("BIENVENUE à L") == [rid]  # ASCII folded, à as typed
    assert found("école") == [] and found("À L'") == []
    assert found("ÜNÏCODE header") == [] and found("Ünïcode HEADER") == [rid]
    assert found('SAY "hi"') == [rid]  # headers are JSON text: quotes stored escaped


@pytest.mark.parametrize("query, message", [
    ({"signature": "bogus"}, "signature must be one of"),
    ({"limit": "many"}, "limit must be a whole number"),
    ({"limit": "0"}, "limit must be between"),
    ({"before": "x"}, "before must be a request id"),
])
def test_list_parameter_errors(client, endpoint, query, message):
    response = client.get(f"/api/endpoints/{endpoint['token']}/requests", query_string=query)
    assert response.status_code == 400 and message in response.json["error"]


TOO_BIG = str(2**63)  # one past the largest id either store can hold


@pytest.mark.parametrize("method, path", [
    ("get", "/api/requests/{big}"), ("get", "/api/requests/{big}/body"),
    ("get", "/api/requests/{big}/previous-diff"), ("post", "/api/requests/{big}/resend"),
    ("get", "/api/replays/{big}"), ("post", "/api/replays/{big}/stop"),
    ("get", "/requests/{big}"), ("get", "/requests/{big}/resend-panel"),
    ("post", "/requests/{big}/resend"), ("post", "/requests/{big}/quick-resend"),
    ("get", "/replays/{big}"), ("post", "/replays/{big}/stop"),
    ("get", "/resends/compare?left={big}&right=1"),
    ("get", "/resends/compare?left=\u00b2&right=1"),
])
def test_ids_too_large_for_the_store_are_not_found(client, method, path):
    response = getattr(client, method)(path.format(big=TOO_BIG), json={})
    assert response.status_code == 404


@pytest.mark.parametrize("where", ["before", "after", "Last-Event-ID"])
def test_cursor_ids_too_large_for_the_store_are_refused(client, endpoint, where):
    token = endpoint["token"]
    path = "requests" if where == "before" else "events"
    headers = {where: TOO_BIG} if where == "Last-Event-ID" else {}
    query = {} if headers else {where: TOO_BIG}
    response = client.get(f"/api/endpoints/{token}/{path}", query_string=query, headers=headers)
    assert response.status_code == 400 and "too large" in response.json["error"]
    page = client.get(f"/endpoints/{token}", query_string={"before": TOO_BIG})
    assert page.status_code == 400


@pytest.mark.parametrize("payload, field", [
    ({"name": "\ud800"}, "name"), ({"name": "a\u0000b"}, "name"),
    ({"secret": "\udfff"}, "secret"), ({"secrets": ["ok", "\ud800"]}, "secrets"),
    ({"forward_url": "http://localhost:3000/\ud800"}, "forward_url"),
])
def test_text_no_store_can_keep_is_refused(client, endpoint, payload, field):
    raw = json.dumps(payload)  # keeps the escapes: a lone surrogate or a NUL on the wire
    for response in (
            client.post("/api/endpoints", data=raw, content_type="application/json"),
            client.patch(f"/api/endpoints/{endpoint['token']}", data=raw,
                         content_type="application/json")):
        assert response.status_code == 400, response.data
        assert field in response.json["error"]


def test_request_detail_and_raw_body(client, endpoint):
    rid = client.post(f"/hooks/{endpoint['token']}/a/b?x=1", data=b"\xff\xfe",
                      headers={"Content-Type": "image/x-test"}).json["id"]
    detail = client.get(f"/api/requests/{rid}").json
    assert detail["body_text"] is None and detail["body_base64"] == "//4="
    assert detail["resends"] == [] and isinstance(detail["headers"], list)
    body = client.get(f"/api/requests/{rid}/body")
    assert body.data == b"\xff\xfe" and body.headers["Content-Type"] == "image/x-test"
    assert body.headers["X-Content-Type-Options"] == "nosniff"
    assert body.headers["Content-Disposition"] == f'attachment; filename="request-{rid}.bin"'
    assert client.get("/api/requests/999999").status_code == 404
    assert client.get("/api/requests/999999").json["error"]


def test_clear_requests(client, endpoint):
    token = endpoint["token"]
    send(client, token)
    send(client, token)
    assert client.delete(f"/api/endpoints/{token}/requests").json == {"deleted": 2}
    assert client.get(f"/api/endpoints/{token}/requests").json["requests"] == []


def test_ids_not_reused_after_clear(client, endpoint):
    token = endpoint["token"]
    first = send(client, token)
    client.delete(f"/api/endpoints/{token}/requests")
    assert send(client, token) > first


def test_unknown_api_route_and_method_are_json(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and response.is_json
    response = client.put("/api/endpoints")
    assert response.status_code == 405 and response.is_json


def read_events(response, count):
    """Read `count` data events from a streaming SSE response."""
    events, buffer = [], ""
    for chunk in response.response:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if "data" in fields:
                events.append((int(fields["id"]), json.loads(fields["data"])))
                if len(events) == count:
                    return events
    return events


def test_event_stream_replays_after_last_event_id(client, endpoint):
    token = endpoint["token"]
    ids = [send(client, token, "message.created") for _ in range(3)]
    response = client.get(f"/api/endpoints/{token}/events",
                          headers={"Last-Event-ID": str(ids[0])}, buffered=False)
    assert response.mimetype == "text/event-stream"
    events = read_events(response, 2)
    response.close()
    assert [e[0] for e in events] == ids[1:]
    assert events[0][1]["id"] == ids[1] and events[0][1]["event"]["type"] == "message.created"
    assert "headers" not in events[0][1]  # the live event is a summary, never the body


@pytest.mark.parametrize(("content_type", "extension"), [
    ("application/json", "json"), ("application/json; charset=utf-8", "json"),
    ("application/vnd.api+json", "json"), ("text/xml", "xml"), ("text/plain", "txt"),
    ("application/x-www-form-urlencoded", "txt"), ("text/csv", "csv"),
    ("text/html", "bin"), ("image/svg+xml", "bin"), ("", "bin"),
])
def test_a_downloaded_body_is_named_for_its_type(client, endpoint, content_type, extension):
    """Never an extension a browser would run (HTML, SVG) for captured data."""
    headers = {"Content-Type": content_type} if content_type else {}
    rid = client.post(f"/hooks/{endpoint['token']}", data=b"a=1", headers=headers).json["id"]
    disposition = client.get(f"/api/requests/{rid}/body").headers["Content-Disposition"]
    assert disposition == f'attachment; filename="request-{rid}.{extension}"'
