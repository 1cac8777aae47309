"""Request kinds: a correction's new values, encrypted while the request is open.

Revision ID: 0007_request_kinds
Revises: 0006_operators
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_request_kinds"
down_revision = "0006_operators"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("values_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("values_enc")
