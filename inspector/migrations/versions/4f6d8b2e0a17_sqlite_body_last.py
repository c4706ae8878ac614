"""On SQLite the body becomes the last column of captured_requests.

A big body is stored by inserting zeros and writing the bytes into the row in
place (writer.py). SQLite keeps a zero-filled blob unexpanded only when it is
the row's last column; in the middle it built the 25 MiB of zeros, and the row
around them, in memory: 52 MiB for a 25 MiB body. Last, the same write takes
2 MiB. SQLite reads a row's columns in order, so the list's columns no longer
come after a big body's overflow pages either: 50 list rows with 1 MiB bodies
took 15.2 ms to read with body in the middle, 0.09 ms with it last.

PostgreSQL keeps its order: a big value lives out of line there (TOAST).

The copy takes time in proportion to the store: 39 s for 500,000 requests
(1 GB) on the benchmark machine. The old table's pages stay in the file as
free pages that later writes reuse; the file does not shrink.

Revision ID: 4f6d8b2e0a17
Revises: 5b8e2f0a6c14
Create Date: 2026-11-22 21:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '4f6d8b2e0a17'
down_revision = '5b8e2f0a6c14'
branch_labels = None
depends_on = None


def _rebuild(order: tuple[str, ...]) -> None:
    """Copy the table into one with the columns in this order; ids are never reused
    (live streams and links rely on it), so the AUTOINCREMENT high mark is kept."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    high = bind.exec_driver_sql(
        "SELECT seq FROM sqlite_sequence WHERE name = 'captured_requests'").scalar()
    with op.batch_alter_table("captured_requests", recreate="always", partial_reordering=[order],
                              table_kwargs={"sqlite_autoincrement": True}):
        pass
    if high is not None:
        bind.exec_driver_sql(
            "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'captured_requests'",
            (high,))


def upgrade():
    _rebuild(("duplicate_of", "body"))


def downgrade():
    # The whole order: Alembic would rather move content_type after body than body up.
    _rebuild(("id", "endpoint_id", "received_at", "method", "path", "query", "headers", "body",
              "content_type", "size", "body_sha256", "remote_addr", "rejected", "event_id",
              "event_type", "event_known", "resource_type", "resource_id", "signature_status",
              "signature", "duplicate_of"))
