"""Flows: the Prefect flow wiring the stages, settings, and the `cme-relay` command line."""
