"""The (endpoint, event id) index ends with id, so the duplicate lookup is one probe.

Every capture asks for the first earlier request with the same event id
(`duplicate_of`). PostgreSQL answered that min(id) by walking the endpoint's
(endpoint_id, id) index and filtering on event_id: a scan of every stored
request of the endpoint per capture (about 2 ms at 3,000 rows, growing with
the store). With id in this index the answer is its first matching entry.

Revision ID: 7d41c9e2b8a5
Revises: 2c2353682bfc
Create Date: 2026-11-22 10:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7d41c9e2b8a5'
down_revision = '2c2353682bfc'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('captured_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_captured_endpoint_event')
        batch_op.create_index('ix_captured_endpoint_event', ['endpoint_id', 'event_id', 'id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('captured_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_captured_endpoint_event')
        batch_op.create_index('ix_captured_endpoint_event', ['endpoint_id', 'event_id'],
                              unique=False)
