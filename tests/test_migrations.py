"""The migrations build exactly the schema the models describe, on both backends."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from inspector.models import CapturedRequest, Endpoint, Resend, db
from tests.conftest import make_app

# PostgreSQL rows carry the transaction id that orders live streams (live.py);
# the models leave it out, as it is never read or written through them.
POSTGRES_ONLY = {"txid", "ix_captured_endpoint_txid", "request_count_changes"}
# Each backend keeps request counts in a table of triggers' own (request_counts.py).
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


def test_sqlite_rebuild_puts_body_last_and_keeps_rows_resends_and_ids(tmp_path):
    """Migration 4f6d8b2e0a17 copies captured_requests into a new table: the rows, the
    resends that point at them (a drop with foreign keys on would cascade into them),
    and the AUTOINCREMENT high mark (ids are never reused) all survive."""
    app = make_app({"DATA_DIR": str(tmp_path), "TESTING": True, "SECRET_KEY": "k"})
    big = bytes(range(256)) * 2048  # 512 KiB: over writer.STREAMED_BODY_BYTES
    with app.app_context():
        upgrade(revision="5b8e2f0a6c14")
        endpoint = Endpoint(name="old")
        db.session.add(endpoint)
        db.session.flush()
        rows = [CapturedRequest(endpoint_id=endpoint.id, method="POST", body=body,
                                signature_status="missing") for body in (b"small", big, b"gone")]
        db.session.add_all(rows)
        db.session.flush()
        db.session.add(Resend(request_id=rows[1].id, url="http://localhost/", method="POST",
                              body_sha256="x"))
        db.session.delete(rows[2])  # the newest id is now used up but not in the table
        resent_id, used = rows[1].id, rows[2].id
        db.session.commit()
        upgrade()
        columns = [c["name"] for c in db.inspect(db.engine).get_columns("captured_requests")]
        bodies = db.session.scalars(sa.select(CapturedRequest.body).order_by(CapturedRequest.id)).all()
        resent = db.session.scalars(sa.select(Resend.request_id)).all()
        keys_on = db.session.execute(sa.text("PRAGMA foreign_keys")).scalar()
        db.session.remove()
        db.engine.dispose()
    assert columns[-1] == "body"
    assert bodies == [b"small", big]
    assert resent == [resent_id]
    assert keys_on == 1

    client = app.test_client()
    token = client.post("/api/endpoints", json={}).json["token"]
    assert client.post(f"/hooks/{token}", data=b"new").json["id"] == used + 1


def test_sqlite_downgrade_puts_body_back_and_upgrade_again_keeps_rows(tmp_path):
    app = make_app({"DATA_DIR": str(tmp_path), "TESTING": True, "SECRET_KEY": "k"})
    with app.app_context():
        upgrade()
        endpoint = Endpoint(name="round trip")
        db.session.add(endpoint)
        db.session.flush()
        db.session.add(CapturedRequest(endpoint_id=endpoint.id, method="POST", body=b"kept",
                                       signature_status="missing"))
        db.session.commit()
        downgrade(revision="5b8e2f0a6c14")
        middle = [c["name"] for c in db.inspect(db.engine).get_columns("captured_requests")]
        upgrade()
        last = [c["name"] for c in db.inspect(db.engine).get_columns("captured_requests")]
        bodies = db.session.scalars(sa.select(CapturedRequest.body)).all()
        db.session.remove()
        db.engine.dispose()
    assert middle.index("body") == middle.index("headers") + 1
    assert last[-1] == "body" and bodies == [b"kept"]
