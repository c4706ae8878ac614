""""Copy as curl" run for real against a running inspector: the sub-path as sent, and a
big body downloaded with the password, or nothing sent at all when that fails."""
from __future__ import annotations

import html
import http.client
import os
import re
import subprocess

import httpx
import pytest

from tests.conftest import RunningServer

pytestmark = pytest.mark.server
PASSWORD = "correct horse"
TRANSPORT = {"host", "content-length", "connection"}


def copied_curl(server, request_id: int, auth: dict) -> str:
    """The detail page's "copy as curl" command, as the Copy button gives it."""
    page = httpx.get(f"{server.url}/requests/{request_id}", headers=auth).text
    return html.unescape(re.search(rf'id="curl-{request_id}">(.*?)</pre>', page, re.S).group(1))


def test_copied_curl_replays_a_big_body_with_the_password_and_sends_nothing_without(tmp_path):
    server = RunningServer({"INSPECTOR_DATA_DIR": str(tmp_path),
                            "INSPECTOR_SECRET_KEY": "k", "INSPECTOR_PASSWORD": PASSWORD}).start()
    try:
        auth = server.auth
        token = httpx.post(server.url + "/api/endpoints", json={}, headers=auth).json()["token"]
        body = b"\x00\xff" + os.urandom(70_000)  # over the inline limit: downloaded
        sent = httpx.post(f"{server.url}/hooks/{token}/sub/%3Cx%3E/a%2Fb?q=%20", content=body,
                          headers={"Content-Type": "application/octet-stream"}).json()["id"]
        command = copied_curl(server, sent, auth)
        assert PASSWORD not in command

        def replay(password: str) -> subprocess.CompletedProcess:
            env = {**os.environ, "INSPECTOR_PASSWORD": password}
            return subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                                  capture_output=True, timeout=30)

        def listed() -> list[dict]:
            return httpx.get(f"{server.url}/api/endpoints/{token}/requests",
                             headers=auth).json()["requests"]

        assert replay("wrong").returncode != 0
        assert [r["id"] for r in listed()] == [sent]  # no empty-bodied replay was sent
        assert replay(PASSWORD).returncode == 0
        newest, original = listed()
        assert original["id"] == sent and newest["id"] != sent
        assert newest["body_sha256"] == original["body_sha256"] and newest["size"] == len(body)
        assert (newest["path"], newest["query"]) == ("/sub/%3Cx%3E/a%2Fb", "q=%20")
    finally:
        server.stop()


def test_copied_curl_sends_the_headers_the_request_had_and_no_others(tmp_path):
    server = RunningServer({"INSPECTOR_DATA_DIR": str(tmp_path), "INSPECTOR_SECRET_KEY": "k"}).start()
    try:
        token = httpx.post(server.url + "/api/endpoints", json={}).json()["token"]
        # http.client sends no User-Agent, Accept or Content-Type: curl would add all three.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("POST", f"/hooks/{token}/plain", body=b"a=1", headers={"X-Kind": "bare"})
        sent = int(conn.getresponse().getheader("X-Inspector-Request-Id"))
        conn.close()
        done = subprocess.run(["bash", "-c", copied_curl(server, sent, {})], cwd=tmp_path,
                              capture_output=True, timeout=30)
        assert done.returncode == 0, done.stderr

        def headers(request_id: int) -> list[tuple[str, str]]:
            detail = httpx.get(f"{server.url}/api/requests/{request_id}").json()
            return sorted((n.lower(), v) for n, v in detail["headers"] if n.lower() not in TRANSPORT)
        listed = httpx.get(f"{server.url}/api/endpoints/{token}/requests").json()["requests"]
        replayed = listed[0]["id"]
        assert replayed != sent and headers(replayed) == headers(sent)
        assert ("x-kind", "bare") in headers(sent)
    finally:
        server.stop()
