"""`inspector forward` while the local app is down: nothing is skipped, nothing sent twice."""
from __future__ import annotations

import signal
import threading
import time

import httpx
import pytest

from inspector.forwarder import Source, StateFile
from tests.recording_target import RecordingTarget
from tests.test_forwarder import ForwardProcess, send

FAST = (0.02, 0.05, 0.1)  # the waits for the app, shortened
QUICK_STREAM = {"INSPECTOR_STREAM_KEEPALIVE": "1"}  # a dropped stream is noticed within 1 s


class LateApp(RecordingTarget):
    """The local app on a port chosen in advance: nothing listens there until `with app:`."""

    def __init__(self):
        super().__init__()
        self.server.server_close()  # a bound socket would accept connections: not down enough

    def __enter__(self) -> "LateApp":
        self.server = type(self.server)((self.host, self.port), self._handler())
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                        daemon=True)
        return super().__enter__()


@pytest.fixture
def forwarder(tmp_path):
    """Start `inspector forward` (short waits for the app unless told); none outlives the test."""
    started: list[ForwardProcess] = []

    def start(source: str, app: RecordingTarget, app_backoff=FAST) -> ForwardProcess:
        started.append(ForwardProcess(source, app.url("/webhooks"), tmp_path / "state.json",
                                      tmp_path / "forward.log", app_backoff=app_backoff))
        return started[-1]

    yield start
    for forward in started:
        if forward.proc.poll() is None:
            forward.proc.kill()
            forward.proc.wait()


def last_relayed(inspector, token: str, state) -> int:
    """The id the state file holds: where the next run resumes."""
    return StateFile(state, Source(inspector.url, token)).load()


def sequence(app: RecordingTarget) -> list[int]:
    return [int(r.header("X-Seq")[0]) for r in app.received]


def new_endpoint(inspector) -> str:
    return httpx.post(inspector.url + "/api/endpoints", json={}).json()["token"]


@pytest.mark.server
def test_a_request_waits_for_the_app_and_is_delivered_once(server_factory, forwarder, tmp_path):
    inspector = server_factory(extra_env=QUICK_STREAM)
    token, app = new_endpoint(inspector), LateApp()
    forward = forwarder(f"{inspector.url}/hooks/{token}", app)
    body = bytes(range(256)) + b"\r\n\x00 not utf-8"
    first = send(inspector, token, 0, body=body)

    forward.wait_output("retrying in")
    time.sleep(0.5)                                   # a dozen more refused sends
    output = forward.output()
    assert "connection refused" in output and "Ctrl-C to stop" in output
    assert output.count("retrying in") <= len(FAST), output  # one line per backoff step
    assert last_relayed(inspector, token, tmp_path / "state.json") == 0  # not skipped

    with app:                                         # the app comes up
        app.wait_for(1)
        app.status = 503                              # an HTTP error is an answer all the same
        second = send(inspector, token, 1)
        app.wait_for(2)
        time.sleep(0.5)                               # a duplicate would show by now
        assert forward.interrupt() == 0

    assert sequence(app) == [0, 1]
    assert app.received[0].body == body
    assert last_relayed(inspector, token, tmp_path / "state.json") == second > first
    output = forward.output()
    assert f"<-- 200 POST {app.url('/webhooks')}?n=0 " in output
    assert f"<-- 503 POST {app.url('/webhooks')}?n=1 " in output
    assert "Traceback" not in output


@pytest.mark.server
def test_ctrl_c_while_waiting_for_the_app_keeps_the_request(server_factory, forwarder, tmp_path):
    inspector = server_factory(extra_env=QUICK_STREAM)
    token, app = new_endpoint(inspector), LateApp()
    source, state = f"{inspector.url}/hooks/{token}", tmp_path / "state.json"
    before = send(inspector, token, 0)                # older than the first run: not relayed
    forward = forwarder(source, app, app_backoff=(60.0,))
    waited_on = send(inspector, token, 1)
    forward.wait_output("retrying in 60 s")

    started = time.monotonic()
    assert forward.interrupt() == 0                   # during the 60 s wait
    assert time.monotonic() - started < 5
    assert last_relayed(inspector, token, state) == before
    assert f"Last relayed request: {before};" in forward.output()

    with app:                                         # the next run sends it
        forward = forwarder(source, app)
        app.wait_for(1)
        time.sleep(0.5)
        assert forward.interrupt() == 0
    assert sequence(app) == [1]
    assert last_relayed(inspector, token, state) == waited_on


@pytest.mark.server
def test_the_stream_drops_while_waiting_for_the_app(server_factory, forwarder, tmp_path):
    """The inspector dies and restarts during the wait: after the reconnect from the last
    delivered request, each request reaches the app once, in order."""
    inspector = server_factory(extra_env=QUICK_STREAM)
    token, app = new_endpoint(inspector), LateApp()
    forward = forwarder(f"{inspector.url}/hooks/{token}", app)
    send(inspector, token, 0)
    send(inspector, token, 1)                         # queued behind the one waited on
    forward.wait_output("retrying in")

    inspector.stop(signal.SIGKILL)
    inspector = server_factory(port=inspector.port, extra_env=QUICK_STREAM)
    last = send(inspector, token, 2)
    with app:
        app.wait_for(3, timeout=20)
        forward.wait_output("reconnecting")
        time.sleep(1.0)                               # a duplicate would show by now
        assert forward.interrupt() == 0

    assert sequence(app) == [0, 1, 2], forward.output()
    assert last_relayed(inspector, token, tmp_path / "state.json") == last
    assert "Traceback" not in forward.output()
