"""run_files.note wide enough for its notes; run_outcomes indexed by claim

`run_files.note` holds e.g. "skipped: already ingested by run <uuid>" (68 characters):
PostgreSQL refused it in a VARCHAR(64). A claim's history across runs is read by claim id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_files", schema=None) as batch_op:
        batch_op.alter_column("note", existing_type=sa.String(length=64), type_=sa.String(length=255))
    with op.batch_alter_table("run_outcomes", schema=None) as batch_op:
        batch_op.create_index("ix_run_outcomes_claim_id", ["claim_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_outcomes", schema=None) as batch_op:
        batch_op.drop_index("ix_run_outcomes_claim_id")
    with op.batch_alter_table("run_files", schema=None) as batch_op:
        batch_op.alter_column("note", existing_type=sa.String(length=255), type_=sa.String(length=64))
