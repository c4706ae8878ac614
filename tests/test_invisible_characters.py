"""Bidi controls, invisible and control characters in captured data are shown as visible
`U+XXXX` labels on the dashboard (so `\u202eevil` cannot pass for "live"), while what is
copied, edited, downloaded or answered as JSON keeps the exact characters."""
from __future__ import annotations

import json
import re

HTMX = {"HX-Request": "true"}
RLO, PDF = "\u202e", "\u202c"
MARK = '<span class="invisible-char" title="U+{code} {name}">U+{code}</span>'
RLO_MARK = MARK.format(code="202E", name="RIGHT-TO-LEFT OVERRIDE")
PDF_MARK = MARK.format(code="202C", name="POP DIRECTIONAL FORMATTING")
NUL_MARK = MARK.format(code="0000", name="NUL control character")
HIDDEN = (RLO, PDF, "\x00")


def capture(client, token, body=b"", headers=None, query=""):
    """Send one request to the capture URL; returns its id."""
    response = client.post(f"/hooks/{token}" + (f"?{query}" if query else ""), data=body,
                           headers=headers or {})
    assert response.status_code == 200, response.data
    return int(response.headers["X-Inspector-Request-Id"])


def wire(text: str) -> str:
    """A header value as a real server hands it over: its UTF-8 bytes read as Latin-1."""
    return text.encode("utf-8").decode("latin-1")


def displayed(html: str) -> str:
    """The page without the places that must keep the exact characters: form fields
    (the resend editor) and the hidden twin the unified diff's Copy button reads."""
    html = re.sub(r"<textarea\b.*?</textarea>", "", html, flags=re.S)
    return re.sub(r"<pre hidden\b.*?</pre>", "", html, flags=re.S)


def assert_nothing_hidden(html: str):
    """No bidi control or NUL reaches the displayed page unlabelled."""
    shown = displayed(html)
    for char in HIDDEN:
        assert char not in shown, f"U+{ord(char):04X} shown raw"


def event(text: str, event_type: str = "message.created") -> bytes:
    """A JSON event about message msg_1 whose payload's text is `text`."""
    return json.dumps({"id": "evt_1", "type": event_type, "payload": {"id": "msg_1", "text": text}},
                      ensure_ascii=False).encode()


def test_detail_labels_header_body_and_query(client, endpoint):
    body = event(f"{RLO}RTL{PDF}")
    request_id = capture(client, endpoint["token"], body,
                         {"Content-Type": "application/json", "X-RTL": wire(f"{RLO}evil")},
                         query="x=%E2%80%AE&n=%00")
    for html in (client.get(f"/requests/{request_id}").get_data(as_text=True),
                 client.get(f"/requests/{request_id}", headers=HTMX).get_data(as_text=True)):
        assert f'<th scope="row">x-rtl</th><td>{RLO_MARK}evil</td>' in html
        pretty = html[html.index('<pre class="code highlight">'):]
        pretty = pretty[:pretty.index("</pre>")]
        assert f"{RLO_MARK}RTL{PDF_MARK}" in pretty and '<span class="nt">' in pretty  # still highlighted
        raw = html[html.index('<pre class="code raw">'):]
        assert f"{RLO_MARK}RTL{PDF_MARK}" in raw[:raw.index("</pre>")]
        assert f'<th scope="row">x</th><td>{RLO_MARK}</td>' in html
        assert f'<th scope="row">n</th><td>{NUL_MARK}</td>' in html
        assert 'class="notice invisible-notice"' in html
        assert_nothing_hidden(html)


def test_what_is_copied_edited_or_downloaded_keeps_the_characters(client, endpoint):
    body = event(f"{RLO}RTL{PDF}")
    request_id = capture(client, endpoint["token"], body,
                         {"Content-Type": "application/json", "X-RTL": wire(f"{RLO}evil")})
    assert client.get(f"/api/requests/{request_id}/body").data == body
    api = client.get(f"/api/requests/{request_id}").json
    assert ["x-rtl", wire(f"{RLO}evil")] in [list(pair) for pair in api["headers"]]
    html = client.get(f"/requests/{request_id}").get_data(as_text=True)
    editor = "".join(re.findall(r"<textarea\b.*?</textarea>", html, flags=re.S))
    assert f"{RLO}RTL{PDF}" in editor and "invisible-char" not in editor  # resend sends what it shows
    curl = html[html.index('<pre class="curl"'):]
    assert "invisible-char" not in curl[:curl.index("</pre>")]  # curl spells bytes as \x escapes


def test_plain_request_has_no_labels_or_note(client, endpoint):
    request_id = capture(client, endpoint["token"], event("plain text"),
                         {"Content-Type": "application/json", "X-Plain": "value"}, query="a=1")
    html = client.get(f"/requests/{request_id}").get_data(as_text=True)
    assert "invisible-char" not in html and "invisible-notice" not in html


def test_list_row_labels_event_fields(client, endpoint):
    capture(client, endpoint["token"], event("x", event_type=f"message.{RLO}created"),
            {"Content-Type": "application/json"})
    html = client.get(f"/endpoints/{endpoint['token']}").get_data(as_text=True)
    assert f'<span class="req-event">message.{RLO_MARK}created</span>' in html
    assert_nothing_hidden(html)


def test_diff_labels_changes_headers_side_by_side_and_unified(client, endpoint):
    token = endpoint["token"]
    left = capture(client, token, event("LTR"), {"Content-Type": "application/json", "X-RTL": "plain"})
    right = capture(client, token, event(f"{RLO}RTL{PDF}\x00"),
                    {"Content-Type": "application/json", "X-RTL": wire(f"{RLO}evil")})
    html = client.get(f"/diff?left={left}&right={right}").get_data(as_text=True)
    changes = html[html.index('class="panel diff-changes-panel"'):html.index('class="panel diff-headers-panel"')]
    assert f'<ins class="diff-new">&#34;{RLO_MARK}RTL{PDF_MARK}\\u0000&#34;</ins>' in changes
    headers = html[html.index('class="panel diff-headers-panel"'):html.index('class="panel diff-sxs-panel"')]
    # Header values are compared as the detail pane shows them (UTF-8 where they decode).
    x_rtl = re.search(r'<code class="diff-path">x-rtl</code>.*?</li>', headers, re.S).group()
    assert f'<ins class="diff-new">&#34;{RLO_MARK}evil&#34;</ins>' in x_rtl
    answer = client.get(f"/api/diff?left={left}&right={right}").json
    assert [c["right"] for c in answer["headers"] if c["path"] == "x-rtl"] == [f"{RLO}evil"]
    sxs = html[html.index('class="panel diff-sxs-panel"'):html.index('class="panel diff-unified-panel"')]
    assert re.search(rf'<td class="sxs-text sxs-ins">[^<]*&#34;text&#34;: &#34;{re.escape(RLO_MARK)}RTL', sxs)
    unified = html[html.index('class="panel diff-unified-panel"'):]
    assert re.search(rf'<pre class="code unified">.*\+.*{re.escape(RLO_MARK)}RTL{re.escape(PDF_MARK)}', unified, re.S)
    # The Copy button reads a hidden twin with the exact text, the same as the JSON answer's.
    copy_id = re.search(r'data-copy="(unified-[^"]+)"', unified).group(1)
    twin = re.search(rf'<pre hidden id="{copy_id}">(.*?)</pre>', unified, re.S).group(1)
    answer = client.get(f"/api/diff?left={left}&right={right}").json
    assert RLO in twin and RLO in answer["unified"]
    assert twin.replace("&#34;", '"') == answer["unified"]
    assert_nothing_hidden(html)


def test_detail_diff_context_labels_changes(client, endpoint):
    token = endpoint["token"]
    capture(client, token, event("LTR", "message.updated"), {"Content-Type": "application/json"})
    right = capture(client, token, event(f"{RLO}RTL", "message.updated"), {"Content-Type": "application/json"})
    html = client.get(f"/requests/{right}").get_data(as_text=True)
    panel = html[html.index('class="panel diff-context"'):]
    assert f"&#34;{RLO_MARK}RTL&#34;" in panel[:panel.index("</section>")]
    assert_nothing_hidden(html)
