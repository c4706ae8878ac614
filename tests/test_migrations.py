"""The migrations build exactly the schema the models describe, on both backends."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from inspector.models import db
from tests.conftest import make_app

# PostgreSQL rows carry the transaction id that orders live streams (live.py);
# the models leave it out, as it is never read or written through them.
POSTGRES_ONLY = {"txid", "ix_captured_endpoint_txid"}
# SQLite keeps request counts in a table of triggers' own (models.endpoint_counts).
SQLITE_ONLY = {"endpoint_counts"}


def _in_the_models(obj, name, type_, reflected, compare_to) -> bool:
    return name not in POSTGRES_ONLY | SQLITE_ONLY


# SQLAlchemy reflects the PostgreSQL-only column without knowing its type.
@pytest.mark.filterwarnings("ignore:Did not recognize type 'xid8'")
def test_migrated_schema_matches_the_models(app):
    with app.app_context():
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_object": _in_the_models, "compare_type": False})
            differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_duplicate_lookup_index_ends_with_id(migrated):
    """The index behind `duplicate_of` (one probe per capture, not a walk of the endpoint)."""
    for config in migrated.values():
        app = make_app(config)
        with app.app_context():
            indexes = {ix["name"]: ix["column_names"]
                       for ix in db.inspect(db.engine).get_indexes("captured_requests")}
            db.engine.dispose()
        assert indexes["ix_captured_endpoint_event"] == ["endpoint_id", "event_id", "id"]
