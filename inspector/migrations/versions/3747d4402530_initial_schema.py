"""Initial schema: endpoints, captured requests, resends.

Revision ID: 3747d4402530
Revises: 
Create Date: 2026-11-22 06:45:29.295353

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3747d4402530'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('endpoints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('secrets', sa.JSON(), nullable=False),
    sa.Column('signature_header', sa.String(length=100), nullable=False),
    sa.Column('forward_url', sa.Text(), nullable=True),
    sa.Column('auto_forward', sa.Boolean(), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_endpoints')),
    sa.UniqueConstraint('token', name=op.f('uq_endpoints_token')),
    sqlite_autoincrement=True,
    )
    op.create_table('captured_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('endpoint_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('content_type', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=False),
    sa.Column('rejected', sa.String(length=32), nullable=True),
    sa.Column('event_id', sa.String(length=200), nullable=True),
    sa.Column('event_type', sa.String(length=200), nullable=True),
    sa.Column('event_known', sa.Boolean(), nullable=False),
    sa.Column('resource_type', sa.String(length=200), nullable=True),
    sa.Column('resource_id', sa.String(length=200), nullable=True),
    sa.Column('signature_status', sa.String(length=16), nullable=False),
    sa.Column('signature', sa.JSON(), nullable=False),
    sa.Column('duplicate_of', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['endpoint_id'], ['endpoints.id'], name=op.f('fk_captured_requests_endpoint_id_endpoints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_captured_requests')),
    sqlite_autoincrement=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        # The writing transaction's id: live streams read only rows older than
        # every running transaction, so ids committing out of order leave no gap.
        op.execute("ALTER TABLE captured_requests"
                   " ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()")
        op.execute("CREATE INDEX ix_captured_endpoint_txid"
                   " ON captured_requests (endpoint_id, txid, id)")
    with op.batch_alter_table('captured_requests', schema=None) as batch_op:
        batch_op.create_index('ix_captured_endpoint_event', ['endpoint_id', 'event_id'], unique=False)
        batch_op.create_index('ix_captured_endpoint_id', ['endpoint_id', 'id'], unique=False)
        batch_op.create_index('ix_captured_endpoint_object', ['endpoint_id', 'resource_type', 'resource_id', 'id'], unique=False)
        batch_op.create_index('ix_captured_endpoint_signature', ['endpoint_id', 'signature_status', 'id'], unique=False)
        batch_op.create_index('ix_captured_endpoint_type', ['endpoint_id', 'event_type', 'id'], unique=False)

    op.create_table('resends',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('resigned', sa.Boolean(), nullable=False),
    sa.Column('edited', sa.Boolean(), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Float(), nullable=True),
    sa.Column('response_headers', sa.JSON(), nullable=False),
    sa.Column('response_body', sa.LargeBinary(), nullable=False),
    sa.Column('response_truncated', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['captured_requests.id'], name=op.f('fk_resends_request_id_captured_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resends')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('resends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resends_request_id'), ['request_id'], unique=False)



def downgrade():
    with op.batch_alter_table('resends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resends_request_id'))

    op.drop_table('resends')
    with op.batch_alter_table('captured_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_captured_endpoint_type')
        batch_op.drop_index('ix_captured_endpoint_signature')
        batch_op.drop_index('ix_captured_endpoint_object')
        batch_op.drop_index('ix_captured_endpoint_id')
        batch_op.drop_index('ix_captured_endpoint_event')

    op.drop_table('captured_requests')
    op.drop_table('endpoints')
