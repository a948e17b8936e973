"""The ledger view narrowed to this run's claims and learners judges exactly as the whole ledger."""

from __future__ import annotations

import pandas as pd
import pytest

from extract import read_activity_map, read_portal_export
from load.ledger.state import read_ledger_view
from tests.factories import MAP_ROWS, claim, write_export, write_map
from tests.load.ledger.pipeline import AS_OF, run_once
from transform.judge import judge_run
from transform.mapping import usable_activity_map

# A history with something of every kind: learners with several claims in one activity (the
# cumulative maximum of ACT-2 is 2 credits), a claim later corrected, one later revoked, one
# waiting for its activity's ACCME id, and many bystanders whose sends must not matter.
SHARED = [f"LS{i}" for i in range(4)]


def _history() -> list[list[dict]]:
    first = [claim(**{"Claim ID": f"H1-{i}", "Learner ID": SHARED[i % 4], "Activity ID": "ACT-2", "Credits": "0.5",
                      "Completion Date": f"2026-09-{i + 1:02d}"}) for i in range(8)]  # fmt: skip
    bystanders = [claim(**{"Claim ID": f"B-{i}"}) for i in range(40)]
    waiting = [claim(**{"Claim ID": "W-1", "Learner ID": SHARED[0], "Activity ID": "ACT-NOID"})]
    second = [
        {**first[0], "Credits": "0.25"},  # corrected
        {**first[1], "Claim Status": "Revoked"},  # revoked
        claim(**{"Claim ID": "H2-1", "Learner ID": SHARED[2], "Activity ID": "ACT-1"}),
    ]
    return [first + bystanders + waiting, second]


def _new_input() -> list[dict]:
    return [
        # The same completion as a live claim of the same learner under another id: a duplicate.
        claim(
            **{
                "Claim ID": "N-1",
                "Learner ID": SHARED[2],
                "Activity ID": "ACT-2",
                "Credits": "0.5",
                "Completion Date": "2026-09-03",
            }
        ),  # fmt: skip
        # Past the learner's cumulative maximum in ACT-2 (two live 0.5 sends already).
        claim(
            **{
                "Claim ID": "N-2",
                "Learner ID": SHARED[3],
                "Activity ID": "ACT-2",
                "Credits": "1.5",
                "Completion Date": "2026-10-20",
            }
        ),  # fmt: skip
        # Fits beside what is sent.
        claim(
            **{
                "Claim ID": "N-3",
                "Learner ID": SHARED[1],
                "Activity ID": "ACT-2",
                "Credits": "0.5",
                "Completion Date": "2026-10-21",
            }
        ),  # fmt: skip
        claim(**{"Claim ID": "N-4"}),  # a new learner
        {**_history()[0][10], "Claim ID": "B-2", "Credits": "2.0"},  # a bystander corrected now
    ]


@pytest.mark.parametrize("new_rows", ["some", "none"])
def test_narrowed_view_judges_like_the_whole_ledger(engine, tmp_path, new_rows):
    for rows in _history():
        run_once(engine, tmp_path, rows)
    export = write_export(tmp_path / "new.csv", _new_input() if new_rows == "some" else [claim()])
    raw = read_portal_export(export).assign(file_order=0)
    if new_rows == "none":
        raw = raw.iloc[0:0]
    # ACT-NOID gets its id now: the waiting claim is re-judged from the ledger, against its learner's sends.
    registered = [{**r, "ACCME Activity ID": r["ACCME Activity ID"] or "202512347"} for r in MAP_ROWS]
    amap = usable_activity_map(read_activity_map(write_map(tmp_path / "map.csv", registered)))
    whole = read_ledger_view(engine)
    narrowed = read_ledger_view(engine, run_keys=raw)
    assert len(narrowed.sent) < len(whole.sent)  # the bystanders were left out
    judged = {}
    for name, view in (("whole", whole), ("narrowed", narrowed)):
        judged[name] = judge_run(raw, amap, view, cutoff=pd.Timestamp("2023-07-01"), as_of=pd.Timestamp(AS_OF))
    pd.testing.assert_frame_equal(_comparable(judged["narrowed"].claims), _comparable(judged["whole"].claims))
    pd.testing.assert_frame_equal(judged["narrowed"].registry_rows, judged["whole"].registry_rows)
    outcomes = judged["whole"].claims.set_index("claim_id")["reason"].astype(object).to_dict()
    if new_rows == "some":  # the history mattered: the rules that look past one row fired
        assert outcomes["N-1"] == "DUPLICATE_COMPLETION"
        assert outcomes["N-2"] == "CREDITS_EXCEED_ACTIVITY_MAX"
    assert set(judged["whole"].claims["claim_id"]) >= {"W-1"}


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("claim_id", kind="stable").reset_index(drop=True)


def test_the_keys_tables_are_gone_after_reading(engine, tmp_path):
    run_once(engine, tmp_path, [claim()])
    raw = pd.DataFrame({"claim_id": ["X"], "learner_id": ["Y"]}, dtype="string")
    for _ in range(2):  # a pooled connection reused: the temporary tables do not linger
        read_ledger_view(engine, run_keys=raw)
