"""MRP plans (planned orders, pegging, the items' time-phased records) and stock-placement plans

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 13:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('planned_orders',
    sa.Column('plan_id', sa.String(), nullable=False),
    sa.Column('order_id', sa.String(), nullable=False),
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('make_or_buy', sa.String(), nullable=False),
    sa.Column('low_level_code', sa.Integer(), nullable=False),
    sa.Column('release_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('qty', sa.Double(), nullable=False),
    sa.Column('expedite', sa.Boolean(), nullable=False),
    sa.Column('supplier_id', sa.String(), nullable=True),
    sa.Column('splits', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'order_id')
    )
    op.create_index('ix_planned_orders_plan_sku', 'planned_orders', ['plan_id', 'sku', 'due_date'], unique=False)
    op.create_table('peggings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('plan_id', sa.String(), nullable=False),
    sa.Column('order_id', sa.String(), nullable=False),
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('qty', sa.Double(), nullable=False),
    sa.Column('end_sku', sa.String(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('demand_id', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_peggings_plan_order', 'peggings', ['plan_id', 'order_id'], unique=False)
    op.create_index('ix_peggings_plan_end', 'peggings', ['plan_id', 'end_sku', 'demand_id'], unique=False)
    op.create_table('mrp_records',
    sa.Column('plan_id', sa.String(), nullable=False),
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('make_or_buy', sa.String(), nullable=False),
    sa.Column('low_level_code', sa.Integer(), nullable=False),
    sa.Column('lead_time_periods', sa.Integer(), nullable=False),
    sa.Column('periods', sa.JSON(), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'sku')
    )


    op.create_table('placement_stages',
    sa.Column('plan_id', sa.String(), nullable=False),
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('inbound_service_time', sa.Double(), nullable=False),
    sa.Column('outbound_service_time', sa.Double(), nullable=False),
    sa.Column('net_replenishment_time', sa.Double(), nullable=False),
    sa.Column('demand_mean', sa.Double(), nullable=True),
    sa.Column('demand_std', sa.Double(), nullable=True),
    sa.Column('safety_factor', sa.Double(), nullable=True),
    sa.Column('unit_value', sa.Double(), nullable=True),
    sa.Column('safety_stock', sa.Double(), nullable=False),
    sa.Column('safety_stock_cost', sa.Double(), nullable=False),
    sa.Column('base_stock_level', sa.Double(), nullable=True),
    sa.Column('decoupling_point', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'sku')
    )


def downgrade() -> None:
    op.drop_table('placement_stages')
    op.drop_table('mrp_records')
    op.drop_index('ix_peggings_plan_end', table_name='peggings')
    op.drop_index('ix_peggings_plan_order', table_name='peggings')
    op.drop_table('peggings')
    op.drop_index('ix_planned_orders_plan_sku', table_name='planned_orders')
    op.drop_table('planned_orders')
