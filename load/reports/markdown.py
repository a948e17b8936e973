"""The identity-free run summary as markdown: `report.md` and the Prefect UI's summary artifact.

Built from `report_summary`, which holds counts, reason codes, file names and checksums only:
no learner is named here.
"""

from __future__ import annotations

from load.reports.sections import REPORT_TITLE
from schemas.reasons import OUTCOMES


def _md(value: object) -> str:
    """A value safe in a markdown table cell (no column breaks, no HTML)."""
    text = "" if value is None else str(value)
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def _table(columns: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    return lines + ["| " + " | ".join(_md(v) for v in row) + " |" for row in rows]


def summary_markdown(summary: dict) -> str:
    lines = [f"# {REPORT_TITLE}: {_md(summary['run_id'])}", ""]
    if summary["status"] != "succeeded":
        lines += [f"**Run {_md(summary['status'])}.** {_md(summary['error'] or '')}", ""]
    lines += [f"**What was sent:** {_md(summary['sent_note'])}", ""]
    lines += _table(
        ["", ""],
        [
            ["status", summary["status"]],
            ["trigger", f"{summary['trigger']} by {summary['triggered_by']}"],
            ["started", summary["started_at"]],
            ["finished", summary["finished_at"]],
            ["as-of date", summary["as_of"]],
            ["code version", summary["code_version"]],
            ["cutoff", summary["cutoff"]],
        ],
    )
    counts = summary["counts"]
    lines += ["", "## Outcomes of this run's input rows", ""]
    lines += _table(["outcome", "claims"], [["input rows", counts["input_rows"]], *[[o, counts[o]] for o in OUTCOMES]])
    lines += ["", "## Claims waiting from earlier runs (carried over)", ""]
    lines += _table(["outcome", "claims"], [[k, v] for k, v in summary["carried_over"].items()])
    reasons = [[o, code, n] for o, codes in summary["reasons"].items() for code, n in codes.items()]
    if reasons:
        lines += ["", "## Reasons", ""] + _table(["outcome", "reason", "claims"], reasons)
    lines += ["", "## Checks", ""]
    lines += _table(
        ["check", "expected", "found", "holds"],
        [[c["check"], c["expected"], c["found"], c["holds"]] for c in summary["checks"]],
    )
    lines += ["", "## Files", ""]
    lines += _table(
        ["file", "role", "rows", "SHA-256", "note"],
        [
            [f["file"], f["role"], f["rows"], f["sha256"], f.get("note") or f.get("status") or ""]
            for f in [*summary["input_files"], *summary["output_files"]]
        ],
    )
    lines += ["", "Learner-level listings are in the access-restricted report files (report.xlsx, report.html)."]
    return "\n".join(lines) + "\n"
