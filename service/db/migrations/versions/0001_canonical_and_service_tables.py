"""canonical and service tables

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 13:46:11.287018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('api_keys',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('role', sa.String(), nullable=False),
    sa.Column('prefix', sa.String(), nullable=False),
    sa.Column('key_hash', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    op.create_table('changeovers',
    sa.Column('line_id', sa.String(), nullable=False),
    sa.Column('from_family', sa.String(), nullable=False),
    sa.Column('to_family', sa.String(), nullable=False),
    sa.Column('minutes', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('line_id', 'from_family', 'to_family')
    )
    op.create_table('forecast_sets',
    sa.Column('model_version', sa.String(), nullable=False),
    sa.Column('model_name', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('info', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('model_version')
    )
    op.create_table('items',
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=True),
    sa.Column('family', sa.String(), nullable=True),
    sa.Column('unit_cost', sa.Double(), nullable=False),
    sa.Column('price', sa.Double(), nullable=True),
    sa.Column('shelf_life_days', sa.Integer(), nullable=True),
    sa.Column('lot_size', sa.Double(), nullable=False),
    sa.Column('moq', sa.Double(), nullable=False),
    sa.Column('make_or_buy', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('sku')
    )
    op.create_table('jobs',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=True),
    sa.Column('lock_key', sa.String(), nullable=True),
    sa.Column('progress', sa.Double(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.String(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_status_created', ['status', 'created_at'], unique=False)

    op.create_table('lines',
    sa.Column('line_id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=True),
    sa.Column('shifts', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('line_id')
    )
    op.create_table('plans',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=True),
    sa.Column('model_version', sa.String(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('customer_orders',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('qty', sa.Double(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['sku'], ['items.sku'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('customer_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_orders_sku'), ['sku'], unique=False)

    op.create_table('demand',
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('qty', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['sku'], ['items.sku'], ),
    sa.PrimaryKeyConstraint('sku', 'date')
    )
    op.create_table('forecasts',
    sa.Column('model_version', sa.String(), nullable=False),
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('horizon', sa.Integer(), nullable=False),
    sa.Column('mean', sa.Double(), nullable=False),
    sa.Column('quantiles', sa.JSON(), nullable=False),
    sa.Column('cum_quantiles', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['model_version'], ['forecast_sets.model_version'], ),
    sa.PrimaryKeyConstraint('model_version', 'sku', 'date')
    )
    with op.batch_alter_table('forecasts', schema=None) as batch_op:
        batch_op.create_index('ix_forecasts_sku_date', ['sku', 'date'], unique=False)

    op.create_table('inventory',
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('on_hand', sa.Double(), nullable=False),
    sa.Column('backorders', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['sku'], ['items.sku'], ),
    sa.PrimaryKeyConstraint('sku', 'as_of')
    )
    op.create_table('line_downtime',
    sa.Column('line_id', sa.String(), nullable=False),
    sa.Column('start', sa.DateTime(), nullable=False),
    sa.Column('end', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['line_id'], ['lines.line_id'], ),
    sa.PrimaryKeyConstraint('line_id', 'start')
    )
    op.create_table('open_orders',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('qty', sa.Double(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('supplier_id', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['sku'], ['items.sku'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('open_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_orders_sku'), ['sku'], unique=False)

    op.create_table('receipts',
    sa.Column('po_id', sa.String(), nullable=False),
    sa.Column('supplier_id', sa.String(), nullable=False),
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('qty_ordered', sa.Double(), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('promised_date', sa.Date(), nullable=False),
    sa.Column('received_date', sa.Date(), nullable=True),
    sa.Column('qty_received', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['sku'], ['items.sku'], ),
    sa.PrimaryKeyConstraint('po_id', 'sku')
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipts_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('routings',
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('op', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.String(), nullable=False),
    sa.Column('rate_per_hour', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['lines.line_id'], ),
    sa.ForeignKeyConstraint(['sku'], ['items.sku'], ),
    sa.PrimaryKeyConstraint('sku', 'op', 'line_id')
    )
    op.create_table('suppliers',
    sa.Column('supplier_id', sa.String(), nullable=False),
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('supplier_name', sa.String(), nullable=True),
    sa.Column('unit_price', sa.Double(), nullable=False),
    sa.Column('moq', sa.Double(), nullable=False),
    sa.Column('lot_multiple', sa.Double(), nullable=False),
    sa.Column('nominal_lead_time_days', sa.Integer(), nullable=False),
    sa.Column('capacity_per_period', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['sku'], ['items.sku'], ),
    sa.PrimaryKeyConstraint('supplier_id', 'sku')
    )
    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.create_index('ix_suppliers_sku', ['sku'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.drop_index('ix_suppliers_sku')

    op.drop_table('suppliers')
    op.drop_table('routings')
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipts_supplier_id'))

    op.drop_table('receipts')
    with op.batch_alter_table('open_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open_orders_sku'))

    op.drop_table('open_orders')
    op.drop_table('line_downtime')
    op.drop_table('inventory')
    with op.batch_alter_table('forecasts', schema=None) as batch_op:
        batch_op.drop_index('ix_forecasts_sku_date')

    op.drop_table('forecasts')
    op.drop_table('demand')
    with op.batch_alter_table('customer_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_orders_sku'))

    op.drop_table('customer_orders')
    op.drop_table('plans')
    op.drop_table('lines')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_status_created')

    op.drop_table('jobs')
    op.drop_table('items')
    op.drop_table('forecast_sets')
    op.drop_table('changeovers')
    op.drop_table('api_keys')

