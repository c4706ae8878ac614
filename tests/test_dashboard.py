"""The HTML dashboard on both stores: home, create, paste a URL, endpoint page, list, detail."""
from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser

import pytest

from inspector import endpoint_pages
from inspector.samples import sample_body
from inspector.signatures import sign

SECRET = "whsec_test_secret_12345"
HTMX = {"HX-Request": "true"}
XSS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>']


def capture(client, token, body=b"", headers=None, path="", query=""):
    """Send one request to the capture URL; returns its id."""
    url = f"/hooks/{token}{path}" + (f"?{query}" if query else "")
    response = client.post(url, data=body, headers=headers or {})
    assert response.status_code in (200, 413), response.data
    return int(response.headers["X-Inspector-Request-Id"])


def send_event(client, token, event_type="message.created", signed=True, **kw):
    """Capture a sample event, signed with the test secret unless told otherwise."""
    body = sample_body(event_type, **kw)
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["X-Protocol-Signature"] = sign(body, SECRET)
    return capture(client, token, body, headers)


def row_ids(html: str) -> list[int]:
    """The request ids of the list rows, in page order."""
    return [int(i) for i in re.findall(r'<li class="req[^"]*" id="req-(\d+)"', html)]


class TagCollector(HTMLParser):
    """Every start tag of a page with its attributes, as a browser would parse them."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_no_inline_script(html: str):
    """All script comes from files and no attribute runs code: a strict CSP works.

    Parsed, not searched: escaped captured text may well contain "onerror=".
    """
    parser = TagCollector()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag != "img", attrs
        assert tag != "script" or attrs.get("src"), "inline <script>"
        assert not [a for a in attrs if a.startswith(("on", "hx-on", "data-hx-on"))], (tag, attrs)
        assert "style" not in attrs, (tag, attrs)


# --- home -------------------------------------------------------------------------------

def test_home_lists_endpoints_with_counts_and_last_activity(client, endpoint):
    client.post("/api/endpoints", json={"name": "Quiet one"})
    for _ in range(3):
        send_event(client, endpoint["token"])
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Test" in html and "Quiet one" in html
    assert "3 requests" in html and "0 requests" in html
    assert "nothing received yet" in html and "just now" in html
    assert f'href="/endpoints/{endpoint["token"]}"' in html
    assert_no_inline_script(html)
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_home_stats_are_counts_and_the_newest_arrival_per_endpoint(app, client, endpoint):
    client.post("/api/endpoints", json={"name": "Quiet one"})
    for _ in range(3):
        send_event(client, endpoint["token"])
    newest = client.get(f"/api/endpoints/{endpoint['token']}/requests?limit=1").json["requests"][0]
    with app.app_context():
        stats = endpoint_pages.endpoint_stats()
    (endpoint_id, (count, last)), = stats.items()  # the quiet endpoint has no row
    assert count == 3
    assert last.strftime("%Y-%m-%dT%H:%M:%S") == newest["received_at"][:19]


def test_home_empty_state_says_what_to_do(client):
    html = client.get("/").get_data(as_text=True)
    assert "No endpoints yet" in html and "Create endpoint" in html


def test_create_endpoint_redirects_to_its_page(client):
    response = client.post("/endpoints", data={
        "name": "Billing", "secret": "  spaced secret 9876 ", "signature_header": "x-Cribbly-signature",
        "forward_url": "http://localhost:3000/hooks"})
    assert response.status_code == 303
    token = response.headers["Location"].rsplit("/", 1)[1]
    ep = client.get(f"/api/endpoints/{token}").json
    assert ep["name"] == "Billing" and ep["signature_header"] == "x-Cribbly-signature"
    assert ep["secret_hint"] == "…876 " and ep["forward_url"] == "http://localhost:3000/hooks"


def test_create_with_htmx_navigates_with_hx_redirect(client):
    response = client.post("/endpoints", data={"name": "A", "secret": "", "signature_header": "",
                                               "forward_url": ""}, headers=HTMX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/endpoints/")
    token = response.headers["HX-Redirect"].rsplit("/", 1)[1]
    ep = client.get(f"/api/endpoints/{token}").json
    assert ep["has_secret"] is False and ep["signature_header"] == "X-Protocol-Signature"


@pytest.mark.parametrize("field, value, message", [
    ("signature_header", "x-DocsSmith Demo2-signature", "did you mean &#34;x-DocsSmith-Demo2-signature&#34;?"),
    ("forward_url", "ftp://example.com", "must be an http:// or https:// URL"),
    ("name", "n" * 201, "name is too long"),
])
def test_create_errors_are_shown_in_the_form(client, field, value, message):
    data = {"name": "Mine", "secret": "s3cret-never-echoed", "signature_header": "", "forward_url": "",
            field: value}
    fragment = client.post("/endpoints", data=data, headers=HTMX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 422
    assert message in html and "<html" not in html and html.lstrip().startswith("<form")
    assert re.search(rf'<input name="{field}"[^>]*aria-invalid="true"', html)
    assert html.count(message) == 1  # under its field, not also above the form
    assert "s3cret-never-echoed" not in html and "Type the secret again" in html
    page = client.post("/endpoints", data=data)  # without JS: the whole home page, form filled in
    assert page.status_code == 422 and "<html" in page.get_data(as_text=True)
    assert message in page.get_data(as_text=True)
    assert client.get("/api/endpoints").json["endpoints"] == []


# --- paste a URL ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["capture", "capture_subpath", "dashboard", "token"])
def test_paste_opens_the_endpoint(client, endpoint, shape):
    token = endpoint["token"]
    pasted = {"capture": endpoint["capture_url"], "capture_subpath": endpoint["capture_url"] + "/a/b?c=1",
              "dashboard": endpoint["dashboard_url"], "token": token}[shape]
    response = client.get("/open", query_string={"url": pasted})
    assert response.status_code == 303 and response.headers["Location"] == f"/endpoints/{token}"
    response = client.get("/open", query_string={"url": pasted}, headers=HTMX)
    assert response.headers["HX-Redirect"] == f"/endpoints/{token}"


def test_paste_unknown_endpoint_says_so(client, endpoint):
    unknown = "http://127.0.0.1:8420/hooks/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    page = client.get("/open", query_string={"url": unknown})
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and "no endpoint with that token" in html and "<html" in html
    fragment = client.get("/open", query_string={"url": unknown}, headers=HTMX)
    assert fragment.status_code == 404 and "<html" not in fragment.get_data(as_text=True)
    garbage = client.get("/open", query_string={"url": XSS[1]}, headers=HTMX)
    assert garbage.status_code == 400 and "not a capture URL" in garbage.get_data(as_text=True)
    # A token unknown here, in a URL of another host: say how to reach it from there.
    elsewhere = client.get("/open", headers=HTMX, query_string={
        "url": "https://inspector.example:8420/hooks/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
    assert "names inspector.example:8420" in elsewhere.get_data(as_text=True)
    assert "inspector forward" in elsewhere.get_data(as_text=True)
    here = client.get("/open", headers=HTMX, query_string={
        "url": "http://localhost/hooks/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
    assert "inspector forward" not in here.get_data(as_text=True)


def test_paste_a_request_link_opens_the_request(client, endpoint):
    rid = client.post(f"/hooks/{endpoint['token']}", data=b"{}").json["id"]
    response = client.get("/open", query_string={"url": f"http://localhost:8420/requests/{rid}"})
    assert response.status_code == 303 and response.headers["Location"] == f"/requests/{rid}"
    missing = client.get("/open", query_string={"url": f"/requests/{rid + 1000}"}, headers=HTMX)
    assert missing.status_code == 404 and f"no request #{rid + 1000}" in missing.get_data(as_text=True)


# --- endpoint page ---------------------------------------------------------------------------

def test_endpoint_page_shows_capture_url_and_commands_but_never_the_secret(client, endpoint):
    page = client.get(f"/endpoints/{endpoint['token']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'<code id="capture-url" class="capture-url">{endpoint["capture_url"]}</code>' in html
    assert 'data-copy="capture-url"' in html
    assert f"inspector send message.updated --url {endpoint['capture_url']} --secret &#34;$WEBHOOK_SECRET&#34;" in html
    assert "…2345" in html and SECRET not in html
    assert "No requests yet — send one:" in html and "curl -X POST" in html
    assert 'sse-connect="/endpoints/' in html and 'sse-swap="request"' in html
    assert_no_inline_script(html)


def test_unknown_endpoint_is_a_clear_404_page(client):
    page = client.get("/endpoints/no-such-token-here")
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and "<html" in html
    assert "No endpoint has this token on this inspector" in html
    assert client.get("/endpoints/no-such-token-here/stream").status_code == 404


def test_list_rows_newest_first_with_badges_in_words_and_marks(app, client, endpoint):
    token = endpoint["token"]
    app.config["MAX_BODY_BYTES"] = 2000
    valid = send_event(client, token, "message.updated", object_id="msg_obj_1")
    first = send_event(client, token, "group.created", event_id="evt_dup")
    retry = send_event(client, token, "group.created", event_id="evt_dup")
    unsigned = send_event(client, token, "contact.deleted", signed=False)
    body = sample_body("message.created")
    invalid = capture(client, token, body, {"X-Protocol-Signature": sign(body + b" ", SECRET)})
    rejected = capture(client, token, b"x" * 3000, {"X-Protocol-Signature": "00"}, path="/big")
    html = client.get(f"/endpoints/{token}").get_data(as_text=True)
    assert row_ids(html) == [rejected, invalid, unsigned, retry, first, valid]
    rows = dict(zip(row_ids(html), re.split(r'<li class="req', html)[1:]))
    assert ">valid<" in rows[valid] and "message.updated" in rows[valid] and "msg_obj_1" in rows[valid]
    assert ">missing<" in rows[unsigned] and ">invalid<" in rows[invalid]
    assert f"duplicate of #{first}" in rows[retry] and "duplicate" not in rows[first]
    assert "413 too large" in rows[rejected] and "/big" in rows[rejected] and "2.9 KB" in rows[rejected]
    assert 'name="compare"' in rows[valid] and f'value="{valid}"' in rows[valid]
    assert f'hx-get="/requests/{valid}"' in rows[valid] and 'hx-push-url="true"' in rows[valid]
    assert "Compare selected" in html


@pytest.mark.parametrize("args, expected", [
    ({"event_type": "message.updated"}, ["mu"]),
    ({"resource_type": "contact"}, ["cc"]),
    ({"signature": "missing"}, ["cc"]),
    ({"q": "needle-in-body"}, ["mc"]),
    ({"event_type": "message.updated", "signature": "valid"}, ["mu"]),
    ({"event_type": "group.deleted"}, []),
])
def test_filters_narrow_the_list(client, endpoint, args, expected):
    token = endpoint["token"]
    ids = {"mc": send_event(client, token, "message.created", object_id="needle-in-body"),
           "mu": send_event(client, token, "message.updated"),
           "cc": send_event(client, token, "contact.created", signed=False)}
    page = client.get(f"/endpoints/{token}", query_string=args)
    html = page.get_data(as_text=True)
    assert row_ids(html) == [ids[name] for name in expected]
    fragment = client.get(f"/endpoints/{token}", query_string=args, headers=HTMX)
    assert "HX-Request" in fragment.headers["Vary"]
    piece = fragment.get_data(as_text=True)
    assert piece.lstrip().startswith('<div id="request-list"')
    assert row_ids(piece) == row_ids(html)
    stream_url = re.search(r'sse-connect="([^"]+)"', piece).group(1)
    for name, value in args.items():  # the live stream carries the same filter
        assert f"{name}={value}" in stream_url.replace("%20", " ").replace("+", " ")
    if not expected:
        assert "No requests match these filters" in html


def test_bad_filter_is_a_400_page(client, endpoint):
    page = client.get(f"/endpoints/{endpoint['token']}?signature=forged")
    assert page.status_code == 400 and "signature must be one of" in page.get_data(as_text=True)
    assert client.get(f"/endpoints/{endpoint['token']}?before=abc").status_code == 400


def test_an_object_filter_shows_as_a_chip_that_clears_it(client, endpoint):
    token = endpoint["token"]
    one = send_event(client, token, "message.created", object_id="OBJ1")
    other = send_event(client, token, "message.created", object_id="OBJ2")
    html = client.get(f"/endpoints/{token}?resource_id=OBJ1").get_data(as_text=True)
    assert row_ids(html) == [one]
    filters = html[html.index('<form id="filters"'):html.index("</form>", html.index('<form id="filters"'))]
    chip = re.search(r'<label class="filter-chip"[^>]*>(.*?)</label>', filters, re.S)
    assert chip and re.sub(r"<[^>]+>|\s+", " ", chip.group(1)).split() == ["object", "OBJ1"]
    # The chip is a ticked box of the filter form: unticked, the form sends no resource_id
    # (the list, the stream and bulk replay, which takes this form, all widen again).
    box = re.search(r'<input type="checkbox" name="resource_id"[^>]*>', chip.group(1)).group(0)
    assert 'value="OBJ1"' in box and "checked" in box
    assert row_ids(client.get(f"/endpoints/{token}").get_data(as_text=True)) == [other, one]
    assert "filter-chip" not in client.get(f"/endpoints/{token}").get_data(as_text=True)
    # A captured value is escaped wherever the chip shows it.
    hostile = client.get(f"/endpoints/{token}", query_string={"resource_id": XSS[1]})
    page = hostile.get_data(as_text=True)
    assert hostile.status_code == 200 and "<img src=x" not in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert_no_inline_script(page)


def test_older_rows_load_as_a_fragment(client, endpoint, monkeypatch):
    monkeypatch.setattr(endpoint_pages, "PAGE_SIZE", 2)
    token = endpoint["token"]
    ids = [send_event(client, token) for _ in range(5)]
    html = client.get(f"/endpoints/{token}").get_data(as_text=True)
    assert row_ids(html) == ids[:2:-1]
    more = re.search(r'hx-get="([^"]+before=\d+[^"]*)"\s+hx-trigger="revealed', html).group(1)
    page2 = client.get(more.replace("&amp;", "&"), headers=HTMX)
    piece = page2.get_data(as_text=True)
    assert row_ids(piece) == [ids[2], ids[1]] and "<html" not in piece
    assert 'id="request-list"' not in piece and 'hx-trigger="revealed' in piece
    page3 = client.get(re.search(r'hx-get="([^"]+)"\s+hx-trigger="revealed', piece).group(1)
                       .replace("&amp;", "&"), headers=HTMX).get_data(as_text=True)
    assert row_ids(page3) == [ids[0]] and "revealed" not in page3 and "No requests" not in page3
    # Without JS the same link shows the older page in full, without a live stream.
    plain = client.get(f"/endpoints/{token}?before={ids[2]}").get_data(as_text=True)
    assert row_ids(plain) == [ids[1], ids[0]] and "sse-connect" not in plain


# --- settings ----------------------------------------------------------------------------

def test_settings_errors_and_recheck(client):
    created = client.post("/api/endpoints", json={"name": "Late secret"}).json
    token = created["token"]
    request_id = send_event(client, token)
    assert client.get(f"/api/requests/{request_id}").json["signature"]["status"] == "unconfigured"
    bad = client.post(f"/endpoints/{token}/settings", headers=HTMX, data={
        "name": "Late secret", "secret": SECRET, "signature_header": "x-DocsSmith Demo2-signature",
        "forward_url": ""})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "x-DocsSmith-Demo2-signature" in html and SECRET not in html
    saved = client.post(f"/endpoints/{token}/settings", headers=HTMX, data={
        "name": "Renamed", "secret": SECRET, "signature_header": "X-Protocol-Signature", "forward_url": ""})
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "Signatures of the stored request checked again" in html
    assert saved.headers["HX-Trigger"] == "requests-changed"
    assert 'hx-swap-oob="true"' in html and "Renamed" in html and SECRET not in html and "…2345" in html
    assert client.get(f"/api/requests/{request_id}").json["signature"]["status"] == "valid"
    # An empty secret field keeps the secret; the checkbox removes it.
    client.post(f"/endpoints/{token}/settings", data={"name": "Renamed", "secret": "",
                                                      "signature_header": "X-Protocol-Signature"})
    assert client.get(f"/api/endpoints/{token}").json["has_secret"] is True
    plain = client.post(f"/endpoints/{token}/settings", data={
        "name": "Renamed", "secret": "", "clear_secret": "1", "signature_header": "X-Protocol-Signature"})
    assert plain.status_code == 303
    assert client.get(f"/api/endpoints/{token}").json["has_secret"] is False


def test_settings_rotate_secrets_keep_both_then_only_the_newest(client):
    old, new = "whsec_old_secret_aaaa", "whsec_new_secret_bbbb"
    token = client.post("/api/endpoints", json={"secret": old}).json["token"]
    form = {"name": "", "signature_header": "X-Protocol-Signature", "forward_url": ""}

    def status_signed_with(secret: str) -> str:
        body = sample_body("message.created")
        rid = capture(client, token, body, {"X-Protocol-Signature": sign(body, secret)})
        return client.get(f"/api/requests/{rid}").json["signature"]["status"]

    page = client.get(f"/endpoints/{token}").get_data(as_text=True)
    assert 'name="keep_secrets"' in page and 'name="only_newest"' not in page
    kept = client.post(f"/endpoints/{token}/settings", headers=HTMX,
                       data={**form, "secret": new, "keep_secrets": "1"}).get_data(as_text=True)
    assert "any of 2 secrets" in kept and "…bbbb</code> (newest), <code>…aaaa" in kept
    assert "2 secrets, newest …bbbb" in kept  # the summary line, swapped in out of band
    assert old not in kept and new not in kept
    assert status_signed_with(old) == status_signed_with(new) == "valid"
    client.post(f"/endpoints/{token}/settings", data={**form, "secret": "", "only_newest": "1"})
    assert status_signed_with(new) == "valid" and status_signed_with(old) == "invalid"
    # Without the checkbox a new secret replaces every one.
    client.post(f"/endpoints/{token}/settings", data={**form, "secret": old})
    assert status_signed_with(old) == "valid" and status_signed_with(new) == "invalid"


def test_settings_warn_about_whitespace_around_a_new_secret(client, endpoint):
    form = {"name": "", "signature_header": "X-Protocol-Signature", "forward_url": ""}
    saved = client.post(f"/endpoints/{endpoint['token']}/settings", headers=HTMX,
                        data={**form, "secret": "whsec_pasted_1234\n"}).get_data(as_text=True)
    assert "starts or ends with a space or a line break" in saved
    clean = client.post(f"/endpoints/{endpoint['token']}/settings", headers=HTMX,
                        data={**form, "secret": "whsec_pasted_1234"}).get_data(as_text=True)
    assert "line break" not in clean


def test_cross_site_posts_are_refused(client, endpoint):
    token = endpoint["token"]
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}):
        response = client.post(f"/endpoints/{token}/settings", headers=headers,
                               data={"forward_url": "http://evil.example/steal"})
        assert response.status_code == 403
        assert client.post("/endpoints", headers=headers, data={"name": "x"}).status_code == 403
    assert client.get(f"/api/endpoints/{token}").json["forward_url"] is None
    same = client.post(f"/endpoints/{token}/settings", data={"name": "ok"},
                       headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"})
    assert same.status_code == 303


# --- request detail ----------------------------------------------------------------------------

def test_detail_page_and_fragment_share_one_url(client, endpoint):
    request_id = send_event(client, endpoint["token"], "message.updated")
    page = client.get(f"/requests/{request_id}")
    fragment = client.get(f"/requests/{request_id}", headers=HTMX)
    restore = client.get(f"/requests/{request_id}", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert page.status_code == fragment.status_code == 200
    assert page.headers["Vary"] == fragment.headers["Vary"]
    assert "HX-Request" in page.headers["Vary"]
    assert "<html" in page.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    assert "<html" in restore.get_data(as_text=True)
    assert f'id="detail-{request_id}"' in fragment.get_data(as_text=True)
    assert '_resend_panel' not in page.get_data(as_text=True)
    missing = client.get("/requests/999999", headers=HTMX)
    assert missing.status_code == 404 and "No request #999999" in missing.get_data(as_text=True)


def test_detail_shows_headers_query_json_signature_and_event_dates(client, endpoint):
    body = (b'{"id":"evt_77","type":"message.updated","payload":{"id":"msg_9",'
            b'"big":123456789012345678901234567890,"price":1.10,"created_at":1718000000,'
            b'"updated_at":1718003600}}')
    request_id = capture(client, endpoint["token"], body, {
        "Content-Type": "application/json", "X-Zeta": "first", "X-Alpha": "second",
        "X-Protocol-Signature": "sha256=" + sign(body, SECRET)}, path="/sub/path", query="a=1&b=two")
    html = client.get(f"/requests/{request_id}").get_data(as_text=True)
    names = re.findall(r'<th scope="row">([^<]+)</th>', html)
    assert names.index("x-zeta") < names.index("x-alpha")  # arrival order, not sorted
    assert "?a=1&amp;b=two" in html and "<td>two</td>" in html and "/sub/path" in html
    assert '<span class="mi">123456789012345678901234567890</span>' in html
    assert '<span class="mf">1.10</span>' in html
    assert ">invalid<" in html and "sha256=" in html and "prefix" in html  # the hint, in words
    assert f'<strong class="signed-size">{len(body)}</strong>' in html
    assert hashlib.sha256(body).hexdigest() in html
    assert "2024-06-10T06:13:20Z" in html and "2024-06-10T07:13:20Z" in html
    assert "payload.created_at" in html and "msg_9" in html and "evt_77" in html
    assert f'id="curl-{request_id}"' in html and "--data-binary" in html
    assert f"{endpoint['capture_url']}/sub/path?a=1&amp;b=two" in html
    assert f'href="/api/requests/{request_id}/body"' in html


def test_binary_body_shows_hex_and_download(client, endpoint):
    request_id = capture(client, endpoint["token"], b"\x89PNG\r\n\x1a\n\x00\x00\xff",
                         {"Content-Type": "image/png"})
    html = client.get(f"/requests/{request_id}").get_data(as_text=True)
    assert "00000000  89 50 4e 47 0d 0a 1a 0a 00 00 ff" in html
    assert "Not UTF-8 text" in html and "printf &#39;" in html  # NUL bytes: piped through printf


def test_big_body_is_not_highlighted(client, endpoint):
    body = b'{"blob":"' + b"a" * (1024 * 1024 + 10) + b'"}'
    request_id = capture(client, endpoint["token"], body, {"Content-Type": "application/json"})
    html = client.get(f"/requests/{request_id}").get_data(as_text=True)
    panel = html[html.index('class="panel body-panel"'):]
    panel = panel[:panel.index("</section>")]
    assert "only the first 64 KB are shown" in panel and 'class="code highlight"' not in panel
    assert len(panel) < 300_000  # a 64 KB preview, its hex, not the whole megabyte
    # The replay downloads the body first, then sends it.
    assert "-o webhook-body.bin" in html and "/api/requests/" in html
    assert "--data-binary @webhook-body.bin" in html


def test_captured_markup_is_always_escaped(client, endpoint):
    token = endpoint["token"]
    body = ('{"id":"%s","type":"%s","payload":{"id":"%s"}}' % (XSS[0], XSS[1].replace('"', '\\"'), XSS[0])).encode()
    request_id = capture(client, token, body, {"Content-Type": XSS[1], "X-Evil": XSS[0] + XSS[1],
                                               "X-Protocol-Signature": XSS[1]},
                         path="/" + XSS[0], query="q=" + XSS[1])
    capture(client, token, XSS[1].encode(), {"X-Protocol-Signature": XSS[0]})
    pages = [client.get(f"/endpoints/{token}").get_data(as_text=True),
             client.get(f"/requests/{request_id}").get_data(as_text=True),
             client.get(f"/requests/{request_id}", headers=HTMX).get_data(as_text=True)]
    stream = client.get(f"/endpoints/{token}/stream?after=0", buffered=False)
    chunks = iter(stream.response)
    pages.append(next(chunks).decode() + next(chunks).decode())
    stream.close()
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert_no_inline_script(html)


# --- live stream -----------------------------------------------------------------------------------

def read_messages(response, count):
    """(id, event, data) of the first `count` SSE messages of a streaming response."""
    messages, buffer = [], ""
    for chunk in response.response:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            lines = block.split("\n")
            fields = [line.split(": ", 1) for line in lines if ": " in line and not line.startswith(":")]
            if any(name == "data" for name, _ in fields):
                data = "\n".join(value for name, value in fields if name == "data")
                first = dict(fields)
                messages.append((int(first["id"]), first.get("event"), data))
                if len(messages) == count:
                    return messages
    return messages


def test_stream_sends_rows_after_the_cursor_with_ids(client, endpoint):
    token = endpoint["token"]
    ids = [send_event(client, token) for _ in range(3)]
    response = client.get(f"/endpoints/{token}/stream?after={ids[0]}", buffered=False)
    assert response.mimetype == "text/event-stream"
    messages = read_messages(response, 2)
    response.close()
    assert [m[0] for m in messages] == ids[1:] and {m[1] for m in messages} == {"request"}
    assert row_ids(messages[0][2]) == [ids[1]]
    page = client.get(f"/endpoints/{token}").get_data(as_text=True)
    assert re.sub(r"\s+", " ", messages[1][2]) in re.sub(r"\s+", " ", page)  # the same partial


def test_stream_prefers_last_event_id_and_applies_filters(client, endpoint):
    token = endpoint["token"]
    created = send_event(client, token, "message.created")
    send_event(client, token, "message.updated")
    later = send_event(client, token, "message.created")
    response = client.get(f"/endpoints/{token}/stream?after=0&event_type=message.created",
                          headers={"Last-Event-ID": str(created)}, buffered=False)
    messages = read_messages(response, 1)
    response.close()
    assert [m[0] for m in messages] == [later]


def test_page_stream_starts_where_its_list_ends(client, endpoint):
    token = endpoint["token"]
    shown = send_event(client, token)
    html = client.get(f"/endpoints/{token}").get_data(as_text=True)
    stream_url = re.search(r'sse-connect="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert stream_url.endswith(f"after={shown}")
    new = send_event(client, token)
    response = client.get(stream_url, buffered=False)
    assert [m[0] for m in read_messages(response, 1)] == [new]
    response.close()


def test_download_link_only_for_a_stored_body(app, client, endpoint):
    """A rejected request's body was never stored, and an empty one has nothing to save:
    neither offers a download of zero bytes."""
    token = endpoint["token"]
    app.config["MAX_BODY_BYTES"] = 100
    stored = capture(client, token, b'{"a": 1}')
    rejected = capture(client, token, b"x" * 300)
    empty = capture(client, token, b"")
    pages = {rid: client.get(f"/requests/{rid}").get_data(as_text=True)
             for rid in (stored, rejected, empty)}
    assert f'href="/api/requests/{stored}/body" download>Download body' in pages[stored]
    assert "Download body" not in pages[rejected] and "body not stored" in pages[rejected]
    assert "Download body" not in pages[empty] and "no body" in pages[empty]
