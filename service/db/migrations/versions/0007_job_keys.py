"""Jobs record the API key that queued them (per-key quota on queued jobs); data_audit records deletes and replaces

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('data_audit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('key_id', sa.String(), nullable=True),
    sa.Column('key_name', sa.String(), nullable=True),
    sa.Column('action', sa.String(), nullable=False),
    sa.Column('table_name', sa.String(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_data_audit_table_at', 'data_audit', ['table_name', 'at'], unique=False)
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(), nullable=True))
        batch_op.create_index('ix_jobs_key_status', ['key_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_key_status')
        batch_op.drop_column('key_id')
    op.drop_index('ix_data_audit_table_at', table_name='data_audit')
    op.drop_table('data_audit')
