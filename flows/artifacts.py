"""The run's summary in the Prefect UI: a markdown artifact and a table artifact, no learner identity.

Both come from `load.reports.report_summary` (counts, reason codes, checks, file names and
checksums), never from the judged claims, so no name, NPI or licence can reach Prefect.
Keys are fixed, so the UI shows each run's artifact as the next version of the same key.
"""

from __future__ import annotations

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from load.reports.markdown import summary_markdown
from schemas.reasons import OUTCOMES

SUMMARY_KEY = "credit-run-summary"
COUNTS_KEY = "credit-run-counts"


def outcome_table(summary: dict) -> list[dict]:
    """One row per count: outcomes of the input, carried-over claims, then each reason code."""
    counts = summary["counts"]
    rows = [{"group": "input", "outcome": "input rows", "reason": "", "claims": counts["input_rows"]}]
    rows += [{"group": "outcome", "outcome": o, "reason": "", "claims": counts[o]} for o in OUTCOMES]
    rows += [
        {"group": "carried over", "outcome": o, "reason": "", "claims": n} for o, n in summary["carried_over"].items()
    ]
    rows += [
        {"group": "reason", "outcome": outcome, "reason": code, "claims": n}
        for outcome, codes in summary["reasons"].items()
        for code, n in codes.items()
    ]
    return rows


def publish_run_artifacts(summary: dict) -> list[str]:
    """Create both artifacts for the current flow run; returns their keys."""
    run = summary["run_id"]
    create_markdown_artifact(
        key=SUMMARY_KEY, markdown=summary_markdown(summary), description=f"cme-relay run {run}: {summary['status']}"
    )
    create_table_artifact(key=COUNTS_KEY, table=outcome_table(summary), description=f"cme-relay run {run}: counts")
    return [SUMMARY_KEY, COUNTS_KEY]
