"""Each process keeps the endpoint settings capture read; the INSERT re-checks them, so a
change made anywhere (another worker, another server) is never captured under the old ones."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from inspector import writer
from inspector.capture_settings import SettingsCache
from inspector.signatures import sign
from inspector.writer import EndpointChanged

OLD, NEW = "whsec_test_secret_12345", "whsec_rotated_secret_67890"


@pytest.fixture
def elsewhere(app):
    """A connection of its own to the same database, as another server process has."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    yield engine
    engine.dispose()


def _change(engine, token: str, **columns) -> None:
    sets = ", ".join(f"{name} = :{name}" for name in columns)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE endpoints SET {sets} WHERE token = :token"),
                     {**columns, "token": token})


def _post(client, token: str, secret: str, body: bytes = b'{"id":"evt_1"}'):
    return client.post(f"/hooks/{token}", data=body,
                       headers={"Content-Type": "application/json",
                                "X-Protocol-Signature": sign(body, secret)})


def _status(client, response) -> str:
    request_id = int(response.headers["X-Inspector-Request-Id"])
    return client.get(f"/api/requests/{request_id}").json["signature"]["status"]


def test_settings_are_read_once_per_process(app, client, endpoint, monkeypatch):
    store = writer.capture_store(app)
    reads = []
    real = store.settings._read
    monkeypatch.setattr(store.settings, "_read", lambda token: reads.append(token) or real(token))
    for _ in range(3):
        assert _post(client, endpoint["token"], OLD).status_code == 200
    assert reads == [endpoint["token"]]  # the first capture read them; the others kept them


def test_a_secret_rotated_elsewhere_is_used_by_the_next_capture(app, client, endpoint, elsewhere):
    assert _status(client, _post(client, endpoint["token"], OLD)) == "valid"  # settings kept
    _change(elsewhere, endpoint["token"], secrets=json.dumps([NEW]))

    assert _status(client, _post(client, endpoint["token"], NEW)) == "valid"
    assert _status(client, _post(client, endpoint["token"], OLD)) == "invalid"


def test_answer_status_and_header_changed_elsewhere_apply_at_once(app, client, endpoint,
                                                                    elsewhere):
    assert _post(client, endpoint["token"], OLD).status_code == 200
    _change(elsewhere, endpoint["token"], response_status=202, signature_header="x-other-sig")
    response = _post(client, endpoint["token"], OLD)
    assert response.status_code == 202
    assert _status(client, response) == "missing"  # sought under the new header name now


def test_an_endpoint_deleted_elsewhere_is_a_404_and_nothing_is_stored(app, client, endpoint,
                                                                      elsewhere):
    assert _post(client, endpoint["token"], OLD).status_code == 200
    with elsewhere.begin() as conn:
        endpoint_id = conn.execute(sa.text("SELECT id FROM endpoints WHERE token = :t"),
                                   {"t": endpoint["token"]}).scalar_one()
        conn.execute(sa.text("DELETE FROM captured_requests WHERE endpoint_id = :e"),
                     {"e": endpoint_id})
        conn.execute(sa.text("DELETE FROM endpoints WHERE id = :e"), {"e": endpoint_id})

    response = _post(client, endpoint["token"], OLD)
    assert response.status_code == 404 and response.is_json
    with elsewhere.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM captured_requests WHERE endpoint_id"
                                    " = :e"), {"e": endpoint_id}).scalar_one() == 0


def test_settings_that_keep_changing_give_a_json_500(app, client, endpoint, monkeypatch):
    def always_changed(app_, values):
        raise EndpointChanged()

    monkeypatch.setattr(writer, "store", always_changed)
    response = _post(client, endpoint["token"], OLD)
    assert response.status_code == 500 and response.is_json


def test_the_cache_keeps_only_endpoints_that_exist_and_is_bounded():
    rows = {f"t{n}": (n, "[]", "x-protocol-signature", 200) for n in range(5)}
    reads = []
    cache = SettingsCache(lambda token: reads.append(token) or rows.get(token))
    cache.LIMIT = 3
    assert cache.get("unknown") is None and cache.get("unknown") is None
    assert reads == ["unknown", "unknown"]  # a made-up token is never kept
    for n in range(3):
        assert cache.get(f"t{n}").endpoint.id == n
    assert cache.get("t0") and reads.count("t0") == 1
    cache.get("t3")  # past the limit: starts afresh
    cache.get("t0")
    assert reads.count("t0") == 2
    assert cache.get("t0", fresh=True) and reads.count("t0") == 3


@pytest.mark.parametrize("app", ["postgresql"], indirect=True)
def test_each_commit_notifies_the_listeners_of_its_endpoints(app, client, endpoint, elsewhere):
    """Streams of other servers wake on this notification rather than on their poll."""
    import psycopg

    from inspector import live

    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f"LISTEN {live.CHANNEL}")
        assert _post(client, endpoint["token"], OLD).status_code == 200
        with elsewhere.connect() as other:
            endpoint_id = other.execute(sa.text("SELECT id FROM endpoints WHERE token = :t"),
                                        {"t": endpoint["token"]}).scalar_one()
        payloads = [note.payload for note in conn.notifies(timeout=2, stop_after=1)]
    assert payloads == [str(endpoint_id)]
