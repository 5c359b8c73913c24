"""plan lines, alerts, schedule operations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:58:57.659946
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('plan_id', sa.String(), nullable=False),
    sa.Column('sku', sa.String(), nullable=True),
    sa.Column('supplier_id', sa.String(), nullable=True),
    sa.Column('type', sa.String(), nullable=False),
    sa.Column('severity', sa.String(), nullable=False),
    sa.Column('value_at_risk', sa.Double(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('action', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_sku'), ['sku'], unique=False)

    op.create_table('plan_lines',
    sa.Column('plan_id', sa.String(), nullable=False),
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('supplier_id', sa.String(), nullable=True),
    sa.Column('abc', sa.String(), nullable=True),
    sa.Column('xyz', sa.String(), nullable=True),
    sa.Column('pattern', sa.String(), nullable=True),
    sa.Column('service_target', sa.Double(), nullable=True),
    sa.Column('on_hand', sa.Double(), nullable=False),
    sa.Column('open_qty', sa.Double(), nullable=False),
    sa.Column('backorders', sa.Double(), nullable=False),
    sa.Column('inventory_position', sa.Double(), nullable=False),
    sa.Column('demand_per_period', sa.Double(), nullable=True),
    sa.Column('lead_time_days', sa.Double(), nullable=True),
    sa.Column('safety_stock', sa.Double(), nullable=True),
    sa.Column('reorder_point', sa.Double(), nullable=True),
    sa.Column('order_up_to', sa.Double(), nullable=True),
    sa.Column('eoq', sa.Double(), nullable=True),
    sa.Column('order_qty', sa.Double(), nullable=False),
    sa.Column('order_by', sa.Date(), nullable=True),
    sa.Column('expected_arrival', sa.Date(), nullable=True),
    sa.Column('stockout_date', sa.Date(), nullable=True),
    sa.Column('days_of_supply', sa.Double(), nullable=True),
    sa.Column('capital', sa.Double(), nullable=True),
    sa.Column('expected_fill_rate', sa.Double(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'sku')
    )
    op.create_table('schedule_operations',
    sa.Column('plan_id', sa.String(), nullable=False),
    sa.Column('job_id', sa.String(), nullable=False),
    sa.Column('op', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('qty', sa.Double(), nullable=False),
    sa.Column('line_id', sa.String(), nullable=False),
    sa.Column('start', sa.DateTime(), nullable=False),
    sa.Column('end', sa.DateTime(), nullable=False),
    sa.Column('setup_minutes', sa.Double(), nullable=False),
    sa.Column('due', sa.DateTime(), nullable=True),
    sa.Column('lateness_minutes', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'job_id', 'op')
    )
    with op.batch_alter_table('schedule_operations', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_operations_plan_line', ['plan_id', 'line_id', 'start'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('schedule_operations', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_operations_plan_line')

    op.drop_table('schedule_operations')
    op.drop_table('plan_lines')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_sku'))
        batch_op.drop_index(batch_op.f('ix_alerts_plan_id'))

    op.drop_table('alerts')

