"""PostgreSQL: a live stream's reads walk the (endpoint_id, txid, id) index from its
cursor on, however many rows the endpoint already has."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from inspector import live
from inspector.models import Endpoint, db
from tests.conftest import fresh_pg_schema, make_app, pg_url

ROWS = 20_000  # per endpoint: the default retention keeps 10,000
FILL = ("INSERT INTO captured_requests (endpoint_id, received_at, method, path, query,"
        " headers, body, content_type, size, body_sha256, remote_addr, event_known,"
        " signature_status, signature)"
        " SELECT :e, now(), 'POST', '/', '', '[]', '\\x', '', 0, '', '', false, 'valid', '{}'"
        " FROM generate_series(1, :n)")


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A migrated schema whose two endpoints have ROWS requests each, analyzed; the app
    and a stream cursor a few rows before the end of endpoint 1."""
    from flask_migrate import upgrade

    with fresh_pg_schema("inspector_stream_plans") as schema:
        app = make_app({"DATA_DIR": str(tmp_path_factory.mktemp("plans")), "TESTING": True,
                        "SECRET_KEY": "k", "DATABASE_URL": pg_url(schema)})
        with app.app_context():
            upgrade()
            endpoints = [Endpoint(name=f"e{n}") for n in range(2)]
            db.session.add_all(endpoints)
            db.session.commit()
            for endpoint in endpoints:
                db.session.execute(sa.text(FILL), {"e": endpoint.id, "n": ROWS})
                db.session.commit()
            db.session.execute(sa.text("ANALYZE captured_requests"))
            db.session.commit()
            row = db.session.execute(sa.text(
                "SELECT id, txid::text::bigint FROM captured_requests WHERE endpoint_id = :e"
                " ORDER BY id DESC OFFSET 5 LIMIT 1"), {"e": endpoints[0].id}).one()
            cursor = {"e": endpoints[0].id, "tx": row[1], "id": row[0], "n": live.BATCH}
        yield app, cursor
        app.extensions["inspector.pruner"].stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


QUERIES = ("newest settled", "positions after the cursor", "rows after the cursor", "peek")


@pytest.mark.parametrize("name", QUERIES)
def test_stream_reads_start_at_the_cursor_in_index_order(history, name):
    """An index condition on the txid and no sort: compared as a bigint, the txid
    could not be searched for, and each wake-up of each stream read, then sorted,
    every row of its endpoint."""
    app, cursor = history
    with app.app_context():
        if name == "peek":  # a driver-level query, with positional parameters
            driver = db.session.connection().connection.dbapi_connection
            rows = driver.execute(f"EXPLAIN {live.PEEK_POSTGRES}",
                                  (cursor["e"], cursor["tx"], cursor["id"])).fetchall()
        elif name == "newest settled":
            rows = db.session.execute(sa.text(f"EXPLAIN {live.NEWEST_SETTLED}"), cursor).all()
        else:  # positions (a filtered stream), or the rows themselves
            reads = live.POSITIONS_AFTER if name.startswith("positions") else live.ROWS_AFTER
            query = reads[True].compile(db.engine)
            driver = db.session.connection().connection.dbapi_connection
            rows = driver.execute(f"EXPLAIN {query}", query.construct_params(
                {"e": cursor["e"], "tx": cursor["tx"], "id": cursor["id"], "limit": cursor["n"]}
            )).fetchall()
        db.session.rollback()
    plan = "\n".join(row[0] for row in rows)
    assert "ix_captured_endpoint_txid" in plan, plan
    assert "txid" in plan.split("Index Cond")[-1].split("\n")[0], plan
    assert "Filter" not in plan and "Sort" not in plan, plan
