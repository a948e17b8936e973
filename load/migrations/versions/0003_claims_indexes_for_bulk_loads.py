"""claims: index only the waiting (delayed) claims; no index on learner id

Every run reads the delayed claims (`state = 'delayed'`); no query looks claims up by learner.
At a million claims, keeping an index on every claim's state and on its (randomly ordered)
learner id cost a load more than any read gained: a partial index on the delayed claims is
small and serves the only lookup by state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 07:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

DELAYED = sa.text("state = 'delayed'")


def upgrade() -> None:
    op.drop_index("ix_claims_learner", table_name="claims")
    op.drop_index("ix_claims_state", table_name="claims")
    op.create_index("ix_claims_delayed", "claims", ["state"], sqlite_where=DELAYED, postgresql_where=DELAYED)


def downgrade() -> None:
    op.drop_index("ix_claims_delayed", table_name="claims")
    op.create_index("ix_claims_state", "claims", ["state"])
    op.create_index("ix_claims_learner", "claims", ["learner_id"])
