"""Alembic migrations of the ledger; applied by `load.ledger.database.open_ledger`."""
