"""Auto-forward cursors and bulk replay jobs.

Revision ID: 2c2353682bfc
Revises: 3747d4402530
Create Date: 2026-11-22 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2c2353682bfc'
down_revision = '3747d4402530'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('forward_cursors',
    sa.Column('endpoint_id', BigId, nullable=False),
    sa.Column('request_id', sa.BigInteger(), nullable=False),
    sa.Column('txid', sa.BigInteger(), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=True),
    sa.Column('lease_expires', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['endpoints.id'], name=op.f('fk_forward_cursors_endpoint_id_endpoints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('endpoint_id', name=op.f('pk_forward_cursors')),
    )
    op.create_table('bulk_replays',
    sa.Column('id', BigId, nullable=False),
    sa.Column('endpoint_id', BigId, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('append_path', sa.Boolean(), nullable=False),
    sa.Column('pacing', sa.String(length=16), nullable=False),
    sa.Column('filter', sa.JSON(), nullable=False),
    sa.Column('request_ids', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('succeeded', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=True),
    sa.Column('lease_expires', sa.Float(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['endpoint_id'], ['endpoints.id'], name=op.f('fk_bulk_replays_endpoint_id_endpoints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_replays')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('bulk_replays', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_replays_endpoint_id'), ['endpoint_id'], unique=False)


def downgrade():
    with op.batch_alter_table('bulk_replays', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulk_replays_endpoint_id'))

    op.drop_table('bulk_replays')
    op.drop_table('forward_cursors')
