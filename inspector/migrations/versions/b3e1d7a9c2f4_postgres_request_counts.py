"""PostgreSQL keeps each endpoint's request count as a sum of changes that triggers append.

The home page counted each endpoint's entries of the list index: 55-83 ms at
500,000 stored requests. SQLite keeps a counter row per endpoint
(9a3c5e7b1d20), but on PostgreSQL every capturing process would queue on that
row until its transaction commits, and two batches touching two endpoints in
opposite order would deadlock. So here each INSERT or DELETE statement on
captured_requests only appends one row per endpoint it touched, with how many
rows it added (or removed, negative); appends never wait on each other. An
endpoint's count is the sum of its rows, and request_counts.fold() replaces
them by their sums now and then, so the sum stays a read of a small table.

No foreign key: a deleted endpoint's cascade appends its negative change while
the endpoint row is already gone. Its rows then sum to 0 and the next fold
drops them.

Revision ID: b3e1d7a9c2f4
Revises: 9a3c5e7b1d20
Create Date: 2026-11-23 03:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3e1d7a9c2f4'
down_revision = '9a3c5e7b1d20'
branch_labels = None
depends_on = None

# Statement-level, so a pruning batch or a bulk COPY appends one row per endpoint.
# The table is named with its schema: the functions run under whatever search_path
# the session that fires them has.
_FUNCTION = """
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {table} (endpoint_id, requests)
    SELECT endpoint_id, {sign}count(*) FROM {rows} GROUP BY endpoint_id;
    RETURN NULL;
END $$
"""
_TRIGGER = ("CREATE TRIGGER {trigger} AFTER {event} ON captured_requests"
            " REFERENCING {which} TABLE AS {rows} FOR EACH STATEMENT EXECUTE FUNCTION {name}()")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE request_count_changes ("
               " endpoint_id integer NOT NULL, requests bigint NOT NULL)")
    schema = bind.execute(sa.text("SELECT quote_ident(current_schema())")).scalar()
    table = f"{schema}.request_count_changes"
    for name, trigger, event, which, rows, sign in (
            ("count_captured_inserts", "tr_captured_requests_counted", "INSERT", "NEW", "added", ""),
            ("count_captured_deletes", "tr_captured_requests_uncounted", "DELETE", "OLD", "removed", "-")):
        op.execute(_FUNCTION.format(name=name, table=table, sign=sign, rows=rows))
        op.execute(_TRIGGER.format(trigger=trigger, event=event, which=which, rows=rows, name=name))
    op.execute("INSERT INTO request_count_changes (endpoint_id, requests)"
               " SELECT endpoint_id, count(*) FROM captured_requests GROUP BY endpoint_id")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER tr_captured_requests_uncounted ON captured_requests")
    op.execute("DROP TRIGGER tr_captured_requests_counted ON captured_requests")
    op.execute("DROP FUNCTION count_captured_deletes()")
    op.execute("DROP FUNCTION count_captured_inserts()")
    op.execute("DROP TABLE request_count_changes")
