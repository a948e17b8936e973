"""The ledger's tables (SQLAlchemy Core). Changes go through an Alembic migration too."""

from __future__ import annotations

import sqlalchemy as sa

from schemas.portal_claim import CLAIM_FIELDS
from schemas.registry_row import REGISTRY_FIELDS

metadata = sa.MetaData()
UTC_TIME = sa.DateTime(timezone=True)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("trigger", sa.String(32), nullable=False),
    sa.Column("triggered_by", sa.String(128), nullable=False),
    sa.Column("started_at", UTC_TIME, nullable=False),
    sa.Column("finished_at", UTC_TIME),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # running, succeeded, failed
    sa.Column("dry_run", sa.Boolean, nullable=False, default=False),
    sa.Column("code_version", sa.String(64), nullable=False),
    sa.Column("cutoff", sa.Date, nullable=False),
    sa.Column("counts", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
)

run_files = sa.Table(
    "run_files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),  # export, mappings, registry, report
    sa.Column("file_name", sa.String(512), nullable=False),
    sa.Column("path", sa.Text),
    sa.Column("sha256", sa.String(64)),
    sa.Column("rows", sa.Integer),
    # e.g. "skipped: already ingested by run <uuid>" (68 characters: 64 was too short, 0002)
    sa.Column("note", sa.String(255)),
)

# An export counts as ingested once a run that read it committed; the key stops a second ingest.
ingested_exports = sa.Table(
    "ingested_exports",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("file_name", sa.String(512), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
)

claims = sa.Table(
    "claims",
    metadata,
    sa.Column("claim_id", sa.String(128), primary_key=True),
    *[sa.Column(f, sa.Text) for f in CLAIM_FIELDS if f != "claim_id"],
    sa.Column("source_file", sa.String(512)),
    sa.Column("source_line", sa.Integer),
    sa.Column("accme_activity_id", sa.String(32)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64)),
    sa.Column("first_seen_run", sa.String(36), nullable=False),
    sa.Column("first_seen_at", UTC_TIME, nullable=False),
    sa.Column("state_changed_at", UTC_TIME, nullable=False),
    sa.Column("delayed_since", UTC_TIME),
    sa.Column("last_run_id", sa.String(36), nullable=False),
    # What the registry holds for this claim: the version and digest of the live Add.
    sa.Column("sent_version", sa.Integer, nullable=False, default=0),
    sa.Column("live", sa.Boolean, nullable=False, default=False),
    sa.Column("fingerprint", sa.String(32)),
    # Only the waiting claims are looked up by state; an index on every claim slowed loads (0003).
    sa.Index(
        "ix_claims_delayed",
        "state",
        sqlite_where=sa.text("state = 'delayed'"),
        postgresql_where=sa.text("state = 'delayed'"),
    ),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("batch_id", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("part", sa.Integer, nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("file_name", sa.String(512), nullable=False),
    sa.Column("sha256", sa.String(64)),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("adds", sa.Integer, nullable=False),
    sa.Column("deletes", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # committed (file pending), written
    sa.UniqueConstraint("run_id", "part", name="uq_batches_run_part"),
)

sent_rows = sa.Table(
    "sent_rows",
    metadata,
    sa.Column("batch_id", sa.String(64), sa.ForeignKey("batches.batch_id"), nullable=False),
    sa.Column("row_no", sa.Integer, nullable=False),
    sa.Column("claim_id", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    *[sa.Column(f, sa.Text) for f in REGISTRY_FIELDS],
    sa.PrimaryKeyConstraint("batch_id", "row_no"),
    # The natural key of a send: one Add and at most one Delete per claim version, ever.
    sa.UniqueConstraint("claim_id", "version", "action", name="uq_sent_rows_claim_version_action"),
)

run_outcomes = sa.Table(
    "run_outcomes",
    metadata,
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("claim_id", sa.String(128)),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64)),
    sa.Column("source_file", sa.String(512)),
    sa.Column("source_line", sa.Integer),
    sa.Column("carried", sa.Boolean, nullable=False),
    sa.Column("accme_activity_id", sa.String(32)),
    sa.Column("credits", sa.Float),
    sa.PrimaryKeyConstraint("run_id", "seq"),
    # A claim's history across runs (auditors, reports) is looked up by claim id (0002).
    sa.Index("ix_run_outcomes_claim_id", "claim_id"),
)

run_lock = sa.Table(
    "run_lock",
    metadata,
    sa.Column("lock_id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.String(36)),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("acquired_at", UTC_TIME),
)
