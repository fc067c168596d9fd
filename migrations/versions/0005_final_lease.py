"""Final-training lease: which worker trains a search's final model, and until when.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    # Plain ADD COLUMN, nullable: no table that holds data is rebuilt.
    op.add_column("searches", sa.Column("final_lease_token", sa.String(length=64), nullable=True))
    op.add_column(
        "searches", sa.Column("final_lease_expires_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    # Not batch mode: rebuilding `searches` under PRAGMA foreign_keys=ON would cascade the
    # DROP TABLE to its candidates. SQLite (3.35+) drops a plain column in place.
    op.drop_column("searches", "final_lease_expires_at")
    op.drop_column("searches", "final_lease_token")
