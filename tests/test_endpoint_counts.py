"""The home page's request count per endpoint stays exact through every way rows come
and go, and on SQLite it is read from the triggers' table instead of counted."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from flask_migrate import upgrade

from inspector import endpoint_pages, retention
from inspector.models import CapturedRequest, Endpoint, db
from tests.conftest import make_app


def _capture(client, token: str, n: int) -> list[int]:
    """n captures from 8 threads at once, so the writer stores them in batches."""
    def one(i: int) -> int:
        response = client.post(f"/hooks/{token}", data=f'{{"n": {i}}}'.encode(),
                               content_type="application/json")
        assert response.status_code == 200, response.data
        return response.json["id"]
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


def _stats_and_truth(app) -> tuple[dict[int, int], dict[int, int]]:
    """(what the home page reports, a count of the rows) per endpoint with requests."""
    with app.app_context():
        stats = {endpoint_id: n for endpoint_id, (n, _) in endpoint_pages.endpoint_stats().items()}
        truth = dict(db.session.execute(
            sa.select(CapturedRequest.endpoint_id, sa.func.count())
            .group_by(CapturedRequest.endpoint_id)).all())
        db.session.remove()
    return stats, truth


def _endpoint_id(app, token: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Endpoint.id).where(Endpoint.token == token))


def test_counts_follow_capture_delete_clear_and_pruning(app, client):
    a, b, c = (client.post("/api/endpoints", json={}).json["token"] for _ in range(3))
    _capture(client, a, 40)
    _capture(client, b, 25)
    _capture(client, c, 7)
    stats, truth = _stats_and_truth(app)
    assert stats == truth and sorted(truth.values()) == [7, 25, 40]

    pruner = retention.Pruner(app, keep=10)
    pruner._touched.add(_endpoint_id(app, a))
    assert pruner.run_once() == 30
    stats, truth = _stats_and_truth(app)
    assert stats == truth and stats[_endpoint_id(app, a)] == 10

    assert client.delete(f"/api/endpoints/{b}/requests").json == {"deleted": 25}
    stats, truth = _stats_and_truth(app)
    assert stats == truth and _endpoint_id(app, b) not in stats

    assert client.delete(f"/api/endpoints/{c}").status_code == 204
    _capture(client, b, 3)
    stats, truth = _stats_and_truth(app)
    assert stats == truth and sorted(stats.values()) == [3, 10]


def test_sqlite_home_page_counts_no_rows(sqlite_app):
    """The only read of captured_requests left is the newest row's arrival: one probe."""
    client = sqlite_app.test_client()
    token = client.post("/api/endpoints", json={}).json["token"]
    _capture(client, token, 3)
    endpoint_id = _endpoint_id(sqlite_app, token)
    statements = []

    def record(conn, cursor, sql, params, *_):
        statements.append((sql, params))
    with sqlite_app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert endpoint_pages.endpoint_stats()[endpoint_id][0] == 3
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        (sql, params), = [s for s in statements if "captured_requests" in s[0]]
        with db.engine.connect() as conn:
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
    searches = [step for step in plan if "captured_requests" in step]
    assert len(searches) == 1, plan
    assert "USING INDEX ix_captured_endpoint_list" in searches[0], plan  # newest row, not a count


def test_migration_counts_the_rows_already_stored(tmp_path):
    """A store upgraded from before the counts starts with the right numbers."""
    app = make_app({"DATA_DIR": str(tmp_path), "TESTING": True, "SECRET_KEY": "k"})
    with app.app_context():
        upgrade(revision="5b8e2f0a6c14")
        for name, n in (("one", 4), ("two", 9), ("none", 0)):
            endpoint = Endpoint(name=name)
            db.session.add(endpoint)
            db.session.flush()
            db.session.add_all(CapturedRequest(endpoint_id=endpoint.id, method="POST",
                                               signature_status="missing") for _ in range(n))
        db.session.commit()
        upgrade()
        counts = sorted(n for n, _ in endpoint_pages.endpoint_stats().values())
        db.session.remove()
        db.engine.dispose()
    assert counts == [4, 9]
