"""Erasure engine: plans, steps, residue hashes; the retention vault (keys, records, reads).

Revision ID: 0001_erasure_engine
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_erasure_engine"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erasure_plans",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_pseudonym", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("platform", sa.String(length=100), nullable=False),
        sa.Column("map_digest", sa.String(length=64), nullable=False),
        sa.Column("identifiers", sa.JSON(), nullable=True),
        sa.Column("subject_found", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_plans")),
    )
    with op.batch_alter_table("erasure_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_erasure_plans_request_id"), ["request_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_erasure_plans_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_erasure_plans_subject_pseudonym"), ["subject_pseudonym"], unique=False
        )

    op.create_table(
        "vault_access",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("subject_pseudonym", sa.String(length=64), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_access")),
    )
    with op.batch_alter_table("vault_access", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vault_access_subject_pseudonym"), ["subject_pseudonym"], unique=False
        )

    op.create_table(
        "vault_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_pseudonym", sa.String(length=64), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("master_key_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_keys")),
        sa.UniqueConstraint(
            "subject_pseudonym", "retain_until", name=op.f("uq_vault_keys_subject_pseudonym")
        ),
    )
    with op.batch_alter_table("vault_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vault_keys_retain_until"), ["retain_until"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_vault_keys_subject_pseudonym"), ["subject_pseudonym"], unique=False
        )

    op.create_table(
        "erasure_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("store", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["erasure_plans.id"],
            name=op.f("fk_erasure_steps_plan_id_erasure_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_steps")),
        sa.UniqueConstraint("plan_id", "seq", name=op.f("uq_erasure_steps_plan_id")),
    )
    with op.batch_alter_table("erasure_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_steps_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "vault_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("subject_pseudonym", sa.String(length=64), nullable=False),
        sa.Column("store", sa.String(length=100), nullable=False),
        sa.Column("table_name", sa.String(length=100), nullable=False),
        sa.Column("row_key", sa.String(length=255), nullable=False),
        sa.Column("legal_basis", sa.String(length=32), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["vault_keys.id"],
            name=op.f("fk_vault_records_key_id_vault_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_records")),
        sa.UniqueConstraint(
            "plan_id", "store", "table_name", "row_key", name=op.f("uq_vault_records_plan_id")
        ),
    )
    with op.batch_alter_table("vault_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vault_records_key_id"), ["key_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_vault_records_legal_basis"), ["legal_basis"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_vault_records_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_vault_records_retain_until"), ["retain_until"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_vault_records_subject_pseudonym"), ["subject_pseudonym"], unique=False
        )

    op.create_table(
        "erasure_residue_hashes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_residue_hashes")),
    )
    with op.batch_alter_table("erasure_residue_hashes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_erasure_residue_hashes_digest"), ["digest"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_erasure_residue_hashes_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_erasure_residue_hashes_plan_id"), ["plan_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("erasure_residue_hashes")
    op.drop_table("vault_records")
    op.drop_table("erasure_steps")
    op.drop_table("vault_keys")
    op.drop_table("vault_access")
    op.drop_table("erasure_plans")
