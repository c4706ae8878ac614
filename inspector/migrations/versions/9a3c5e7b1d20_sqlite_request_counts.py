"""SQLite keeps each endpoint's request count in a table that triggers maintain.

The home page shows how many requests each endpoint holds. Counting them
walked every entry of each endpoint's index: 46 ms at 500,000 stored requests,
most of the page's time. Here triggers keep the count as rows are inserted and
deleted, by capture, pruning, clearing or a cascade alike, so the page reads
one row per endpoint.

SQLite only: its writers already take turns, so a counter row costs them no
concurrency. On PostgreSQL every capturing process would queue on the same
counter row until its transaction commits; there the home page still counts.

A later migration that rebuilds captured_requests (Alembic's batch mode copies
the table on SQLite) drops these triggers and must create them again;
tests/test_endpoint_counts.py fails if it does not.

Revision ID: 9a3c5e7b1d20
Revises: 4f6d8b2e0a17
Create Date: 2026-11-22 20:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9a3c5e7b1d20'
down_revision = '4f6d8b2e0a17'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE endpoint_counts ("
               " endpoint_id INTEGER NOT NULL PRIMARY KEY"
               " REFERENCES endpoints (id) ON DELETE CASCADE,"
               " requests INTEGER NOT NULL)")
    op.execute("CREATE TRIGGER tr_captured_requests_counted AFTER INSERT ON captured_requests"
               " BEGIN"
               " INSERT INTO endpoint_counts (endpoint_id, requests) VALUES (NEW.endpoint_id, 1)"
               " ON CONFLICT (endpoint_id) DO UPDATE SET requests = requests + 1;"
               " END")
    op.execute("CREATE TRIGGER tr_captured_requests_uncounted AFTER DELETE ON captured_requests"
               " BEGIN"
               " UPDATE endpoint_counts SET requests = requests - 1"
               " WHERE endpoint_id = OLD.endpoint_id;"
               " END")
    op.execute("INSERT INTO endpoint_counts (endpoint_id, requests)"
               " SELECT endpoint_id, count(*) FROM captured_requests GROUP BY endpoint_id")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER tr_captured_requests_uncounted")
    op.execute("DROP TRIGGER tr_captured_requests_counted")
    op.execute("DROP TABLE endpoint_counts")
