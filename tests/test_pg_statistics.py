"""PostgreSQL: a new captured-requests table gets planner statistics from capture itself,
so the INSERT's kept (generic) plan probes the (endpoint, event id) index."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from inspector import writer
from inspector.models import db
from inspector.pg_statistics import HAS_STATISTICS, StatisticsCheck
from inspector.signatures import sign
from tests.conftest import fresh_pg_schema, make_app, pg_url

SECRET = "whsec_test_secret_12345"
# The duplicate lookup of capture's INSERT, planned as a kept plan is: for any values.
GENERIC_LOOKUP = [
    "SET plan_cache_mode = force_generic_plan",
    "PREPARE lookup(bigint, text) AS SELECT min(id) FROM captured_requests"
    " WHERE endpoint_id = $1 AND event_id = $2",
]


@pytest.fixture
def fresh_pg_app(tmp_path):
    """The app on a newly migrated PostgreSQL schema: its tables never analyzed."""
    from flask_migrate import upgrade

    with fresh_pg_schema("inspector_stats") as schema:
        app = make_app({"DATA_DIR": str(tmp_path), "TESTING": True, "SECRET_KEY": "k",
                        "DATABASE_URL": pg_url(schema)})
        with app.app_context():
            upgrade()
        yield app
        app.extensions["inspector.pruner"].stop()
        with app.app_context():
            db.engine.dispose()


def _capture(client, token: str, count: int) -> None:
    """Webhooks of about 1 KiB, as real ones are: 200 tiny rows fit in a few pages,
    where a sequential scan is the cheapest plan whatever the statistics say."""
    for n in range(count):
        body = b'{"id":"evt_%d","type":"payment.succeeded","note":"%s"}' % (n, b"x" * 900)
        response = client.post(f"/hooks/{token}", data=body, headers={
            "Content-Type": "application/json", "X-Protocol-Signature": sign(body, SECRET)})
        assert response.status_code == 200


def _has_statistics(app) -> bool:
    with app.app_context(), db.engine.connect() as conn:
        return bool(conn.execute(HAS_STATISTICS).scalar())


def _generic_lookup_plan(app, token: str) -> str:
    with app.app_context(), db.engine.connect() as conn:
        endpoint_id = conn.execute(sa.text("SELECT id FROM endpoints WHERE token = :t"),
                                   {"t": token}).scalar()
        for statement in GENERIC_LOOKUP:
            conn.execute(sa.text(statement))
        plan = conn.exec_driver_sql(f"EXPLAIN EXECUTE lookup({endpoint_id}, 'evt_1')")
        return "\n".join(row[0] for row in plan)


def test_capture_analyzes_a_table_without_statistics(fresh_pg_app, monkeypatch):
    monkeypatch.setattr(StatisticsCheck, "ROWS", 200)
    client = fresh_pg_app.test_client()
    created = client.post("/api/endpoints", json={"name": "n", "secret": SECRET}).json

    _capture(client, created["token"], 199)
    check = writer.capture_store(fresh_pg_app).statistics
    assert check.thread is None and not _has_statistics(fresh_pg_app)

    _capture(client, created["token"], 1)
    check.thread.join(timeout=30)
    assert _has_statistics(fresh_pg_app)
    # What the statistics are for: a kept plan probes the index made for the lookup.
    assert "ix_captured_endpoint_event" in _generic_lookup_plan(fresh_pg_app, created["token"])


def test_statistics_already_there_are_left_alone(fresh_pg_app):
    client = fresh_pg_app.test_client()
    _capture(client, client.post("/api/endpoints", json={"secret": SECRET}).json["token"], 5)
    with fresh_pg_app.app_context():
        check = StatisticsCheck(db.engine)
        assert check.run() is True  # none yet: analyzed
        assert check.run() is False  # there now: nothing to do
