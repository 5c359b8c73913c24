"""bill of materials and the items' planning columns

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def _item_columns() -> tuple[sa.Column, ...]:
    return (
        sa.Column('lot_rule', sa.String(), server_default='lot_for_lot', nullable=False),
        sa.Column('poq_periods', sa.Integer(), nullable=True),
        sa.Column('order_cost', sa.Double(), nullable=True),
        sa.Column('safety_stock', sa.Double(), nullable=True),
        sa.Column('queue_days', sa.Double(), server_default='0', nullable=False),
        sa.Column('pull', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('container_qty', sa.Double(), nullable=True),
    )


def upgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        for column in _item_columns():
            batch_op.add_column(column)
    op.create_table('bom',
    sa.Column('parent_sku', sa.String(), nullable=False),
    sa.Column('component_sku', sa.String(), nullable=False),
    sa.Column('op', sa.Integer(), nullable=False),
    sa.Column('qty_per', sa.Double(), nullable=False),
    sa.Column('scrap_rate', sa.Double(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['component_sku'], ['items.sku'], ),
    sa.ForeignKeyConstraint(['parent_sku'], ['items.sku'], ),
    sa.PrimaryKeyConstraint('parent_sku', 'component_sku', 'op')
    )
    with op.batch_alter_table('bom', schema=None) as batch_op:
        batch_op.create_index('ix_bom_component_sku', ['component_sku'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bom', schema=None) as batch_op:
        batch_op.drop_index('ix_bom_component_sku')
    op.drop_table('bom')
    with op.batch_alter_table('items', schema=None) as batch_op:
        for column in reversed(_item_columns()):
            batch_op.drop_column(column.name)
