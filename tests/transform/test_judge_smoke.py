from schemas.reasons import Reason
from tests.factories import claim, judge_rows


def test_a_valid_claim_is_submitted_and_an_old_one_rejected(tmp_path):
    judged = judge_rows(tmp_path, [claim(), claim(**{"Completion Date": "2023-06-30"})])
    assert judged.claims["outcome"].tolist() == ["submitted", "rejected"]
    assert judged.claims["reason"].tolist()[1] == Reason.EARNED_BEFORE_CUTOFF
    assert judged.registry_rows["action"].tolist() == ["Add"]
