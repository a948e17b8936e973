"""The value forms real portals export, parsed by the vectorised parsers (and judged end to end)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.factories import claim, judge_rows
from transform.parse import (
    npi_is_valid,
    parse_birth_mmdd,
    parse_credits,
    parse_dates,
    parse_state,
    parse_yes_no,
    starts_like_formula,
)


def _s(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype="string")


MARCH_5 = [
    "2024-03-05",
    "03/05/2024",
    "3/5/2024",
    "2024-03-05 14:30:00",
    "3/5/2024 2:30 PM",
    "03/05/2024 14:30",
    "2024-03-05T10:00:00Z",
    "2024-03-05T23:30:00-08:00",  # the date part counts: no shift to UTC (which would be 03/06)
    "2024-03-05T00:30:00+05:30",  # nor back to the previous day
    "45356",  # Excel serial day number
    "45356.6041666667",  # Excel serial with a time fraction
    " 2024-03-05 ",
]


@pytest.mark.parametrize("text", MARCH_5)
def test_every_date_form_is_the_same_day(text):
    assert parse_dates(_s(text)).iloc[0] == pd.Timestamp("2024-03-05")


@pytest.mark.parametrize("text", ["2024-02-30", "13/45/2024", "yesterday", "2024", "12", "03/05/24", "5 March 2024"])
def test_what_is_not_a_date_is_nat(text):
    assert pd.isna(parse_dates(_s(text)).iloc[0])


def test_missing_dates_stay_missing_and_the_result_is_date_only():
    parsed = parse_dates(_s("2024-03-05 14:30:00", None))
    assert parsed.dtype == "datetime64[ns]"
    assert parsed.iloc[0] == pd.Timestamp("2024-03-05") and pd.isna(parsed.iloc[1])


@pytest.mark.parametrize(
    ("text", "mmdd"),
    [
        ("04/12/1980", "04/12"),
        ("4/2/1980", "04/02"),
        ("1980-04-12", "04/12"),
        ("1980-04-12 00:00:00", "04/12"),  # an Excel date cell as read
        ("02/29", "02/29"),
        ("2/9", "02/09"),
        ("12/01", "12/01"),
        ("1980-02-29", "02/29"),
    ],
)
def test_birth_dates_give_month_and_day(text, mmdd):
    assert parse_birth_mmdd(_s(text)).iloc[0] == mmdd


@pytest.mark.parametrize("text", ["02/30", "13/01", "00/10", "02/29/1981", "1981-02-29", "April 12", "12"])
def test_impossible_birth_dates_are_na(text):
    assert pd.isna(parse_birth_mmdd(_s(text)).iloc[0])


@pytest.mark.parametrize(("text", "value"), [("1.5", 1.5), (" 2 ", 2.0), ("0.25", 0.25), ("1,5", 1.5), ("2.0", 2.0)])
def test_credits_stored_as_text_are_numbers(text, value):
    assert parse_credits(_s(text)).iloc[0] == value


@pytest.mark.parametrize("text", ["one", "", "1.5 credits", None])
def test_credits_that_are_not_numbers_are_nan(text):
    assert pd.isna(parse_credits(_s(text)).iloc[0])


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("CA", "CA"),
        ("ca", "CA"),
        (" Ca ", "CA"),
        ("California", "CA"),
        ("new  york", "NY"),
        ("D.C.", "DC"),
        ("District of Columbia", "DC"),
        ("Puerto Rico", "PR"),
        ("U.S. Virgin Islands", "VI"),
        ("Washington", "WA"),
    ],
)
def test_states_as_codes_and_full_names(text, code):
    assert parse_state(_s(text)).iloc[0] == code


@pytest.mark.parametrize("text", ["XX", "Narnia", "Calif", "C A"])
def test_unknown_states_are_na(text):
    assert pd.isna(parse_state(_s(text)).iloc[0])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Y", True),
        ("yes", True),
        ("YES", True),
        ("True", True),
        ("true", True),
        ("1", True),
        ("N", False),
        ("No", False),
        ("FALSE", False),
        ("0", False),
    ],
)
def test_consent_spellings(text, value):
    got = parse_yes_no(_s(text)).iloc[0]
    assert not pd.isna(got) and bool(got) is value


@pytest.mark.parametrize("text", [None, "", "maybe"])
def test_consent_blank_or_unknown_is_na(text):
    assert pd.isna(parse_yes_no(_s(text)).iloc[0])


def test_npi_check_digit_and_shape():
    npi = _s("1234567893", "1234567890", "123456789", "12345678931", "1234567893.0", "abcdefghij", "1709001014")
    assert npi_is_valid(npi).tolist() == [True, False, False, False, True, False, True]


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\nx", '=HYPERLINK("http://x","x")'])
def test_formula_like_text(text):
    assert starts_like_formula(_s(text)).iloc[0]


@pytest.mark.parametrize("text", ["O'Testwell", "Mockridge-Sampleton", "Test=well", "Ann", None])
def test_harmless_text(text):
    assert not starts_like_formula(_s(text)).iloc[0]


# --- the same forms judged end to end (one run) ------------------------------------------------

CREDIT_TYPES_KEPT = [
    "AMA PRA Category 1 Credit™",
    "AMA PRA Category 1 Credits",
    "AMA PRA Category 1 Credit(s)™",
    "ama pra category 1 credit",
    "AMA PRA CATEGORY 1 CREDITS™",
    "AMA PRA Category 1 Credit (TM)",
    "  AMA  PRA Category 1 Credit  ",
]
DEGREES_KEPT = ["MD", "DO", "M.D.", "D.O.", "MBBS", "md", "MD, PhD", "MD-PhD", "MD/MPH", "DO (Family Medicine)", ""]
DEGREES_REFUSED = ["RN", "PA-C", "NP", "DMD", "PharmD", "PhD"]
CONSENT_KEPT = ["Y", "Yes", "TRUE", "true", ""]
CONSENT_REFUSED = ["N", "No", "False", "unsure"]


@pytest.fixture(scope="module")
def forms_run(tmp_path_factory):
    cases: dict[str, tuple[dict, str | None]] = {}
    for i, date in enumerate(MARCH_5[:7]):
        cases[f"date{i}"] = ({"Completion Date": date, "Claim Date": "2024-03-06"}, None)
    cases.update({f"type{i}": ({"Credit Type": t}, None) for i, t in enumerate(CREDIT_TYPES_KEPT)})
    cases.update({f"deg+{i}": ({"Degree": d}, None) for i, d in enumerate(DEGREES_KEPT)})
    cases.update({f"deg-{i}": ({"Degree": d}, "NOT_PHYSICIAN") for i, d in enumerate(DEGREES_REFUSED)})
    cases.update({f"yes{i}": ({"Report Consent": c}, None) for i, c in enumerate(CONSENT_KEPT)})
    cases.update({f"no{i}": ({"Report Consent": c}, "NO_REPORTING_CONSENT") for i, c in enumerate(CONSENT_REFUSED)})
    cases.update({f"state{i}": ({"License State": s}, None) for i, s in enumerate(["ny", "New York", "Washington DC"])})
    cases["birth-0229"] = ({"Date of Birth": "02/29"}, None)
    cases["birth-0230"] = ({"Date of Birth": "02/30"}, "INVALID_BIRTH_DATE")
    cases["credits-text"] = ({"Credits": " 1.50 "}, None)
    rows = [claim(**overrides) for overrides, _ in cases.values()]
    judged = judge_rows(tmp_path_factory.mktemp("forms"), rows)
    claims = judged.claims.sort_values("input_row")
    got = {key: (None if pd.isna(r) else r) for key, r in zip(cases, claims["reason"], strict=True)}
    return cases, got, judged


def test_every_form_is_judged_as_expected(forms_run):
    cases, got, _ = forms_run
    assert {k: got[k] for k in cases} == {k: expected for k, (_, expected) in cases.items()}


def test_date_forms_are_sent_as_the_date_only(forms_run):
    cases, _, judged = forms_run
    date_ids = judged.claims.sort_values("input_row")["claim_id"].iloc[:7]
    sent = judged.registry_rows.set_index("claim_id").loc[date_ids.tolist(), "completion_date"]
    assert sent.tolist() == ["03/05/2024"] * 7


def test_states_are_sent_as_the_template_spells_them(forms_run):
    _, _, judged = forms_run
    assert set(judged.registry_rows["license_state"]) == {"California", "New York", "District of Columbia"}


def test_npi_in_other_scripts_digits_is_invalid_not_a_crash():
    # Full-width and Arabic-Indic digits match a regex `\d` but are not the ten ASCII digits of an NPI.
    npi = _s("１２３４５６７８９３", "1234567893", "١٢٣٤٥٦٧٨٩٣", "1234567893", None)
    assert npi_is_valid(npi).tolist() == [False, True, False, True, False]
