"""Line ends in the side-by-side diff: the CR of a CRLF is said once above the view instead
of labelled on every line; a lone CR, mixed line ends and every other control character keep
their labels, and the JSON API's unified text keeps the exact characters."""
from __future__ import annotations

import re

from inspector.render import reveal_line
from inspector.textdiff import LineEnds, line_ends

from .test_compare import send
from .test_diff_views import add_attempt, page_text, section

CR_LABEL = '<span class="invisible-char" title="U+000D CR control character">U+000D</span>'
FORM = "multipart/form-data; boundary=XyZ"


def multipart(*fields: tuple[str, str], end: str = "\r\n") -> bytes:
    """A multipart/form-data body as browsers send it: every line ends with `end`."""
    lines = []
    for name, value in fields:
        lines += ["--XyZ", f'Content-Disposition: form-data; name="{name}"', "", value]
    return (end.join([*lines, "--XyZ--"]) + end).encode()


def compared(client, token: str, left: bytes, right: bytes) -> tuple[str, dict]:
    """The diff page's side-by-side panel and the API answer for two captured bodies."""
    ids = send(client, token, left, FORM), send(client, token, right, FORM)
    query = f"left={ids[0]}&right={ids[1]}"
    return section(page_text(client, f"/diff?{query}"), "sxs"), client.get(f"/api/diff?{query}").json


def cells(sxs: str, side: str) -> list[str]:
    """The HTML of one side's text cells, top to bottom."""
    column = 1 if side == "left" else 3
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[column]
            for row in re.findall(r'<tr class="sxs-row.*?</tr>', sxs, re.S)]


def test_crlf_line_ends_are_said_once_not_labelled_on_each_line(client, endpoint):
    left = multipart(("name", "Ada"), ("note", "Hello"))
    right = multipart(("name", "Ada"), ("note", "Hello, world"))
    sxs, answer = compared(client, endpoint["token"], left, right)
    assert "U+000D" not in sxs
    assert '<p class="line-ends muted">Line ends: CRLF on both sides. The CR of a CRLF is not marked on each line.</p>' in sxs
    assert cells(sxs, "left")[:2] == ["--XyZ", "Content-Disposition: form-data; name=&#34;name&#34;"]
    assert re.search(r'<td class="sxs-text sxs-del">Hello</td>', sxs)
    assert re.search(r'<td class="sxs-text sxs-ins">Hello, world</td>', sxs)
    # the API's unified text is the bodies' own lines, CRs and all
    assert answer["kind"] == "text"
    assert answer["unified"].endswith(" \r\n-Hello\r\n+Hello, world\r\n --XyZ--\r\n")
    assert answer["rows"][0]["left_text"] == "--XyZ\r"
    # the whole page says nothing per line either, nor does the detail pane's raw view
    page = page_text(client, f"/diff?left={answer['left']}&right={answer['right']}")
    assert "U+000D" not in page
    assert "U+000D" not in page_text(client, f"/requests/{answer['right']}")


def test_a_lone_cr_keeps_its_label_in_a_crlf_body(client, endpoint):
    left = multipart(("note", "one"))
    # a lone CR inside a value, and one ending the body where no LF follows
    right = multipart(("note", "one\rtwo")) + b"tail\r"
    sxs, answer = compared(client, endpoint["token"], left, right)
    right_cells = cells(sxs, "right")
    assert right_cells[3] == f"one{CR_LABEL}two"
    assert right_cells[-1] == f"tail{CR_LABEL}"
    assert sxs.count(CR_LABEL) == 2
    assert "Line ends: CRLF on both sides." in sxs
    assert answer["unified"].endswith("-one\r\n+one\rtwo\r\n --XyZ--\r\n-\n+tail\r\n")


def test_mixed_line_ends_keep_their_labels_and_are_noted(client, endpoint):
    left = multipart(("note", "same"))
    right = left.replace(b"\r\n\r\n", b"\r\n\n")  # the blank line before the value ends with a bare LF
    sxs, answer = compared(client, endpoint["token"], left, right)
    assert '<p class="line-ends notice">Line ends differ: left CRLF, right mixed (4 CRLF, 1 LF).' in sxs
    assert "In a body with mixed line ends every CR is marked." in sxs
    assert [cell.endswith(CR_LABEL) for cell in cells(sxs, "right")] == [True, True, False, True, True]
    assert CR_LABEL not in "".join(cells(sxs, "left"))
    assert [row["tag"] for row in answer["rows"]].count("replace") == 1


def test_crlf_against_lf_is_a_notice(client, endpoint):
    left = multipart(("note", "same"))
    right = multipart(("note", "same"), end="\n")
    sxs, answer = compared(client, endpoint["token"], left, right)
    assert ('<p class="line-ends notice">Line ends differ: left CRLF, right LF. '
            "The CR of a CRLF is not marked on each line.</p>") in sxs
    assert "U+000D" not in sxs
    assert all(row["tag"] == "replace" for row in answer["rows"])  # every line really differs
    assert answer["unified"].startswith("--- left\n+++ right\n@@ -1,5 +1,5 @@\n---XyZ\r\n")


def test_hostile_values_in_crlf_bodies_are_still_escaped_and_labelled(client, endpoint):
    hostile = "</td></tr><script>alert(1)</script>\u202eevil\x07"
    sxs, _ = compared(client, endpoint["token"], multipart(("note", "x")), multipart(("note", hostile)))
    assert "<script>" not in sxs and "</td></tr><script>" not in sxs
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in sxs
    assert "U+202E" in sxs and "U+0007" in sxs and "\u202e" not in sxs and "\x07" not in sxs
    assert "U+000D" not in sxs  # only the line ends go unlabelled


def test_resend_answers_with_crlf_line_ends(app, client, endpoint):
    request_id = send(client, endpoint["token"], b'{"a": 1}')
    headers = [["Content-Type", "text/plain"]]
    ok = add_attempt(app, request_id, 200, b"status: ok\r\ncount: 1\r\n", headers)
    other = add_attempt(app, request_id, 200, b"status: ok\r\ncount: 2\r\n", headers)
    sxs = section(page_text(client, f"/diff/resends?left={ok}&right={other}"), "sxs")
    assert "U+000D" not in sxs and "Line ends: CRLF on both sides." in sxs
    assert cells(sxs, "right") == ["status: ok", "count: 2"]


def test_only_text_diffs_with_crlf_get_the_note(client, endpoint):
    token = endpoint["token"]
    notes = {}
    for kind, left, right, content_type in (
            ("json", b'{\r\n"a": 1\r\n}\r\n', b'{\r\n"a": 2\r\n}\r\n', "application/json"),  # re-indented lines
            ("lf", b"a\nb\n", b"a\nc\n", "text/plain"),
            ("crlf", b"a\r\nb\r\n", b"a\r\nc\r\n", "text/plain")):
        ids = send(client, token, left, content_type), send(client, token, right, content_type)
        notes[kind] = re.findall(r'<p class="line-ends[^"]*">', page_text(client, f"/diff?left={ids[0]}&right={ids[1]}"))
    assert notes == {"json": [], "lf": [], "crlf": ['<p class="line-ends muted">']}


def test_line_ends_counts_text_and_bytes_alike():
    for text in ("a\r\nb\nc\rd\r\n", "a\r\nb\nc\rd\r\n".encode()):
        assert line_ends(text) == LineEnds(crlf=2, lf=1, cr=1)
    assert line_ends("a\r\nb\r\n").style == "CRLF" and line_ends("a\nb").style == "LF"
    assert line_ends("one line\r").style == "none" and line_ends("").newlines == 0
    assert line_ends("a\r\nb\n").describe() == "mixed (1 CRLF, 1 LF)"


def test_reveal_line_leaves_out_only_a_final_cr_it_is_told_ends_the_line():
    assert reveal_line("a\rb\r", crlf_end=True) == f"a{CR_LABEL}b"
    assert reveal_line("a\r") == f"a{CR_LABEL}"
    assert reveal_line("<b>\r", crlf_end=True) == "&lt;b&gt;"
    assert reveal_line(None) == ""
