"""The real pipeline on the sample files, compared claim by claim with what make_samples.py expects.

The reference classifier in make_samples.py and the pipeline are written apart on purpose; a
disagreement means one of them misreads a rule. It is printed with the file, line and claim id,
never hidden: the caller decides whether it fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

Verdict = tuple[str, str | None]  # (outcome, reason or None)


def judge_file(export: Path, activity_map: Path, *, as_of: str, cutoff: str) -> pd.DataFrame:
    """The pure pipeline on one export and a fresh ledger: one row per input row, in file order."""
    # Imported here so that the sample files are written even while the pipeline is mid-change.
    from extract import read_activity_map, read_portal_export
    from schemas.portal_claim import CLAIM_FIELDS, SOURCE_COLUMNS
    from transform.judge import LedgerView, judge_run
    from transform.mapping import usable_activity_map

    raw = read_portal_export(export).assign(file_order=0)
    usable = usable_activity_map(read_activity_map(activity_map))
    ledger = LedgerView.empty([*CLAIM_FIELDS, *SOURCE_COLUMNS])
    judged = judge_run(raw, usable, ledger, cutoff=pd.Timestamp(cutoff), as_of=pd.Timestamp(as_of)).claims
    judged = judged[~judged["from_ledger"].astype(bool)].sort_values("source_line", kind="stable")
    return judged[["source_line", "claim_id", "outcome", "reason"]].reset_index(drop=True)


def _verdicts(outcome: pd.Series, reason: pd.Series) -> list[Verdict]:
    reasons = reason.astype(object).where(reason.notna(), None)
    return [(str(o), None if r is None else str(r)) for o, r in zip(outcome, reasons, strict=True)]


def _counts(verdicts: list[Verdict]) -> pd.Series:
    index = pd.MultiIndex.from_tuples([(o, r or "") for o, r in verdicts], names=["outcome", "reason"])
    return pd.Series(1, index=index).groupby(level=[0, 1]).sum()


def side_by_side(reference: list[Verdict], pipeline: list[Verdict]) -> str:
    """Outcome totals, then outcome and reason, for both sides."""
    ref, pipe = _counts(reference), _counts(pipeline)
    rows = pd.concat([ref.rename("reference"), pipe.rename("pipeline")], axis=1).fillna(0).astype(int)
    totals = rows.groupby(level=0).sum()
    lines = [f"  {'outcome':<10} {'reason':<32} {'reference':>9} {'pipeline':>9}"]
    for outcome, row in totals.iterrows():
        mark = "" if row["reference"] == row["pipeline"] else "  <-- differs"
        lines.append(f"  {outcome:<10} {'(all)':<32} {row['reference']:>9} {row['pipeline']:>9}{mark}")
    for (outcome, reason), row in rows.iterrows():
        if reason:
            mark = "" if row["reference"] == row["pipeline"] else "  <-- differs"
            lines.append(f"  {outcome:<10} {reason:<32} {row['reference']:>9} {row['pipeline']:>9}{mark}")
    lines.append(f"  {'input rows':<43} {len(reference):>9} {len(pipeline):>9}")
    return "\n".join(lines)


def _differences(
    name: str, lines: list[int], claim_ids: list[str], reference: list[Verdict], pipeline: list[Verdict]
) -> list[str]:
    def text(v: Verdict) -> str:
        return v[0] + (f" {v[1]}" if v[1] else "")

    return [
        f"  {name} line {line} {claim}: reference {text(r)} | pipeline {text(p)}"
        for line, claim, r, p in zip(lines, claim_ids, reference, pipeline, strict=True)
        if r != p
    ]


def cross_check(
    folder: Path,
    reference: Mapping[str, pd.DataFrame],
    expected: Mapping[str, Mapping[str, Verdict]],
    *,
    as_of: str,
    cutoff: str,
    detailed: str = "portal_export_biweekly.csv",
) -> int:
    """Print the pipeline's verdicts beside the reference's; returns the number of claims that differ.

    `reference` holds make_samples' classifier result per CSV (rows in file order); `expected`
    holds hand-stated verdicts by claim id for files the classifier does not read (date forms,
    the XLSX). `detailed` also gets the side-by-side table of counts.
    """
    activity_map = folder / "activity_map.csv"
    found: list[str] = []
    print(f"\ncross-check against the pipeline (fresh ledger, as of {as_of}, cutoff {cutoff}):")
    for name, result in reference.items():
        judged = judge_file(folder / name, activity_map, as_of=as_of, cutoff=cutoff)
        ref = _verdicts(result["outcome"], result["reason"])
        pipe = _verdicts(judged["outcome"], judged["reason"])
        if len(ref) != len(pipe):
            found.append(f"  {name}: the reference reads {len(ref)} rows, the pipeline {len(pipe)}")
            continue
        if name == detailed:
            print(f"{name}:\n{side_by_side(ref, pipe)}")
        lines, claim_ids = judged["source_line"].tolist(), judged["claim_id"].astype(str).tolist()
        found += _differences(name, lines, claim_ids, ref, pipe)
    for name, by_claim in expected.items():
        judged = judge_file(folder / name, activity_map, as_of=as_of, cutoff=cutoff)
        judged = judged[judged["claim_id"].isin(list(by_claim))]
        want = [by_claim[c] for c in judged["claim_id"]]
        pipe = _verdicts(judged["outcome"], judged["reason"])
        found += _differences(name, judged["source_line"].tolist(), judged["claim_id"].tolist(), want, pipe)
        missing = sorted(set(by_claim) - set(judged["claim_id"]))
        found += [f"  {name} {claim}: expected {by_claim[claim]}, not in the pipeline's output" for claim in missing]
    if found:
        print(f"DISAGREEMENTS ({len(found)}):")
        print("\n".join(found))
    else:
        checked = ", ".join([*reference, *expected])
        print(f"the pipeline agrees with the reference on every claim of {checked}")
    return len(found)
