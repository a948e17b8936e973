"""The run report as one self-contained HTML page: inline CSS and SVG, no script, every value escaped.

It carries the same sections as the workbook; listings show their first `HTML_ROWS` rows, as many
as a sheet lists (the CSV beside them holds all of them), so the page stays printable.
"""

from __future__ import annotations

from html import escape

import pandas as pd

from load.reports.chart import outcome_chart_svg
from load.reports.data import SHEET_ROWS, RunReport
from load.reports.sections import REPORT_TITLE, Section, listing_note, summary_sections
from schemas.reasons import OUTCOMES

HTML_ROWS = SHEET_ROWS
KEY_FIGURES = ("input_rows", *OUTCOMES)

CSS = """
:root { --ink:#101828; --muted:#475467; --line:#d0d5dd; --head:#eef2f6; --bad:#9c0006; --badbg:#fdecea;
        --ok:#1b5e20; --okbg:#e8f5e9; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1180px; padding: 24px 28px 48px; background: #fff; }
header { border-bottom: 3px solid var(--ink); padding-bottom: 10px; margin-bottom: 18px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.sub { color: var(--muted); margin: 0; }
.mono, td.sha { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; }
td.sha { word-break: break-all; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 10px; font-weight: 700; font-size: 13px;
         vertical-align: middle; margin-left: 8px; }
.badge.succeeded { background: var(--okbg); color: var(--ok); }
.badge.failed, .badge.running { background: var(--badbg); color: var(--bad); }
.figures { display: grid; grid-template-columns: repeat(8, 1fr); gap: 8px; margin: 16px 0 4px; }
.figure { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.figure .n { font-size: 22px; font-weight: 700; display: block; }
.figure .l { color: var(--muted); font-size: 12px; }
.alarm { border: 2px solid var(--bad); background: var(--badbg); border-radius: 6px; padding: 4px 14px 10px;
         margin: 16px 0; }
.alarm h2 { color: var(--bad); border-bottom-color: var(--bad); }
table { border-collapse: collapse; width: 100%; margin: 4px 0 6px; }
table.compact { width: auto; min-width: 340px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
thead th { background: var(--head); font-weight: 600; }
tbody tr:nth-child(even) td { background: #fafbfc; }
table.pairs th { width: 32%; background: var(--head); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.no { color: var(--bad); font-weight: 700; }
section.listing table, #reconciliation table { font-size: 12px; }
section.listing th, section.listing td, #reconciliation th, #reconciliation td { padding: 3px 5px; }
p.note { color: var(--muted); margin: 4px 0 0; font-size: 13px; }
.wide { overflow-x: auto; }
.chart { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line);
         padding-top: 8px; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { max-width: none; padding: 0; font-size: 10.5px; }
  .figures { grid-template-columns: repeat(8, 1fr); }
  thead { display: table-header-group; }
  tr, .figure, svg { break-inside: avoid; }
  h2 { break-after: avoid; }
  .wide { overflow: visible; }
  tbody tr:nth-child(even) td { background: none; }
}
"""


def _text(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[arg-type]
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def _cell(value: object, column: str = "") -> str:
    classes = []
    if isinstance(value, int | float) and not isinstance(value, bool):
        classes.append("num")
    if column == "SHA-256":
        classes.append("sha")
    if value == "NO":
        classes.append("no")
    attr = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{attr}>{escape(_text(value))}</td>"


def _table(columns: list[str], rows: list[list[object]]) -> str:
    css = ' class="compact"' if len(columns) <= 2 else ""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = "\n".join("<tr>" + "".join(_cell(v, c) for c, v in zip(columns, row, strict=True)) + "</tr>" for row in rows)
    return f'<div class="wide"><table{css}><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></div>'


def _frame(frame: pd.DataFrame) -> str:
    rows = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    return _table([str(c) for c in frame.columns], rows)


def _pairs(rows: list[list[object]]) -> str:
    body = "\n".join(f"<tr><th>{escape(_text(k))}</th>{_cell(v)}</tr>" for k, v in rows)
    return f'<table class="pairs"><tbody>\n{body}\n</tbody></table>'


def _section(section: Section) -> str:
    content = _pairs(section.rows) if section.columns is None else _table(section.columns, section.rows)
    note = f'<p class="note">{escape(section.note)}</p>' if section.note else ""
    css = ' class="alarm"' if section.alarm else ""
    return f'<section id="{section.key}"{css}>\n<h2>{escape(section.title)}</h2>\n{content}\n{note}\n</section>'


def _figures(report: RunReport) -> str:
    cards = "".join(
        f'<div class="figure"><span class="n" id="count-{name.replace("_", "-")}">{report.counts[name]:,}</span>'
        f'<span class="l">{escape(name.replace("_", " "))}</span></div>'
        for name in KEY_FIGURES
    )
    return f'<div class="figures" aria-label="counts of this run">{cards}</div>'


def _listing(report: RunReport, kind: str) -> str:
    listing = report.listings[kind]
    shown = listing.frame.head(HTML_ROWS)
    note = listing_note(report, kind)  # the page lists what the workbook lists ...
    if len(shown) < len(listing.frame):  # ... unless the report was written with longer sheets
        note = f"The first {len(shown):,} of {listing.total:,} rows are shown here; the workbook lists more. {note}"
    table = _frame(shown) if len(shown) else ""
    return (
        f'<section id="listing-{kind}">\n<h2>{escape(listing.name)} ({listing.total:,})</h2>\n'
        f'<p class="note">{escape(listing.intro)} {escape(note)}</p>\n{table}\n</section>'
    )


def render_html(report: RunReport) -> str:
    sections = summary_sections(report)
    body = [
        f'<header><h1>{escape(REPORT_TITLE)}<span class="badge {escape(report.status)}">'
        f"{escape(report.status)}</span></h1>",
        f'<p class="sub">run <span class="mono">{escape(report.run_id)}</span> · as of '
        f"{escape(dict(report.header).get('as-of date', ''))} · generated {escape(report.generated_at)}</p></header>",
        _figures(report),
        *[_section(s) for s in sections],
        '<section id="reconciliation">\n<h2>Reconciliation per ACCME activity</h2>\n'
        '<p class="note">Claims of this run\'s input and claims waiting from earlier runs, what became of them, and '
        "the rows and credits in this run's registry files.</p>\n" + _frame(report.reconciliation) + "\n</section>",
        '<section id="history">\n<h2>Recent runs</h2>\n'
        + _frame(report.history)
        + "\n"
        + outcome_chart_svg(report.history)
        + "\n</section>",
        *[_listing(report, kind) for kind in report.listings],
        "<footer>Confidential: this report names learners. Keep it in the access-restricted reports folder "
        "(readable by its owner only). Generated by cme-relay from the ledger.</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(REPORT_TITLE)} {escape(report.run_id)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
