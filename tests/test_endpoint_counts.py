"""The home page's request count per endpoint stays exact through every way rows come
and go, and on both backends it is read from the triggers' table instead of counted."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from inspector import endpoint_pages, request_counts, retention
from inspector.models import CapturedRequest, Endpoint, db
from inspector.writer import capture_store
from tests.conftest import fresh_pg_schema, make_app, pg_url


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


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store(request, tmp_path):
    """Settings of a store of each backend that no migration has run on yet."""
    config = {"DATA_DIR": str(tmp_path), "TESTING": True, "SECRET_KEY": "k"}
    if request.param == "sqlite":
        yield config
        return
    with fresh_pg_schema("inspector_counts") as schema:
        yield {**config, "DATABASE_URL": pg_url(schema)}


def test_migration_counts_the_rows_already_stored(empty_store):
    """A store upgraded from before the counts starts with the right numbers."""
    app = make_app(empty_store)
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


def _pg_plan_nodes(plan: dict, under_aggregate: bool = False):
    """(node, whether an Aggregate is above it) for every node of an EXPLAIN tree."""
    yield plan, under_aggregate
    for child in plan.get("Plans", []):
        yield from _pg_plan_nodes(child, under_aggregate or plan["Node Type"] == "Aggregate")


@pytest.fixture
def pg_app(migrated):
    app = make_app(migrated["postgresql"])
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    yield app
    app.extensions["inspector.pruner"].stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _change_rows(app) -> int:
    with app.app_context():
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(request_counts.count_changes))
        db.session.remove()
    return rows


def test_postgres_home_page_counts_no_rows(pg_app):
    """No aggregate of the page's statement reads captured_requests: the counts are
    sums of the change rows, and captured_requests gives only the newest arrival."""
    client = pg_app.test_client()
    token = client.post("/api/endpoints", json={}).json["token"]
    _capture(client, token, 3)
    statements = []

    def record(conn, cursor, sql, params, *_):
        statements.append((sql, params))
    with pg_app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert endpoint_pages.endpoint_stats()[_endpoint_id(pg_app, token)][0] == 3
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        (sql, params), = [s for s in statements if "captured_requests" in s[0]]
        with db.engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params).scalar()[0]["Plan"]
    scans = [(node, aggregated) for node, aggregated in _pg_plan_nodes(plan)
             if node.get("Relation Name") == "captured_requests"]
    assert scans and not any(aggregated for _, aggregated in scans), plan
    assert any(node.get("Relation Name") == "request_count_changes"
               for node, _ in _pg_plan_nodes(plan)), plan


def test_postgres_fold_keeps_counts_exact_while_capture_runs(pg_app, monkeypatch):
    """Folds run (from capture, every few rows here) while 8 threads capture into
    three endpoints; the counts stay exact, and the change rows shrink to one per
    endpoint, a deleted endpoint's rows gone."""
    monkeypatch.setattr(request_counts.Folder, "FOLD_EVERY", 7)
    client = pg_app.test_client()
    a, b, gone = (client.post("/api/endpoints", json={}).json["token"] for _ in range(3))
    _capture(client, gone, 5)
    assert client.delete(f"/api/endpoints/{gone}").status_code == 204
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda token: _capture(client, token, 60), [a, b, a]))
    folder = capture_store(pg_app).count_folder
    assert folder.thread is not None  # capture started folds
    folder.thread.join(10)
    stats, truth = _stats_and_truth(pg_app)
    assert stats == truth and sorted(stats.values()) == [60, 120]

    request_counts.fold(capture_store(pg_app).engine)
    assert _change_rows(pg_app) == 2
    stats, truth = _stats_and_truth(pg_app)
    assert stats == truth


def test_postgres_concurrent_folds_lose_nothing(pg_app):
    """Two folds at once from two connections, with captures between them."""
    client = pg_app.test_client()
    token = client.post("/api/endpoints", json={}).json["token"]
    engine = capture_store(pg_app).engine

    def fold_often(_):
        for _ in range(10):
            request_counts.fold(engine)
    with ThreadPoolExecutor(3) as pool:
        folds = [pool.submit(fold_often, i) for i in range(2)]
        _capture(client, token, 50)
        for done in folds:
            done.result()
    stats, truth = _stats_and_truth(pg_app)
    assert stats == truth == {_endpoint_id(pg_app, token): 50}
