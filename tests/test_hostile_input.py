"""A corpus of malformed and extreme requests against the real server.

Each case has a defined outcome: stored and readable back (2xx), or a clear
4xx; never a 500, a hung worker or a server that stops answering.
"""
from __future__ import annotations

import gzip
import json
import socket
import time

import httpx
import pytest

pytestmark = pytest.mark.server

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    """One server on SQLite and one on PostgreSQL would double the run; SQLite here,
    PostgreSQL-specific text rules are covered in test_capture on both stores."""
    from tests.conftest import RunningServer

    data = tmp_path_factory.mktemp("hostile")
    server = RunningServer({"INSPECTOR_DATA_DIR": str(data), "INSPECTOR_SECRET_KEY": "k",
                            "INSPECTOR_MAX_BODY_BYTES": str(LIMIT)}, workers=2).start()
    token = httpx.post(server.url + "/api/endpoints", json={"secret": "s"}).json()["token"]
    yield server, token
    server.stop()


def raw_exchange(port: int, payload: bytes, pauses: list[tuple[int, float]] = (),
                 timeout: float = 10) -> bytes:
    """Send bytes over a fresh connection (pausing at given offsets); return the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        start = 0
        for offset, delay in pauses:
            sock.sendall(payload[start:offset])
            time.sleep(delay)
            start = offset
        sock.sendall(payload[start:])
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    return reply


def status_of(reply: bytes) -> int | None:
    """The status code of a raw HTTP reply, None when the server closed without one."""
    while reply.startswith(b"HTTP/1.1 100"):  # an interim "100 Continue" comes first
        reply = reply.split(b"\r\n\r\n", 1)[1]
    if not reply.startswith(b"HTTP/"):
        return None
    return int(reply.split(b" ", 2)[1])


def request_bytes(token: str, method: str = "POST", path: str = "", headers=(), body: bytes = b"",
                  length: bool = True, version: str = "HTTP/1.1") -> bytes:
    """A raw HTTP/1.1 request to the capture URL."""
    lines = [f"{method} /hooks/{token}{path} {version}".encode(), b"Host: 127.0.0.1"]
    for name, value in headers:
        lines.append(name.encode("latin-1") + b": " + (value if isinstance(value, bytes)
                                                        else value.encode("latin-1")))
    if length:
        lines.append(f"Content-Length: {len(body)}".encode())
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def deep_json(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


def chunked(body: bytes, size: int = 7) -> bytes:
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return out + b"0\r\n\r\n"


BOMB = gzip.compress(b"\0" * (50 * 1024 * 1024))  # ~50 KiB that inflates to 50 MiB

# name -> (raw request builder taking token, expected: "stored" | "4xx" | "rejected")
CASES = {
    "oversize_declared": (lambda t: request_bytes(t, body=b"x" * (LIMIT + 1)), "rejected"),
    "oversize_chunked": (lambda t: request_bytes(t, headers=[("Transfer-Encoding", "chunked")],
                                                 body=chunked(b"y" * (LIMIT + 10), 4096),
                                                 length=False), "rejected"),
    "exactly_limit": (lambda t: request_bytes(t, body=b"z" * LIMIT), "stored"),
    "invalid_utf8": (lambda t: request_bytes(t, body=b"\xff\xfe\xc3\x28 bad"), "stored"),
    "nul_bytes": (lambda t: request_bytes(t, body=b"a\x00b\x00" * 100), "stored"),
    "deep_nesting": (lambda t: request_bytes(t, body=deep_json(10_000)), "stored"),
    "duplicate_keys": (lambda t: request_bytes(
        t, body=b'{"id":"a","id":"b","type":"message.created","type":"contact.created"}'), "stored"),
    "huge_float": (lambda t: request_bytes(t, body=b'{"id":1e999999,"type":"x.y"}'), "stored"),
    "huge_int": (lambda t: request_bytes(t, body=b'{"id":' + b"9" * 6000 + b',"type":"a.b"}'),
                 "stored"),
    "lone_surrogates": (lambda t: request_bytes(
        t, body=b'{"id":"\\ud800","type":"\\udfff.created","payload":{"id":"\\ud83d"}}'), "stored"),
    "nul_in_event_fields": (lambda t: request_bytes(
        t, body=b'{"id":"a\\u0000b","type":"message\\u0000.created","payload":{"id":"\\u0000"}}'),
        "stored"),
    "type_is_object": (lambda t: request_bytes(t, body=b'{"type":{"a":1},"id":[1]}'), "stored"),
    "payload_not_object": (lambda t: request_bytes(
        t, body=b'{"type":"message.created","payload":"nope"}'), "stored"),
    "top_level_array": (lambda t: request_bytes(t, body=b"[1,2,3]"), "stored"),
    "empty_with_length": (lambda t: request_bytes(t, body=b""), "stored"),
    "no_length_no_chunked": (lambda t: request_bytes(t, body=b"", length=False), "stored"),
    "slow_body": (lambda t: request_bytes(t, body=b'{"slow":"' + b"s" * 3000 + b'"}'), "stored"),
    "five_hundred_headers": (lambda t: request_bytes(
        t, headers=[(f"X-H{i}", str(i)) for i in range(500)], body=b"{}"), "stored"),
    "thousands_of_headers": (lambda t: request_bytes(
        t, headers=[(f"X-H{i}", str(i)) for i in range(3000)], body=b"{}"), "4xx"),
    "control_char_in_header": (lambda t: request_bytes(
        t, headers=[("X-Evil", b"a\x01b")], body=b"{}"), "4xx"),
    "latin1_header_value": (lambda t: request_bytes(
        t, headers=[("X-Name", b"Jos\xe9")], body=b"{}"), "stored"),
    "long_header_value": (lambda t: request_bytes(
        t, headers=[("X-Long", "v" * 12000)], body=b"{}"), "stored"),
    "too_long_header_value": (lambda t: request_bytes(
        t, headers=[("X-Long", "v" * 40000)], body=b"{}"), "4xx"),
    "unicode_header_name": (lambda t: request_bytes(
        t, headers=[("X-Ünï", "1")], body=b"{}"), "4xx"),
    "huge_signature_header": (lambda t: request_bytes(
        t, headers=[("X-Protocol-Signature", "f" * 10000)], body=b"{}"), "stored"),
    "repeated_signature_header": (lambda t: request_bytes(
        t, headers=[("X-Protocol-Signature", "abc")] * 50, body=b"{}"), "stored"),
    "method_purge": (lambda t: request_bytes(t, method="PURGE"), "stored"),
    "method_propfind": (lambda t: request_bytes(t, method="PROPFIND", body=b"<x/>"), "stored"),
    "method_custom": (lambda t: request_bytes(t, method="X-WEIRD-VERB"), "stored"),
    "method_lowercase": (lambda t: request_bytes(t, method="post", body=b"{}"), "4xx"),
    "long_query": (lambda t: request_bytes(t, path="?" + "q=1&" * 900), "stored"),
    "query_with_escapes": (lambda t: request_bytes(t, path="?a=%00&b=%ff&c=%zz&d=%E2%9C%93"),
                           "stored"),
    "nul_in_path": (lambda t: request_bytes(t, path="/a%00b"), "stored"),
    "bad_escape_in_path": (lambda t: request_bytes(t, path="/%zz/%ff%fe"), "stored"),
    "very_long_path": (lambda t: request_bytes(t, path="/" + "p" * 8000), "4xx"),
    "json_type_with_xml_body": (lambda t: request_bytes(
        t, headers=[("Content-Type", "application/json")], body=b"<xml/>"), "stored"),
    "multipart_without_boundary": (lambda t: request_bytes(
        t, headers=[("Content-Type", "multipart/form-data")], body=b"--x\r\n\r\n"), "stored"),
    "form_with_binary": (lambda t: request_bytes(
        t, headers=[("Content-Type", "application/x-www-form-urlencoded")],
        body=b"a=\xff\x00&b"), "stored"),
    "absurd_content_type": (lambda t: request_bytes(
        t, headers=[("Content-Type", "text/" + "x" * 3000 + "; charset=bogus")], body=b"hi"),
        "stored"),
    "gzip_bomb": (lambda t: request_bytes(t, headers=[("Content-Encoding", "gzip")], body=BOMB),
                  "stored"),
    "gzip_header_not_gzip": (lambda t: request_bytes(
        t, headers=[("Content-Encoding", "gzip")], body=b"not gzip"), "stored"),
    "bad_chunk_size": (lambda t: request_bytes(
        t, headers=[("Transfer-Encoding", "chunked")], body=b"zz\r\nabc\r\n0\r\n\r\n",
        length=False), "listed_4xx"),
    "length_and_chunked": (lambda t: request_bytes(
        t, headers=[("Transfer-Encoding", "chunked"), ("Content-Length", "3")],
        body=chunked(b"abc"), length=False), "4xx"),
    "expect_continue": (lambda t: request_bytes(
        t, headers=[("Expect", "100-continue")], body=b'{"c":1}'), "stored"),
    "http_1_0": (lambda t: request_bytes(t, body=b"{}", version="HTTP/1.0"), "stored"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_request_has_a_defined_outcome(target, case):
    server, token = target
    build, expected = CASES[case]
    payload = build(token)
    pauses = [(len(payload) - 2000, 0.3), (len(payload) - 1000, 0.3)] if case == "slow_body" else []
    reply = raw_exchange(server.port, payload, pauses)
    status = status_of(reply)
    assert status is not None and status < 500, (case, reply[:300], server.output()[-2000:])
    if expected == "stored":
        assert 200 <= status < 300, (case, reply[:300])
        rid = int(reply.split(b"X-Inspector-Request-Id: ", 1)[1].split(b"\r\n", 1)[0])
        detail = httpx.get(f"{server.url}/api/requests/{rid}", timeout=10)
        assert detail.status_code == 200, detail.text
        sent_body = payload.split(b"\r\n\r\n", 1)[1]
        if b"Transfer-Encoding" not in payload:
            stored = httpx.get(f"{server.url}/api/requests/{rid}/body", timeout=10).content
            assert stored == sent_body
    elif expected == "rejected":
        assert status == 413
        assert b"X-Inspector-Request-Id" in reply  # the attempt is listed
    elif expected == "listed_4xx":
        assert status == 400 and b"X-Inspector-Request-Id" in reply
    else:
        assert 400 <= status < 500
    # the server still answers normally afterwards
    assert httpx.post(f"{server.url}/hooks/{token}", content=b"ok", timeout=10).status_code == 200


def test_truncated_body_is_not_acknowledged_and_server_survives(target):
    server, token = target
    payload = request_bytes(token, body=b"x" * 100)[:-90]  # promise 100 bytes, send 10, close
    reply = raw_exchange(server.port, payload, timeout=5)
    assert status_of(reply) == 400 and b"ended after 10 of the 100 bytes" in reply
    rid = int(reply.split(b"X-Inspector-Request-Id: ", 1)[1].split(b"\r\n", 1)[0])
    listed = httpx.get(f"{server.url}/api/requests/{rid}").json()
    assert listed["rejected"] == "truncated" and listed["size"] == 10
    assert httpx.post(f"{server.url}/hooks/{token}", content=b"after", timeout=10).status_code == 200


def test_corpus_is_big_enough():
    assert len(CASES) + 1 >= 40


def test_dashboard_pages_survive_the_corpus(target):
    server, token = target
    listing = httpx.get(f"{server.url}/api/endpoints/{token}/requests", params={"limit": 500})
    assert listing.status_code == 200
    for row in listing.json()["requests"]:
        assert httpx.get(f"{server.url}/api/requests/{row['id']}").status_code == 200
        json.dumps(row)
