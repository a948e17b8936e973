"""Alembic environment: the connection comes from `open_ledger` (config.attributes)."""

from __future__ import annotations

from alembic import context

from load.ledger.tables import metadata

connection = context.config.attributes.get("connection")


def run_migrations() -> None:
    if connection is None:  # `alembic revision --autogenerate` from the command line
        from sqlalchemy import create_engine

        engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "sqlite://")
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
