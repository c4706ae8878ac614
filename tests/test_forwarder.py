"""`inspector forward`: URL parsing, the stream, state; end to end against real servers."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from inspector.cli import main
from inspector.forwarder import (ForwardError, Source, StateFile, default_state_file, describe,
                                 parse_source, parse_sse)
from tests.recording_target import RecordingTarget

TOKEN = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"


@pytest.mark.parametrize("url, base", [
    (f"http://127.0.0.1:8420/hooks/{TOKEN}", "http://127.0.0.1:8420"),
    (f"https://hooks.example.com/hooks/{TOKEN}/github/push?x=1", "https://hooks.example.com"),
    (f"https://example.com/inspector/endpoints/{TOKEN}", "https://example.com/inspector"),
    (f"http://localhost:8420/endpoints/{TOKEN}/", "http://localhost:8420"),
])
def test_capture_or_dashboard_url_names_the_inspector(url, base):
    assert parse_source(url) == Source(base, TOKEN)


@pytest.mark.parametrize("url", ["http://localhost:8420/", "localhost:8420/hooks/" + TOKEN,
                                 "http://localhost:8420/hooks/short", "ftp://h/hooks/" + TOKEN])
def test_other_urls_are_refused(url):
    with pytest.raises(ForwardError, match="capture URL"):
        parse_source(url)


def test_sse_parsing_keeps_multiline_data_and_skips_comments():
    lines = ["retry: 1000", "", ": keep-alive", "", "id: 7", "data: {\"a\":", "data: 1}", "",
             "id:8", "data:x", ""]
    assert list(parse_sse(lines)) == [("7", '{"a":\n1}'), ("8", "x")]


def test_event_lines_are_short():
    assert describe({"event": {"type": "message.updated", "id": "a056V7R7NmNRjl70"}}) == \
        "message.updated a056…"
    assert describe({"event": None, "method": "PUT", "path": "/x"}) == "PUT /x"


def test_state_file_is_keyed_and_checked(tmp_path):
    source = Source("http://127.0.0.1:8420", TOKEN)
    path = default_state_file(str(tmp_path), source)
    assert path.parent == tmp_path / "forward-state"
    assert path != default_state_file(str(tmp_path), Source("http://other:1", TOKEN))
    state = StateFile(path, source)
    assert state.load() is None
    state.save(42)
    assert StateFile(path, source).load() == 42
    with pytest.raises(ForwardError, match="another inspector"):
        StateFile(path, Source("http://other:1", TOKEN)).load()


def test_refuses_a_loop_or_a_forbidden_target(tmp_path, monkeypatch):
    monkeypatch.setenv("INSPECTOR_DATA_DIR", str(tmp_path))
    run = CliRunner().invoke
    capture = f"http://127.0.0.1:9/hooks/{TOKEN}"
    looped = run(main, ["forward", capture, "--to", capture + "/x"])
    assert looped.exit_code == 1 and "would be captured and relayed again" in looped.output
    refused = run(main, ["forward", capture, "--to", "http://10.0.0.1/hook"])
    assert refused.exit_code == 1 and "INSPECTOR_FORWARD_ALLOW" in refused.output
    unknown = run(main, ["forward", capture, "--to", "http://no-such-host.invalid/hook"])
    assert unknown.exit_code == 1 and "could not resolve host" in unknown.output
    odd = run(main, ["forward", "http://x/", "--to", "http://localhost/"])
    assert odd.exit_code == 1 and "is neither a capture URL" in odd.output
    assert not (tmp_path / "forward-state").exists()


# `python -m inspector`, with the waits for an unreachable app shortened first
_WITH_APP_BACKOFF = ("from inspector.forwarder import Forwarder; Forwarder.app_backoff = {!r}; "
                     "from inspector.cli import main; main()")


class ForwardProcess:
    """`inspector forward` as a user runs it, its output collected line by line."""

    def __init__(self, source_url: str, to: str, state: Path, log: Path,
                 app_backoff: tuple[float, ...] | None = None, password: str | None = None,
                 ready: str | None = "Forwarding "):
        """Start it and, unless `ready` is None, wait until it prints `ready` once more."""
        self.log = log
        program = (["-m", "inspector"] if app_backoff is None
                   else ["-c", _WITH_APP_BACKOFF.format(app_backoff)])
        options = ["--password", password] if password is not None else []
        seen = self.output().count(ready) if ready and log.exists() else 0
        with open(log, "a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, *program, "forward", source_url, "--to", to,
                 "--state-file", str(state), *options],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        if ready:
            self.wait_output(ready, count=seen + 1)

    def output(self) -> str:
        return self.log.read_text()

    def wait_output(self, text: str, count: int = 1, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while self.output().count(text) < count:
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.05)

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=15)


def send(server, token: str, n: int, body: bytes | None = None, path: str = "") -> int:
    content = body if body is not None else json.dumps(
        {"id": f"evt{n:04d}xyz", "type": "message.updated", "payload": {"n": n}}).encode()
    response = httpx.post(f"{server.url}/hooks/{token}{path}?n={n}", content=content,
                          headers={"Content-Type": "application/json", "X-Seq": str(n)})
    assert response.status_code == 200
    return response.json()["id"]


@pytest.mark.server
def test_forward_end_to_end_across_restarts(server_factory, tmp_path):
    """Inspector killed and restarted, forwarder stopped mid-stream and restarted: each
    request relayed once, in order."""
    fast_close = {"INSPECTOR_STREAM_KEEPALIVE": "1"}  # a dropped stream is noticed within 1 s
    inspector = server_factory(workers=2, extra_env=fast_close)
    token = httpx.post(inspector.url + "/api/endpoints", json={}).json()["token"]
    state, log = tmp_path / "state.json", tmp_path / "forward.log"
    binary = bytes(range(256)) + b"\xff\xfe not utf-8"
    with RecordingTarget(delay=0.05) as app:
        source = f"{inspector.url}/endpoints/{token}"
        forward = ForwardProcess(source, app.url("/webhooks"), state, log)
        send(inspector, token, 0)
        send(inspector, token, 1, body=binary, path="/sub/path")
        send(inspector, token, 2)
        app.wait_for(3)

        assert forward.interrupt() == 0                       # clean Ctrl-C
        send(inspector, token, 3)                             # while it is stopped
        send(inspector, token, 4)
        forward = ForwardProcess(source, app.url("/webhooks"), state, log)
        app.wait_for(5)

        inspector.stop(signal.SIGKILL)                        # the inspector dies, restarts
        inspector = server_factory(workers=2, port=inspector.port, extra_env=fast_close)
        forward.wait_output("reconnecting", timeout=20)
        for n in range(5, 12):                                # a burst, stopped mid-way
            send(inspector, token, n)
        app.wait_for(7)
        assert forward.interrupt() == 0
        forward = ForwardProcess(source, app.url("/webhooks"), state, log)
        app.wait_for(12, timeout=20)
        time.sleep(0.5)                                       # a duplicate would show by now
        assert forward.interrupt() == 0

    got = [int(r.header("X-Seq")[0]) for r in app.received]
    assert got == list(range(12)), got
    relayed = app.received[1]
    assert relayed.body == binary and relayed.method == "POST"
    assert relayed.target == "/webhooks/sub/path?n=1"
    assert relayed.header("X-Inspector-Forwarded") == ["1"]
    assert relayed.header("Host") == [f"127.0.0.1:{app.port}"]
    output = forward.output()
    assert "--> message.updated evt0…" in output
    assert f"<-- 200 POST {app.url('/webhooks')}?n=0 " in output
    assert "Traceback" not in output
