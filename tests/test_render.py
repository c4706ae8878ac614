"""Pure display helpers: pretty JSON that keeps every number exact, hex dumps, sizes, times."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from markupsafe import Markup

from inspector.render import (HEX_LIMIT, HIGHLIGHT_LIMIT, PREVIEW_BYTES, body_view, has_invisible,
                              hex_dump, highlight_json, human_size, pretty_json, relative_time,
                              reveal_invisible, utc_iso)


def test_pretty_json_keeps_big_integers_and_float_spelling_exact():
    text = ('{"id":123456789012345678901234567890,"neg":-98765432109876543210,'
            '"price":1.10,"huge":1e400,"tiny":5E-324,"zero":-0.0}')
    pretty = pretty_json(text)
    for literal in ("123456789012345678901234567890", "-98765432109876543210", "1.10",
                    "1e400", "5E-324", "-0.0"):
        assert f": {literal}" in pretty
    # Same document, only whitespace changed.
    assert "".join(pretty.split()) == text


def test_pretty_json_integer_beyond_python_digit_limit():
    digits = "9" * 5000  # over sys.get_int_max_str_digits(): int() would refuse it
    assert digits in pretty_json('{"n": %s}' % digits)


def test_pretty_json_layout_and_string_escapes_untouched():
    text = '{"a":[],"b":{},"c":[1,{"d":"x\\"y\\u00e9 {,:} [ ]"}],"e":null,"f":true}'
    assert pretty_json(text) == (
        '{\n'
        '  "a": [],\n'
        '  "b": {},\n'
        '  "c": [\n'
        '    1,\n'
        '    {\n'
        '      "d": "x\\"y\\u00e9 {,:} [ ]"\n'
        '    }\n'
        '  ],\n'
        '  "e": null,\n'
        '  "f": true\n'
        '}')
    assert json.loads(pretty_json(text)) == json.loads(text)


def test_pretty_json_keeps_duplicate_keys_and_order():
    assert pretty_json('{"b":1,"a":2,"b":3}') == '{\n  "b": 1,\n  "a": 2,\n  "b": 3\n}'


@pytest.mark.parametrize("text", ["", "{", '{"a":}', "not json", "{'a': 1}", "[1,]", "[" * 100_000])
def test_pretty_json_refuses_non_json(text):
    assert pretty_json(text) is None


def test_pretty_json_scalars_and_bom():
    assert pretty_json("42") == "42"
    assert pretty_json('\ufeff{"a":1}') == '{\n  "a": 1\n}'


def test_highlight_escapes_captured_markup():
    html = highlight_json(pretty_json('{"x":"<script>alert(1)</script>","y":"\\"><img src=x>"}'))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert '<span class="nt">' in html  # keys highlighted


def test_hex_dump_layout_and_limit():
    dump = hex_dump(bytes(range(20)))
    assert dump.splitlines()[0] == ("00000000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"
                                    "  |................|")
    assert dump.splitlines()[1].startswith("00000010  10 11 12 13")
    long = hex_dump(b"A" * (HEX_LIMIT + 10))
    assert long.endswith("… 10 more bytes (download the body to see them)")


def test_body_view_kinds():
    assert body_view(b"").kind == "empty"
    json_view = body_view(b'{"n": 12345678901234567890123}')
    assert json_view.kind == "json" and "12345678901234567890123" in json_view.html
    assert json_view.text == '{"n": 12345678901234567890123}'
    assert body_view(b"a=1&b=2").kind == "text"
    binary = body_view(b"\x89PNG\r\n\x1a\n\x00\xff")
    assert binary.kind == "binary" and binary.text is None and "89 50 4e 47" in binary.hex


def test_big_body_is_previewed_not_highlighted():
    body = b'{"items": [' + b'"\xc3\xa9",' * (HIGHLIGHT_LIMIT // 4) + b'"end"]}'
    view = body_view(body)
    assert view.kind == "text" and view.truncated and view.html is None
    assert len(view.text.encode()) <= PREVIEW_BYTES
    big_binary = body_view(b"\xff" * (HIGHLIGHT_LIMIT + 1))
    assert big_binary.kind == "binary" and big_binary.truncated


@pytest.mark.parametrize("size, shown", [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KB"),
                                         (1536, "1.5 KB"), (25 * 1024 * 1024, "25.0 MB")])
def test_human_size(size, shown):
    assert human_size(size) == shown


NOW = datetime(2024, 6, 10, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("seconds, shown", [
    (2, "just now"), (42, "42 s ago"), (300, "5 min ago"), (7200, "2 h ago"),
    (86400, "1 day ago"), (86400 * 3, "3 days ago"), (86400 * 90, "3 months ago"),
    (86400 * 800, "2 years ago"), (-600, "in 10 min")])
def test_relative_time(seconds, shown):
    assert relative_time(NOW - timedelta(seconds=seconds), NOW) == shown


def test_utc_iso():
    moment = datetime(2024, 6, 10, 14, 0, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert utc_iso(moment) == "2024-06-10T12:00:05Z"


@pytest.mark.parametrize("stored, shown", [
    ("JosÃ©", "José"),          # UTF-8 bytes the server decoded as latin-1
    ("Jos\xe9", "Jos\xe9"),     # a real latin-1 byte stays as it was
    ("plain", "plain"),
    ("€", "€"),                 # not latin-1 at all: shown unchanged
])
def test_header_text_shows_utf8_values_as_meant(stored, shown):
    from inspector.render import header_text

    assert header_text(stored) == shown


# --- invisible characters -------------------------------------------------------------------

def label(code: str, name: str) -> str:
    return f'<span class="invisible-char" title="U+{code} {name}">U+{code}</span>'


@pytest.mark.parametrize("char, name", [
    # bidi embeddings, overrides, isolates and marks
    ("\u202a", "LEFT-TO-RIGHT EMBEDDING"), ("\u202b", "RIGHT-TO-LEFT EMBEDDING"),
    ("\u202c", "POP DIRECTIONAL FORMATTING"), ("\u202d", "LEFT-TO-RIGHT OVERRIDE"),
    ("\u202e", "RIGHT-TO-LEFT OVERRIDE"), ("\u2066", "LEFT-TO-RIGHT ISOLATE"),
    ("\u2067", "RIGHT-TO-LEFT ISOLATE"), ("\u2068", "FIRST STRONG ISOLATE"),
    ("\u2069", "POP DIRECTIONAL ISOLATE"), ("\u200e", "LEFT-TO-RIGHT MARK"),
    ("\u200f", "RIGHT-TO-LEFT MARK"), ("\u061c", "ARABIC LETTER MARK"),
    # zero-width and other invisible format characters
    ("\u200b", "ZERO WIDTH SPACE"), ("\u200c", "ZERO WIDTH NON-JOINER"), ("\u200d", "ZERO WIDTH JOINER"),
    ("\u2060", "WORD JOINER"), ("\ufeff", "ZERO WIDTH NO-BREAK SPACE"), ("\xad", "SOFT HYPHEN"),
    ("\U000e0041", "TAG LATIN CAPITAL LETTER A"),
    # C0 and C1 controls, named by their abbreviations where they have one
    ("\x00", "NUL control character"), ("\x1b", "ESC control character"), ("\x0b", "VT control character"),
    ("\x7f", "DEL control character"), ("\x80", "C1 control character"), ("\x9f", "C1 control character"),
])
def test_reveal_invisible_labels_each_kind(char, name):
    code = f"{ord(char):04X}"
    assert reveal_invisible(f"a{char}b") == f"a{label(code, name)}b"
    assert has_invisible(f"a{char}b")


def test_reveal_invisible_still_escapes():
    shown = reveal_invisible('<script>alert("\u202e")</script>&')
    assert isinstance(shown, Markup)
    assert shown == (f"&lt;script&gt;alert(&#34;{label('202E', 'RIGHT-TO-LEFT OVERRIDE')}&#34;)"
                     "&lt;/script&gt;&amp;")


def test_reveal_invisible_keeps_pygments_markup_and_labels_inside_it():
    html = highlight_json(pretty_json('{"k":"\u202eRTL\u202c <b>"}'))
    shown = reveal_invisible(html)
    rlo, pdf = label("202E", "RIGHT-TO-LEFT OVERRIDE"), label("202C", "POP DIRECTIONAL FORMATTING")
    assert f'<span class="s2">"{rlo}RTL{pdf} &lt;b&gt;"</span>' in shown  # not escaped twice
    assert str(shown).replace(rlo, "\u202e").replace(pdf, "\u202c") == str(html)


@pytest.mark.parametrize("text", ["plain text", "tab\tand\nnewline", "crlf\r\nline\r\n", "é ü ß 日本 😀 עברית", ""])
def test_reveal_invisible_leaves_ordinary_text_alone(text):
    assert reveal_invisible(text) == text
    assert not has_invisible(text)


def test_reveal_invisible_labels_a_lone_carriage_return_but_not_crlf():
    assert reveal_invisible("a\rb\r\nc") == f"a{label('000D', 'CR control character')}b\r\nc"


def test_reveal_invisible_of_other_values():
    assert reveal_invisible(None) == "None" and reveal_invisible(42) == "42"
    assert not has_invisible(None, 42, ["a", ("b", "c")])
    assert has_invisible(None, ["a", ("b", "\u200b")])

