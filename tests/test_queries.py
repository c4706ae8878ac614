"""inspector.queries: which index a page of the list, filtered or not, is read through."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from inspector.models import db
from inspector.queries import RequestFilter, list_query

FILTERS = {
    "none": RequestFilter(),
    "signature": RequestFilter(signature="invalid"),
    "event type": RequestFilter(event_type="message.created"),
    "both": RequestFilter(signature="valid", event_type="message.created"),
}


def _plan(query: sa.Select) -> str:
    """The database's plan for the query, as text."""
    sql = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    if db.engine.dialect.name == "sqlite":
        rows = db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}")).all()
    else:
        # An empty table is cheapest to read whole, whatever its indexes.
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        rows = db.session.execute(sa.text(f"EXPLAIN {sql}")).all()
    db.session.rollback()
    return "\n".join(str(row) for row in rows)


@pytest.mark.parametrize("where", FILTERS.values(), ids=FILTERS.keys())
def test_the_list_and_its_few_valued_filters_read_only_the_list_index(app, where):
    """Newest first, with no sort, and the filters checked on the index entries, so
    a row is only read when it matches (capture keeps no index per filter)."""
    with app.app_context():
        plan = _plan(list_query(1, where, before=1000, limit=50))
        postgres = db.engine.dialect.name == "postgresql"
    assert "ix_captured_endpoint_list" in plan, plan
    if postgres:
        assert "Filter" not in plan and "Sort" not in plan, plan
        for column, wanted in (("signature_status", where.signature),
                               ("event_type", where.event_type)):
            assert (column in plan) == bool(wanted), plan  # in the Index Cond
    else:
        assert "TEMP B-TREE" not in plan, plan
