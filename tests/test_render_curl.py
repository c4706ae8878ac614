""""Copy as curl": the command must reproduce method, headers and body byte for byte.

Each command is run by bash with `curl` replaced by a function that prints
the arguments it got and the stdin it read, so the exact bytes are checked
without a network.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.curl import (INLINE_BODY_LIMIT, curl_command, printf_format, replay_url,
                            shell_quote, try_commands)

BASH = shutil.which("bash")
FAKE_CURL = ('curl() { printf "%s\\0" "$#" "$@"; '
             'for a in "$@"; do if [ "$a" = "@-" ]; then cat; fi; done; }\n')
URL = "http://127.0.0.1:8420/hooks/tok"


def run(command: str) -> tuple[list[bytes], bytes]:
    """The argv the command gives curl, and what it pipes into curl's stdin."""
    out = subprocess.run([BASH, "-c", FAKE_CURL + command], capture_output=True, check=True,
                         stdin=subprocess.DEVNULL).stdout
    fields = out.split(b"\0")
    count = int(fields[0])
    return fields[1:count + 1], b"\0".join(fields[count + 1:])


def sent_body(argv: list[bytes], stdin: bytes) -> bytes:
    """The body curl would send: the --data-binary argument, or stdin for @-."""
    if b"--data-binary" not in argv:
        return b""
    value = argv[argv.index(b"--data-binary") + 1]
    return stdin if value == b"@-" else value


def test_plain_json_request_is_readable_and_exact():
    body = b'{"id":"evt_1","type":"message.created"}'
    command = curl_command("POST", URL, [["content-type", "application/json"],
                                         ["x-protocol-signature", "ab12"]], body)
    assert command == (
        "curl \\\n  -X POST \\\n  -H 'content-type: application/json' \\\n"
        "  -H 'x-protocol-signature: ab12' \\\n"
        "  -H 'User-Agent:' \\\n  -H 'Accept:' \\\n"
        "  --data-binary '{\"id\":\"evt_1\",\"type\":\"message.created\"}' \\\n"
        "  http://127.0.0.1:8420/hooks/tok")
    argv, stdin = run(command)
    # `-H 'Name:'` stops curl adding a header the original request did not have.
    assert argv == [b"-X", b"POST", b"-H", b"content-type: application/json",
                    b"-H", b"x-protocol-signature: ab12", b"-H", b"User-Agent:", b"-H", b"Accept:",
                    b"--data-binary", body, URL.encode()]


def test_curl_adds_no_default_header_the_request_had_not():
    kept = [["user-agent", "Protocol/1.0"], ["ACCEPT", "*/*"], ["Content-Type", "text/plain"]]
    argv, _ = run(curl_command("POST", URL, kept, b"x"))
    assert [a for a in argv if a.endswith(b":")] == []
    argv, _ = run(curl_command("POST", URL, [], b"x"))  # curl would say form-urlencoded
    assert [argv[i + 1] for i, a in enumerate(argv) if a == b"-H"] == [
        b"User-Agent:", b"Accept:", b"Content-Type:"]


@pytest.mark.parametrize("body", [
    "It's \"quoted\" — café ☕\nsecond line\r\n\ttab \\ backslash $HOME `id` !event %s".encode(),
    b"line one\nline two\n",
    b"\x00",
    b"a\x00b\x00\x00c%d\\0\\n'\"",
    bytes(range(256)),
    b"\xff\xfe invalid utf-8 \xc3",
    b"!!:0 !$ ^a^b",  # bash history expansion must not touch it
])
def test_body_bytes_round_trip(body):
    argv, stdin = run(curl_command("POST", URL, [["content-type", "application/octet-stream"]], body))
    assert sent_body(argv, stdin) == body
    assert argv[-1] == URL.encode()


def test_nul_bytes_are_piped_through_printf():
    command = curl_command("PUT", URL, [], b"a\x00b")
    assert command.startswith("printf 'a\\000b' | curl")
    assert "--data-binary @-" in command


def test_headers_in_order_with_repeats_empty_values_and_latin1():
    headers = [["X-B", "2"], ["x-a", "1"], ["X-B", "3"], ["X-Empty", ""],
               ["X-Quote", "it's \"fine\" $(rm -rf /)"], ["X-Latin", "caf\xe9"],
               ["Host", "example.com"], ["Content-Length", "3"], ["Transfer-Encoding", "chunked"]]
    argv, _ = run(curl_command("POST", URL, headers, b"abc"))
    sent = [argv[i + 1] for i, arg in enumerate(argv) if arg == b"-H"]
    assert sent == [b"X-B: 2", b"x-a: 1", b"X-B: 3", b"X-Empty;",
                    b"X-Quote: it's \"fine\" $(rm -rf /)", b"X-Latin: caf\xe9",
                    b"User-Agent:", b"Accept:", b"Content-Type:"]


def test_methods():
    quiet = [["User-Agent", "x"], ["Accept", "*/*"]]
    argv, _ = run(curl_command("DELETE", URL, quiet, b""))
    assert argv[0:2] == [b"-X", b"DELETE"] and argv[-1] == URL.encode()
    argv, _ = run(curl_command("HEAD", URL, quiet, b""))
    assert argv[0] == b"--head" and argv[-1] == URL.encode() and b"Content-Type:" not in argv


def test_big_body_is_piped_from_printf_or_downloaded():
    body = b"x" * (INLINE_BODY_LIMIT + 1)
    argv, stdin = run(curl_command("POST", URL, [], body))
    assert sent_body(argv, stdin) == body
    body_url = "http://127.0.0.1:8420/api/requests/7/body"
    command = curl_command("POST", URL, [], body, body_url=body_url)
    # Downloaded to a file first: with `&&` a failed download sends nothing at all.
    assert command.startswith(f"curl -sSf -o webhook-body.bin {body_url} && curl")
    assert "--data-binary @webhook-body.bin" in command
    guarded = curl_command("POST", URL, [], body, body_url=body_url, password=True)
    assert guarded.startswith('curl -sSf -H "Authorization: Bearer $INSPECTOR_PASSWORD" -o ')


def test_url_with_brackets_turns_globbing_off():
    url = replay_url(URL, "/sub path/Ã¼", "a[0]=1&b={x}")  # raw UTF-8 ü, read as Latin-1
    assert url == URL + "/sub%20path/%C3%BC?a[0]=1&b={x}"
    argv, _ = run(curl_command("GET", url, [], b""))
    assert argv[0] == b"--globoff" and argv[-1] == url.encode()


def test_replay_url_root_and_raw_query():
    assert replay_url(URL, "/", "") == URL
    assert replay_url(URL + "/", "/a/b", "x=%20y&z") == URL + "/a/b?x=%20y&z"
    # The stored path keeps its escapes; quoting them again would send "%253C".
    assert replay_url(URL, "/sub/%3Cscript%3E", "") == URL + "/sub/%3Cscript%3E"


@settings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=200), value=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=40))
def test_any_bytes_round_trip(body, value):
    argv, stdin = run(curl_command("POST", URL, [["X-Value", value]], body))
    assert sent_body(argv, stdin) == body
    header = argv[argv.index(b"-H") + 1]
    assert header == (b"X-Value: " + value.encode("latin-1") if value else b"X-Value;")


def test_shell_quote_refuses_nul_and_printf_format_escapes():
    with pytest.raises(ValueError):
        shell_quote(b"a\x00")
    assert printf_format(b"100%\\'") == "'100%%\\\\\\047'"


def test_try_commands_never_contain_the_secret():
    commands = try_commands(URL, "x-Cribbly-signature", has_secret=True)
    assert "--secret \"$WEBHOOK_SECRET\"" in commands["send"]
    assert "--header x-Cribbly-signature" in commands["send"]
    assert "$WEBHOOK_SECRET" in commands["signed_curl"]
    assert "signed_curl" not in try_commands(URL, "X-Protocol-Signature", has_secret=False)
