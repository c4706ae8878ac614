"""PostgreSQL: a live stream's reads walk the (endpoint_id, txid, id) index from its
cursor on, however many rows the endpoint already has."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from inspector import live
from inspector.models import db
from tests.conftest import make_app

# Named parameters for the ORM session's queries, positional ones for the peek's.
CURSOR = {"e": 1, "tx": 1000, "id": 5000, "n": 200}
QUERIES = {
    "newest settled": (live.NEWEST_SETTLED, CURSOR),
    "settled after the cursor": (live.SETTLED_AFTER, CURSOR),
    "peek": (live.PEEK_POSTGRES, (CURSOR["e"], CURSOR["tx"], CURSOR["id"])),
}


@pytest.fixture
def pg_app(migrated):
    """The app on PostgreSQL."""
    app = make_app(migrated["postgresql"])
    yield app
    app.extensions["inspector.pruner"].stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("name", QUERIES)
def test_stream_reads_start_at_the_cursor_in_index_order(pg_app, name):
    """No filter on the index's entries and no sort: a bigint comparison of the txid
    read, then sorted, every row of the endpoint on each wake-up of each stream."""
    sql, params = QUERIES[name]
    with pg_app.app_context():
        # An empty table is cheapest to read whole, whatever its indexes.
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        if isinstance(params, dict):
            rows = db.session.execute(sa.text(f"EXPLAIN {sql}"), params).all()
        else:
            driver = db.session.connection().connection.dbapi_connection
            rows = driver.execute(f"EXPLAIN {sql}", params).fetchall()
        db.session.rollback()
    plan = "\n".join(row[0] for row in rows)
    assert "ix_captured_endpoint_txid" in plan, plan
    assert "Index Cond" in plan and "txid" in plan.split("Index Cond")[1], plan
    assert "Filter" not in plan and "Sort" not in plan, plan
