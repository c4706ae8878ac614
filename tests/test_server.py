"""The real server: gunicorn with several workers, the CLI, no loss under concurrency."""
from __future__ import annotations

import hashlib
import re
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from inspector.samples import sample_body
from inspector.signatures import sign

pytestmark = pytest.mark.server
SECRET = "whsec_concurrency"


def create_endpoint(server, **fields) -> dict:
    """Create an endpoint through the API of a running server."""
    response = httpx.post(server.url + "/api/endpoints", json=fields, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def all_requests(server, token) -> list[dict]:
    """Every stored request of an endpoint, following `before` paging."""
    found, before = [], None
    while True:
        params = {"limit": 500, **({"before": before} if before else {})}
        page = httpx.get(f"{server.url}/api/endpoints/{token}/requests", params=params,
                         timeout=30).json()
        found += page["requests"]
        before = page["next_before"]
        if before is None:
            return found


def test_serve_prints_dashboard_and_capture_url(live_server):
    output = live_server.output()
    dashboard = re.search(r"Dashboard:\s+(\S+)", output).group(1)
    capture = re.search(r"Capture URL:\s+(\S+)", output).group(1)
    assert httpx.get(dashboard, timeout=5).status_code == 200
    response = httpx.post(capture, content=b'{"hello": "world"}', timeout=5)
    assert response.status_code == 200 and response.json()["ok"] is True


def test_raw_headers_keep_order_repeats_and_underscores(live_server):
    token = create_endpoint(live_server)["token"]
    with socket.create_connection(("127.0.0.1", live_server.port)) as sock:
        sock.sendall(
            f"POST /hooks/{token}/x?a=1&a=2 HTTP/1.1\r\nHost: example.test\r\n"
            "X-Repeat: one\r\nX_Under: score\r\nX-Repeat: two\r\n"
            "Content-Length: 3\r\nConnection: close\r\n\r\nabc".encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200")
    rid = int(re.search(rb"X-Inspector-Request-Id: (\d+)", reply).group(1))
    stored = httpx.get(f"{live_server.url}/api/requests/{rid}", timeout=5).json()
    assert [h for h in stored["headers"] if h[0].startswith(("x-", "x_"))] == [
        ["x-repeat", "one"], ["x_under", "score"], ["x-repeat", "two"]]
    assert stored["query"] == "a=1&a=2" and stored["path"] == "/x"


def test_chunked_request_through_gunicorn(live_server):
    token = create_endpoint(live_server)["token"]

    def parts():
        yield b'{"id":"evt_chunked",'
        yield b'"type":"message.created","payload":{"id":"m1"}}'

    response = httpx.post(f"{live_server.url}/hooks/{token}", content=parts(), timeout=5)
    assert response.status_code == 200
    body = httpx.get(f"{live_server.url}/api/requests/{response.json()['id']}/body").content
    assert body == b'{"id":"evt_chunked","type":"message.created","payload":{"id":"m1"}}'


def test_no_loss_under_concurrency(server_factory):
    """2,000 signed requests from 50 concurrent clients: each acknowledged one stored once."""
    server = server_factory(workers=4)
    token = create_endpoint(server, secret=SECRET)["token"]
    url = f"{server.url}/hooks/{token}"
    acknowledged: dict[int, str] = {}

    def sender(worker: int) -> list[tuple[int, str]]:
        got = []
        with httpx.Client(timeout=30) as http:
            for n in range(40):
                body = sample_body("message.created", object_id=f"obj-{worker}-{n}")
                response = http.post(url, content=body, headers={
                    "X-Protocol-Signature": sign(body, SECRET),
                    "Content-Type": "application/json"})
                if 200 <= response.status_code < 300:
                    got.append((response.json()["id"], hashlib.sha256(body).hexdigest()))
        return got

    with ThreadPoolExecutor(max_workers=50) as pool:
        for result in pool.map(sender, range(50)):
            acknowledged.update(result)
    assert len(acknowledged) == 2000, "every request should have been acknowledged"
    stored = all_requests(server, token)
    assert len(stored) == 2000
    by_id = {row["id"]: row for row in stored}
    assert len(by_id) == 2000  # stored once each
    for request_id, digest in acknowledged.items():
        assert by_id[request_id]["body_sha256"] == digest
        assert by_id[request_id]["signature"]["status"] == "valid"
    assert "database is locked" not in server.output()


def test_send_command_signs_every_type(live_server):
    endpoint = create_endpoint(live_server, secret="cli-secret", signature_header="x-Cribbly-signature")
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "send", "attachment.deleted", "--url",
         endpoint["capture_url"], "--secret", "cli-secret", "--header", "x-Cribbly-signature"],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "<-- 200" in result.stdout
    row = all_requests(live_server, endpoint["token"])[0]
    assert row["event"]["type"] == "attachment.deleted"
    assert row["signature"]["status"] == "valid"
