"""Uploaded datasets: shape, classes, counts, checksum, split policy and stored files.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table('datasets',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source_format', sa.String(length=16), nullable=False),
    sa.Column('source_filename', sa.String(length=255), nullable=False),
    sa.Column('source_sha256', sa.String(length=64), nullable=False),
    sa.Column('input_shape', JSON, nullable=False),
    sa.Column('num_classes', sa.Integer(), nullable=False),
    sa.Column('class_names', JSON, nullable=False),
    sa.Column('train_size', sa.Integer(), nullable=False),
    sa.Column('val_size', sa.Integer(), nullable=False),
    sa.Column('test_size', sa.Integer(), nullable=False),
    sa.Column('class_counts', JSON, nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('val_fraction', sa.Float(), nullable=False),
    sa.Column('stratified', sa.Boolean(), nullable=False),
    sa.Column('split_seed', sa.BigInteger(), nullable=False),
    sa.Column('test_source', sa.String(length=16), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('preview_path', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets'))
    )


def downgrade() -> None:
    op.drop_table('datasets')
