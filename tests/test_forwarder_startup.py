"""`inspector forward` at start-up: an inspector not up yet, a refused or UTF-8 password."""
from __future__ import annotations

import httpx
import pytest

from tests.conftest import RunningServer, free_port
from tests.recording_target import RecordingTarget
from tests.test_forwarder import ForwardProcess, send
from tests.test_forwarder_retry import new_endpoint, sequence

WAITING = "Cannot reach the inspector at "
PASSWORD = "pa ss:wörd"


@pytest.fixture
def forwarder(tmp_path):
    """Start `inspector forward` against a fresh state file; none outlives the test."""
    started: list[ForwardProcess] = []

    def start(source: str, to: str, ready: str | None = "Forwarding ",
              password: str | None = None) -> ForwardProcess:
        started.append(ForwardProcess(source, to, tmp_path / "state.json",
                                      tmp_path / "forward.log", password=password, ready=ready))
        return started[-1]

    yield start
    for forward in started:
        if forward.proc.poll() is None:
            forward.proc.kill()
            forward.proc.wait()


def finished(forward: ForwardProcess) -> tuple[int, str]:
    """Exit status and output of a run expected to end by itself."""
    return forward.proc.wait(timeout=30), forward.output()


@pytest.mark.server
def test_waits_for_an_inspector_that_is_not_up_yet(server_factory, forwarder, tmp_path):
    inspector = server_factory(workers=1)
    token = new_endpoint(inspector)
    inspector.stop()                                  # nothing listens at its address now
    source = f"{inspector.url}/hooks/{token}"

    with RecordingTarget() as app:
        forward = forwarder(source, app.url("/webhooks"), ready=WAITING)
        forward.wait_output(WAITING, count=3)          # one line per attempt, and it goes on
        assert "Connection refused" in forward.output()
        inspector = server_factory(workers=1, port=inspector.port)
        forward.wait_output("Forwarding ", timeout=30)
        send(inspector, token, 0)
        app.wait_for(1)
        assert forward.interrupt() == 0

    assert sequence(app) == [0]
    output = forward.output()
    assert "retrying in 0.25 s. Ctrl-C to stop." in output
    assert "Traceback" not in output


def test_ctrl_c_while_waiting_for_the_inspector(forwarder, tmp_path):
    nothing_there = f"http://127.0.0.1:{free_port()}/hooks/{'T' * 32}"
    forward = forwarder(nothing_there, "http://127.0.0.1:9/wh", ready=WAITING)
    assert forward.interrupt() == 0
    output = forward.output()
    assert "Stopped before reaching the inspector; nothing was relayed." in output
    assert "Traceback" not in output
    assert not (tmp_path / "state.json").exists()


@pytest.mark.server
def test_a_refused_password_ends_the_run(server_factory, forwarder):
    inspector = server_factory(workers=1, extra_env={"INSPECTOR_PASSWORD": "correct horse"})
    token = httpx.post(inspector.url + "/api/endpoints", json={},
                       headers=inspector.auth).json()["token"]
    source = f"{inspector.url}/hooks/{token}"

    code, output = finished(forwarder(source, "http://127.0.0.1:9/wh", ready=None,
                                      password="wrong"))
    assert code == 1, output
    assert "the inspector refused the password; check --password" in output
    assert "give --password" not in output and "Traceback" not in output

    code, output = finished(forwarder(source, "http://127.0.0.1:9/wh", ready=None))
    assert code == 1, output
    assert output.count("the inspector needs a password; give its INSPECTOR_PASSWORD") == 1
    assert "Traceback" not in output and WAITING not in output


@pytest.fixture
def utf8_inspector(tmp_path):
    """A real server whose INSPECTOR_PASSWORD is not ASCII."""
    server = RunningServer({"INSPECTOR_DATA_DIR": str(tmp_path), "INSPECTOR_SECRET_KEY": "test-key",
                            "INSPECTOR_PASSWORD": PASSWORD}, workers=1)
    # start() waits for this header to be let in: the UTF-8 Bearer token is under test too
    server.auth = {"Authorization": b"Bearer " + PASSWORD.encode()}  # as curl sends it
    yield server.start()
    server.stop()


@pytest.mark.server
def test_a_utf8_password_works_for_the_api_and_the_forwarder(utf8_inspector, forwarder):
    inspector = utf8_inspector
    api = inspector.url + "/api/endpoints"
    assert httpx.get(api, headers=inspector.auth).status_code == 200
    latin1 = {"Authorization": b"Bearer " + PASSWORD.encode("latin-1")}
    assert httpx.get(api, headers=latin1).status_code == 401
    token = httpx.post(api, json={}, headers=inspector.auth).json()["token"]

    with RecordingTarget() as app:
        forward = forwarder(f"{inspector.url}/hooks/{token}", app.url("/webhooks"),
                            password=PASSWORD)
        send(inspector, token, 0)
        app.wait_for(1)
        assert forward.interrupt() == 0
    assert sequence(app) == [0]
    assert "Traceback" not in forward.output()
