"""The diff pages, their JSON API and the "changes since" panel of the request detail."""
from __future__ import annotations

import json
import re
from decimal import Decimal
from html import unescape

import pytest
from markupsafe import escape

from inspector.models import Resend, db

from .test_compare import OBJECT, event, send

HX = {"HX-Request": "true"}
HOSTILE_BODY = json.dumps({"<script>alert(1)</script>": "<img src=x onerror=alert(2)>",
                           "v": "</td></tr><script>alert(3)</script>"}).encode()


def pair(client, token: str, left: bytes, right: bytes, left_type: str = "application/json",
         right_type: str = "application/json", **right_headers) -> tuple[int, int]:
    """Capture two requests; their ids."""
    return send(client, token, left, left_type), send(client, token, right, right_type, **right_headers)


def page_text(client, url: str, status: int = 200, **kw) -> str:
    """A page's HTML, after checking its status."""
    response = client.get(url, **kw)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def section(page: str, name: str) -> str:
    """The HTML of one panel of the diff view (`changes`, `headers`, `sxs`, `unified`)."""
    return re.search(rf'<section class="panel diff-{name}-panel".*?</section>', page, re.S).group(0)


def listed_paths(html: str) -> list[str]:
    """Paths of the changes a list shows, unescaped."""
    return [unescape(path) for path in re.findall(r'<code class="diff-path">(.*?)</code>', html)]


# --- the JSON API -----------------------------------------------------------------------------

def test_api_diff_has_the_contract_shape(client, endpoint):
    left, right = pair(client, endpoint["token"], event("message.created", message="Hello"),
                       event("message.updated", message="Hello, world"), Traceparent="00-abc-01")
    response = client.get(f"/api/diff?left={left}&right={right}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    answer = response.json
    assert {"changes", "headers", "unified", "kind", "note", "left", "right", "noise", "rows"} <= set(answer)
    assert (answer["left"], answer["right"], answer["kind"], answer["note"]) == (left, right, "json", None)
    for change in answer["changes"] + answer["headers"]:
        assert set(change) == {"op", "path", "left", "right", "noisy"} and change["op"] in ("added", "removed", "changed")
    changes = {c["path"]: c for c in answer["changes"]}
    assert changes["payload.message"] == {"op": "changed", "path": "payload.message", "left": "Hello",
                                          "right": "Hello, world", "noisy": False}
    assert changes["id"]["noisy"] is True and changes["type"]["noisy"] is False
    headers = {c["path"]: c for c in answer["headers"]}
    assert headers["traceparent"] == {"op": "added", "path": "traceparent", "left": None, "right": "00-abc-01",
                                      "noisy": True}
    assert '-    "message": "Hello",\n+    "message": "Hello, world",\n' in answer["unified"]
    assert {"left_lineno", "left_text", "right_lineno", "right_text", "tag"} == set(answer["rows"][0])


def test_api_numbers_keep_their_exact_text(client, endpoint):
    left, right = pair(client, endpoint["token"],
                       b'{"big": 123456789012345678901234567890, "one": 1, "price": 1.50, "tiny": 1e-400}',
                       b'{"big": 123456789012345678901234567891, "one": 1.0, "price": 1.5, "tiny": 2E-400}')
    text = client.get(f"/api/diff?left={left}&right={right}").get_data(as_text=True)
    for fragment in ('"left": 123456789012345678901234567890', '"right": 123456789012345678901234567891',
                     '"left": 1e-400', '"right": 2E-400'):
        assert fragment in text
    # 1 and 1.0, 1.50 and 1.5 are the same numbers; the text diff shows the spelling
    assert '"path": "price"' not in text and '"path": "one"' not in text
    answer = json.loads(text, parse_float=Decimal)
    assert [c["path"] for c in answer["changes"]] == ["big", "tiny"]
    assert '-  "price": 1.50,\n' in answer["unified"] and '+  "price": 1.5,\n' in answer["unified"]
    assert '-  "one": 1,\n' in answer["unified"] and '+  "one": 1.0,\n' in answer["unified"]


@pytest.mark.parametrize(("query", "status", "message"), [
    ("", 400, "Give two request ids: ?left=<id>&right=<id> (left and right missing)."),
    ("?left=1", 400, "Give two request ids: ?left=<id>&right=<id> (right missing)."),
    ("?left=1&right=", 400, "Give two request ids: ?left=<id>&right=<id> (right missing)."),
    ("?left=abc&right=1", 400, "left must be a request id (a whole number)."),
    ("?left=1&right=-2", 400, "right must be a request id (a whole number)."),
    ("?left=1&right=%D9%A3", 400, "right must be a request id (a whole number)."),  # an Arabic-Indic 3
    ("?left=424242&right=424243", 404, "No request with id 424242."),
    ("?left=0&right=1", 404, "No request with id 0."),
    ("?left=99999999999999999999999999&right=1", 404, "No request with id 99999999999999999999999999."),
])
def test_api_errors_are_json_with_a_clear_message(client, query, status, message):
    response = client.get("/api/diff" + query)
    assert (response.status_code, response.mimetype, response.json) == (status, "application/json", {"error": message})
    page = client.get("/diff" + query) if query else None
    if page is not None:  # the page answers the same status, in HTML, with the form to try again
        assert page.status_code == status and page.mimetype == "text/html"
        assert str(escape(message)) in page.get_data(as_text=True)
        assert 'name="left"' in page.get_data(as_text=True)


def test_unknown_ids_on_a_known_pair(client, endpoint):
    known = send(client, endpoint["token"], b"{}")
    response = client.get(f"/api/diff?left={known}&right={known + 1000}")
    assert (response.status_code, response.json) == (404, {"error": f"No request with id {known + 1000}."})


# --- every pair of bodies gets an answer ---------------------------------------------------------

DEEP = b"[" * 10_000 + b"1" + b"]" * 10_000
EDGE_CASES = {
    "ten thousand levels deep": (DEEP, DEEP.replace(b"1", b"2"), "application/json", "application/json",
                                 "nested too deeply for a structural diff", "text"),
    "deep objects": (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, b"{}", "application/json", "application/json",
                     "left body is nested too deeply", "text"),
    "invalid JSON": (b'{"a": 1,}', b'{"a": 2}', "application/json", "application/json",
                     "left body is not valid JSON", "text"),
    "JSON against a form": (b'{"a": "1"}', b"a=1", "application/json", "application/x-www-form-urlencoded",
                            "content types differ (application/json vs application/x-www-form-urlencoded)", "text"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x01", b"\x89PNG\r\n\x1a\n\x00\x02", "image/png", "image/png",
               "binary, 10 vs 10 bytes, SHA-256 differs", "binary"),
    "same binary": (b"\x00\xff", b"\x00\xff", "application/octet-stream", "application/octet-stream",
                    "binary, 2 vs 2 bytes, SHA-256 equal", "binary"),
    "empty": (b"", b"", "", "", "both bodies are empty", "text"),
    "one empty": (b"", b'{"a": 1}', "application/json", "application/json", "left body is not valid JSON: empty body",
                  "text"),
    "NaN": (b"[NaN]", b"[1]", "application/json", "application/json", "NaN is not a JSON value", "text"),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_every_pair_of_bodies_gets_an_answer_with_its_note(client, endpoint, case):
    left_body, right_body, left_type, right_type, note, kind = EDGE_CASES[case]
    left, right = pair(client, endpoint["token"], left_body, right_body, left_type, right_type)
    answer = client.get(f"/api/diff?left={left}&right={right}")
    assert answer.status_code == 200 and note in answer.json["note"] and answer.json["kind"] == kind
    page = page_text(client, f"/diff?left={left}&right={right}")
    assert str(escape(note)) in page
    for noise in ("hide", "show"):
        assert client.get(f"/diff?left={left}&right={right}&noise={noise}", headers=HX).status_code == 200


def test_values_too_deep_for_the_encoder_are_still_answered(client, endpoint):
    deep = b'{"a": ' + b"[" * 900 + b"1" + b"]" * 900 + b"}"
    left, right = pair(client, endpoint["token"], b'{"a": 1}', deep)
    answer = client.get(f"/api/diff?left={left}&right={right}")
    assert answer.status_code == 200 and [c["path"] for c in answer.json["changes"]] == ["a"]
    assert client.get(f"/diff?left={left}&right={right}").status_code == 200


# --- the page ------------------------------------------------------------------------------------

def test_the_page_shows_changes_headers_side_by_side_and_unified(client, endpoint):
    left, right = pair(client, endpoint["token"], event("message.created", message="Hello"),
                       event("message.updated", message="Hello, world"), **{"X-Trace-Id": "t-2", "Accept": "*/*"})
    response = client.get(f"/diff?left={left}&right={right}")
    page = response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "HX-Request" in response.headers["Vary"] and "<html" in page
    assert f'href="/requests/{left}"' in page and f'href="/requests/{right}"' in page
    assert 'style=' not in page and "<script>" not in page.split("</head>")[1]
    changes = section(page, "changes")
    assert '<code class="diff-path">payload.message</code> <del class="diff-old">&#34;Hello&#34;</del>' in changes
    assert '<ins class="diff-new">&#34;Hello, world&#34;</ins>' in changes
    assert 'class="diff-change op-changed is-noisy"' in changes  # the event id: shown, marked noisy
    headers = section(page, "headers")
    assert '<details class="noisy-headers">' in headers and "noisy header" in headers
    sxs = section(page, "sxs")
    assert re.search(r'<td class="sxs-text sxs-del">\s*&#34;message&#34;: &#34;Hello&#34;,</td>', sxs)
    assert re.search(r'<td class="sxs-text sxs-ins">\s*&#34;message&#34;: &#34;Hello, world&#34;,</td>', sxs)
    assert '<td class="sxs-text">  &#34;payload&#34;: {</td>' in sxs
    assert "+    &#34;message&#34;: &#34;Hello, world&#34;," in section(page, "unified")


def test_the_page_lists_exactly_what_the_api_answers(client, endpoint):
    left, right = pair(client, endpoint["token"], event("message.created", message="a"),
                       event("message.updated", message="b", reactions=[{"emoji": "x"}]), **{"X-Request-Id": "r"})
    for noise in ("show", "hide"):
        query = f"left={left}&right={right}&noise={noise}"
        answer = client.get(f"/api/diff?{query}").json
        page = page_text(client, f"/diff?{query}")
        assert listed_paths(section(page, "changes")) == [c["path"] for c in answer["changes"]]
        assert listed_paths(section(page, "headers")) == [c["path"] for c in answer["headers"]]
        assert page.count('<tr class="sxs-row') == len(answer["rows"])


def test_the_noise_toggle_hides_ids_timestamps_and_signatures(client, endpoint):
    left, right = pair(client, endpoint["token"], event("message.created", message="a"),
                       event("message.updated", message="b", updated_at=1), **{"X-Protocol-Signature": "ab"})
    shown = page_text(client, f"/diff?left={left}&right={right}")
    toggle = re.search(r'<a class="button small noise-toggle"[^>]*>', shown).group(0)
    hide_url = f"/diff?left={left}&amp;right={right}&amp;noise=hide"
    assert f'href="{hide_url}"' in toggle and f'hx-get="{hide_url}"' in toggle and 'aria-checked="false"' in toggle
    assert 'hx-target="#diff-view"' in toggle and 'hx-push-url="true"' in toggle
    assert "payload.updated_at" in section(shown, "changes")

    hidden = client.get(f"/diff?left={left}&right={right}&noise=hide", headers=HX)
    fragment = hidden.get_data(as_text=True)
    assert fragment.startswith('<div id="diff-view"') and "<html" not in fragment
    assert "HX-Request" in hidden.headers["Vary"]
    assert 'aria-checked="true"' in fragment and "Show noisy fields (" in fragment
    paths = listed_paths(section(fragment, "changes"))
    assert "payload.message" in paths and "type" in paths
    assert not {"id", "payload.updated_at", "payload.created_at"} & set(paths)
    assert "x-protocol-signature" not in section(fragment, "headers") and "noisy-headers" not in fragment
    answer = client.get(f"/api/diff?left={left}&right={right}&noise=hide").json
    assert answer["noise"] == "hide" and answer["hidden"] > 0 and not any(c["noisy"] for c in answer["changes"])


def test_hostile_keys_values_and_headers_are_escaped(client, endpoint):
    left, right = pair(client, endpoint["token"], b'{"v": 1}', HOSTILE_BODY,
                       **{"X-Evil": "<script>alert(4)</script>", "X-Trace-Id": "<b>x</b>"})
    page = page_text(client, f"/diff?left={left}&right={right}")
    for raw in ("<script>alert", "<img src=x", "</td></tr><script>", "<b>x</b>"):
        assert raw not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;" in page
    answer = client.get(f"/api/diff?left={left}&right={right}").json
    assert '["<script>alert(1)</script>"]' in [c["path"] for c in answer["changes"]]


def test_the_form_alone_and_the_compare_button(client, endpoint):
    page = page_text(client, "/diff")
    assert '<form class="diff-form card" method="get" action="/diff">' in page
    assert 'name="left"' in page and 'name="right"' in page and "tick two rows" in page
    listing = page_text(client, f"/endpoints/{endpoint['token']}")
    assert 'id="compare-selected" data-diff-url="/diff"' in listing


def test_swap_and_json_links_keep_the_noise_setting(client, endpoint):
    left, right = pair(client, endpoint["token"], b'{"a": 1}', b'{"a": 2}')
    page = page_text(client, f"/diff?left={left}&right={right}&noise=hide")
    assert f'href="/diff?left={right}&amp;right={left}&amp;noise=hide">Swap sides' in page
    assert f'href="/api/diff?left={left}&amp;right={right}&amp;noise=hide">JSON' in page


def test_comparing_with_a_request_whose_body_was_refused(app, client, endpoint):
    app.config["MAX_BODY_BYTES"] = 50
    left, right = pair(client, endpoint["token"], b'{"a": 1}', b'{"a": "' + b"x" * 100 + b'"}')
    page = page_text(client, f"/diff?left={left}&right={right}")
    assert "the right request&#39;s body was not stored (over the size limit)" in page


# --- the automatic context in the request detail ---------------------------------------------------

def test_the_detail_shows_what_changed_since_the_previous_event_about_the_object(client, endpoint):
    token = endpoint["token"]
    first = send(client, token, event("message.created", message="Hello"))
    send(client, token, event("contact.created", object_id="c_other"))
    second = send(client, token, event("message.updated", message="Hello, <b>world</b>"))
    detail = page_text(client, f"/requests/{second}", headers=HX)
    panel = re.search(r'<section class="panel diff-context".*?</section>', detail, re.S).group(0)
    assert f'href="/requests/{first}">#{first}</a>' in panel
    assert f'href="/diff?left={first}&amp;right={second}">Full diff #{first} → #{second}' in panel
    assert ('<code class="diff-path">payload.message</code> <del class="diff-old">&#34;Hello&#34;</del>'
            ' <span class="diff-arrow" aria-label="becomes">→</span>'
            ' <ins class="diff-new">&#34;Hello, &lt;b&gt;world&lt;/b&gt;&#34;</ins>') in panel
    first_detail = page_text(client, f"/requests/{first}")
    assert f"First event seen about message <code>{OBJECT}</code> on this endpoint." in first_detail


def test_the_detail_links_to_the_diff_of_big_bodies_instead(client, endpoint):
    token = endpoint["token"]
    padding = "x" * (1024 * 1024 + 10)
    first = send(client, token, event("message.created", message="a", padding=padding))
    second = send(client, token, event("message.updated", message="b", padding=padding))
    panel = page_text(client, f"/requests/{second}", headers=HX)
    assert "Bodies over 1.0 MB are not diffed here: open the full diff." in panel
    assert f'href="/diff?left={first}&amp;right={second}"' in panel and "diff-old" not in panel


def test_no_context_panel_without_an_object(client, endpoint):
    plain = send(client, endpoint["token"], b"hello", "text/plain")
    assert "diff-context" not in page_text(client, f"/requests/{plain}")


def test_api_previous_diff(client, endpoint):
    token = endpoint["token"]
    first = send(client, token, event("message.created", message="Hello"))
    second = send(client, token, event("message.updated", message="Bye"))
    plain = send(client, token, b"hello", "text/plain")
    answer = client.get(f"/api/requests/{second}/previous-diff").json
    assert (answer["request"], answer["previous"], answer["object"]) == (second, first, {"type": "message", "id": OBJECT})
    assert answer["diff_url"] == f"/diff?left={first}&right={second}"
    assert answer["diff"]["left"] == first and "payload.message" in [c["path"] for c in answer["diff"]["changes"]]
    assert answer["diff"] == client.get(f"/api/diff?left={first}&right={second}").json
    none_before = client.get(f"/api/requests/{first}/previous-diff").json
    assert (none_before["previous"], none_before["diff"]) == (None, None)
    assert none_before["message"] == f"First event seen about message {OBJECT} on this endpoint."
    assert client.get(f"/api/requests/{plain}/previous-diff").json["object"] is None
    missing = client.get("/api/requests/987654/previous-diff")
    assert (missing.status_code, missing.json) == (404, {"error": "No request with id 987654."})


# --- the answers of two resend attempts ------------------------------------------------------------

def add_attempt(app, request_id: int, status: int | None, body: bytes, headers: list, error: str | None = None) -> int:
    """Record a resend attempt directly; its id."""
    with app.app_context():
        attempt = Resend(request_id=request_id, url="http://localhost:3000/hook", method="POST", body_sha256="0" * 64,
                         status_code=status, error=error, duration_ms=12.5, response_headers=headers,
                         response_body=body)
        db.session.add(attempt)
        db.session.commit()
        return attempt.id


def test_resend_answers_are_diffed_with_the_same_page(app, client, endpoint):
    request_id = send(client, endpoint["token"], b'{"a": 1}')
    ok = add_attempt(app, request_id, 200, b'{"ok": true, "n": 1}', [["Content-Type", "application/json"]])
    failed = add_attempt(app, request_id, 500, b'{"ok": false, "n": "<i>2</i>"}',
                         [["Content-Type", "application/json"], ["Date", "Mon"]])
    page = page_text(client, f"/diff/resends?left={ok}&right={failed}")
    assert "Compare the answers of two resend attempts" in page and "answer status 200 vs status 500" in page
    assert f'href="/requests/{request_id}#attempt-{ok}"' in page
    assert '<ins class="diff-new">&#34;&lt;i&gt;2&lt;/i&gt;&#34;</ins>' in section(page, "changes")
    answer = client.get(f"/api/diff/resends?left={ok}&right={failed}").json
    assert [c["path"] for c in answer["changes"]] == ["n", "ok"] and answer["headers"][0]["path"] == "date"
    missing = client.get(f"/api/diff/resends?left={ok}&right=999999")
    assert (missing.status_code, missing.json) == (404, {"error": "No resend with id 999999."})
    assert client.get(f"/diff/resends?left={ok}&right=999999").status_code == 404
    detail = page_text(client, f"/requests/{request_id}")
    assert f'href="/diff/resends?left={ok}&amp;right={failed}"' in detail
    assert 'action="/diff/resends"' in detail
