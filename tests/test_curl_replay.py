""""Copy as curl" run for real against a running inspector: the sub-path as sent, and a
big body downloaded with the password, or nothing sent at all when that fails."""
from __future__ import annotations

import html
import os
import re
import subprocess

import httpx
import pytest

from tests.conftest import RunningServer

pytestmark = pytest.mark.server
PASSWORD = "correct horse"


def test_copied_curl_replays_a_big_body_with_the_password_and_sends_nothing_without(tmp_path):
    server = RunningServer({"INSPECTOR_DATA_DIR": str(tmp_path),
                            "INSPECTOR_SECRET_KEY": "k", "INSPECTOR_PASSWORD": PASSWORD}).start()
    try:
        auth = server.auth
        token = httpx.post(server.url + "/api/endpoints", json={}, headers=auth).json()["token"]
        body = b"\x00\xff" + os.urandom(70_000)  # over the inline limit: downloaded
        sent = httpx.post(f"{server.url}/hooks/{token}/sub/%3Cx%3E/a%2Fb?q=%20", content=body,
                          headers={"Content-Type": "application/octet-stream"}).json()["id"]
        page = httpx.get(f"{server.url}/requests/{sent}", headers=auth).text
        command = html.unescape(re.search(rf'id="curl-{sent}">(.*?)</pre>', page, re.S).group(1))
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
