"""Bulk replay: the filter's requests oldest first, original spacing or fast, progress, stop."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from inspector.models import BulkReplay, CapturedRequest, Resend, db
from tests.recording_target import RecordingTarget

HX = {"HX-Request": "true"}


@pytest.fixture
def target():
    with RecordingTarget() as running:
        yield running


def capture(client, token: str, event_type: str, n: int) -> int:
    body = json.dumps({"id": f"evt_{n}", "type": event_type, "payload": {"id": f"o{n}"}})
    return client.post(f"/hooks/{token}", data=body, content_type="application/json").json["id"]


def spaced(app, ids: list[int], seconds: list[float]) -> None:
    """Pretend the requests arrived `seconds` apart."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with app.app_context():
        for request_id, offset in zip(ids, seconds):
            db.session.execute(sa.update(CapturedRequest).where(CapturedRequest.id == request_id)
                               .values(received_at=start + timedelta(seconds=offset)))
        db.session.commit()


def wait_state(client, job_id: int, states=("done", "stopped"), timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/replays/{job_id}").json
        if job["state"] in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job still {job['state']}")


def test_replays_the_filtered_requests_oldest_first(app, client, endpoint, target):
    ids = [capture(client, endpoint["token"], ("message.created", "contact.updated")[n % 2], n)
           for n in range(6)]
    response = client.post(f"/api/endpoints/{endpoint['token']}/replays",
                           json={"url": target.url(), "event_type": "message.created"})
    assert response.status_code == 201, response.json
    job = wait_state(client, response.json["id"])
    assert (job["state"], job["total"], job["done"], job["succeeded"], job["failed"]) == \
        ("done", 3, 3, 3, 0)
    assert job["filter"] == {"event_type": "message.created"} and job["finished_at"]
    assert [json.loads(r.body)["id"] for r in target.received] == ["evt_0", "evt_2", "evt_4"]
    with app.app_context():
        rows = db.session.execute(sa.select(Resend.request_id, Resend.trigger)
                                  .order_by(Resend.id)).all()
    assert rows == [(ids[0], "bulk"), (ids[2], "bulk"), (ids[4], "bulk")]


def test_original_spacing_is_kept(sqlite_app, target):
    client = sqlite_app.test_client()
    token = client.post("/api/endpoints", json={"forward_url": target.url()}).json["token"]
    ids = [capture(client, token, "message.created", n) for n in range(3)]
    spaced(sqlite_app, ids, [0, 0.4, 1.2])
    job = client.post(f"/api/endpoints/{token}/replays", json={"pacing": "original"}).json
    wait_state(client, job["id"])
    at = [r.at for r in target.received]
    assert 0.35 <= at[1] - at[0] < 0.7
    assert 1.15 <= at[2] - at[0] < 1.5


def test_fast_pacing_ignores_the_spacing(sqlite_app, target):
    client = sqlite_app.test_client()
    token = client.post("/api/endpoints", json={"forward_url": target.url()}).json["token"]
    ids = [capture(client, token, "message.created", n) for n in range(3)]
    spaced(sqlite_app, ids, [0, 30, 60])
    job = client.post(f"/api/endpoints/{token}/replays", json={}).json
    assert wait_state(client, job["id"], timeout=5)["done"] == 3


def test_stop_ends_a_replay_at_once(sqlite_app, target):
    client = sqlite_app.test_client()
    token = client.post("/api/endpoints", json={"forward_url": target.url()}).json["token"]
    ids = [capture(client, token, "message.created", n) for n in range(3)]
    spaced(sqlite_app, ids, [0, 30, 60])
    job = client.post(f"/api/endpoints/{token}/replays", json={"pacing": "original"}).json
    target.wait_for(1)
    assert client.get(f"/api/replays/{job['id']}").json["state"] == "running"
    asked = time.monotonic()
    assert client.post(f"/api/replays/{job['id']}/stop", json={}).json["state"] == "stopping"
    stopped = wait_state(client, job["id"], states=("stopped",), timeout=3)
    assert time.monotonic() - asked < 1.0
    assert stopped["done"] == 1 and stopped["next_request_id"] == ids[1]
    time.sleep(0.3)
    assert len(target.received) == 1


def test_failures_are_counted_and_recorded(sqlite_app):
    client = sqlite_app.test_client()
    with RecordingTarget(status=500) as failing:
        token = client.post("/api/endpoints", json={"forward_url": failing.url()}).json["token"]
        for n in range(2):
            capture(client, token, "message.created", n)
        job = wait_state(client, client.post(f"/api/endpoints/{token}/replays", json={}).json["id"])
    assert (job["succeeded"], job["failed"]) == (0, 2)


def test_refusals_and_empty_filters_are_explained(sqlite_app, target):
    client = sqlite_app.test_client()
    token = client.post("/api/endpoints", json={}).json["token"]
    url = f"/api/endpoints/{token}/replays"
    assert "No target" in client.post(url, json={}).json["error"]
    assert "nothing to replay" in client.post(url, json={"url": target.url()}).json["error"]
    capture(client, token, "message.created", 0)
    refused = client.post(url, json={"url": "http://10.0.0.1/"})
    assert refused.status_code == 403 and "only this machine" in refused.json["error"]
    assert client.post(url, json={"url": target.url(), "pacing": "slow"}).status_code == 400
    assert client.post(url, json={"url": target.url(), "signature": "odd"}).status_code == 400
    assert client.get("/api/replays/999").status_code == 404
    assert target.received == []


def test_a_job_whose_runner_died_reads_interrupted(sqlite_app):
    client = sqlite_app.test_client()
    token = client.post("/api/endpoints", json={}).json["token"]
    with sqlite_app.app_context():
        job = BulkReplay(endpoint_id=1, url="http://127.0.0.1:9/", request_ids=[1, 2], position=1,
                         state="running", owner="gone:1:x", lease_expires=time.time() - 1)
        job.endpoint_id = db.session.scalar(sa.text("SELECT id FROM endpoints"))
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    assert token and client.get(f"/api/replays/{job_id}").json["state"] == "interrupted"
    assert client.post(f"/api/replays/{job_id}/stop", json={}).json["state"] == "stopped"


def test_dashboard_fragments_poll_while_running_and_stop(sqlite_app, target):
    client = sqlite_app.test_client()
    token = client.post("/api/endpoints", json={"forward_url": target.url()}).json["token"]
    ids = [capture(client, token, t, n) for n, t in
           enumerate(["message.created", "contact.updated", "message.created"])]
    spaced(sqlite_app, ids, [0, 1, 30])
    page = client.post(f"/endpoints/{token}/replays", headers=HX,
                       data={"pacing": "original", "event_type": "message.created"})
    html = page.get_data(as_text=True)
    assert 'hx-trigger="every 500ms"' in html and "Stop</button>" in html
    assert "of 2 sent" in html
    job_id = int(html.split('id="bulk-job-')[1].split('"')[0])
    target.wait_for(1)
    stopped = client.post(f"/replays/{job_id}/stop", headers=HX).get_data(as_text=True)
    assert "stopping" in stopped
    wait_state(client, job_id, states=("stopped",))
    final = client.get(f"/replays/{job_id}", headers=HX).get_data(as_text=True)
    assert "hx-trigger" not in final and "1 of 2 sent" in final and "stopped" in final
    refused = client.post(f"/endpoints/{token}/replays", headers=HX,
                          data={"url": "http://10.0.0.1/"}).get_data(as_text=True)
    assert 'class="form-error"' in refused and "10.0.0.1" in refused


def test_the_form_follows_the_list_filter(sqlite_app):
    client = sqlite_app.test_client()
    token = client.post("/api/endpoints", json={}).json["token"]
    with sqlite_app.app_context():
        from flask import render_template

        from inspector.models import Endpoint
        from inspector.queries import RequestFilter
        with sqlite_app.test_request_context():
            html = render_template("_bulk_form.html", endpoint=db.session.scalar(
                sa.select(Endpoint)), where=RequestFilter(event_type="message.created"))
    assert 'hx-include="#filters"' in html
    assert '<noscript><input type="hidden" name="event_type" value="message.created"></noscript>' \
        in html
    assert f'/endpoints/{token}/replays' in html
