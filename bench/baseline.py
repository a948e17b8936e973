"""The row-by-row baseline: the script a CME office would write by hand.

csv module, a Python check per row, one INSERT per row (one transaction), openpyxl appending
each row to send to a normal workbook. Deliberately plain: it is the thing to beat.
"""

from __future__ import annotations

import csv
import sqlite3
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

CATEGORY_1 = "AMA PRA Category 1 Credit™"
PHYSICIANS = {"MD", "DO", "M.D.", "D.O.", "MBBS"}
CUTOFF = datetime(2023, 7, 1)
TEMPLATE = ["Record Action", "ACCME Activity ID", "Completion Date", "First Name", "Last Name",
            "Date of Birth", "Licensing State", "Licensing ID or NPI", "Number of CME Credits"]  # fmt: skip


def _date(text: str) -> datetime | None:
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _npi_ok(npi: str) -> bool:
    if len(npi) != 10 or not npi.isdigit():
        return False
    total = 24  # the prefix 80840, doubled as Luhn asks
    for i, ch in enumerate(reversed(npi[:9])):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10 == int(npi[9])


def check_row(row: dict, activities: dict[str, dict], as_of: datetime) -> str | None:
    """Why the row cannot be sent, or None."""
    activity = activities.get(row["Activity ID"])
    if activity is None or not activity["ACCME Activity ID"]:
        return "activity"
    if row["Credit Type"] != CATEGORY_1:
        return "credit type"
    if row["Degree"] not in PHYSICIANS:
        return "degree"
    done = _date(row["Completion Date"])
    if done is None or done < CUTOFF or done > as_of:
        return "date"
    try:
        credits = float(row["Credits"])
    except ValueError:
        return "credits"
    if credits <= 0 or (credits * 4) % 1 or credits > float(activity["Max Credits"]):
        return "credits"
    if not (row["First Name"] and row["Last Name"] and row["Date of Birth"] and row["License State"]):
        return "identity"
    if row["NPI"] and not _npi_ok(row["NPI"]):
        return "npi"
    if row["Report Consent"] != "Y" or row["Claim Status"] != "Active":
        return "consent or status"
    return None


def office_script(export: Path, mappings: Path, database: Path, workbook: Path, as_of: str) -> dict[str, int]:
    """Read, check, store and write every row, one at a time; returns rows read and sent."""
    when = datetime.fromisoformat(as_of)
    with open(mappings, encoding="utf-8", newline="") as fh:
        activities = {row["Portal Activity ID"]: row for row in csv.DictReader(fh)}
    conn = sqlite3.connect(database)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(TEMPLATE)
    read = sent = 0
    with open(export, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        columns = ", ".join(f'"{f}" TEXT' for f in fields)
        conn.execute(f"CREATE TABLE claims ({columns}, problem TEXT)")
        insert = f"INSERT INTO claims VALUES ({', '.join('?' for _ in fields)}, ?)"
        for row in reader:
            read += 1
            problem = check_row(row, activities, when)
            conn.execute(insert, [*(row[f] for f in fields), problem])
            if problem is None:
                sent += 1
                birth = row["Date of Birth"][:5]
                sheet.append(["Add", activities[row["Activity ID"]]["ACCME Activity ID"], row["Completion Date"],
                              row["First Name"], row["Last Name"], birth, row["License State"],
                              row["NPI"] or row["License Number"], float(row["Credits"])])  # fmt: skip
    conn.commit()
    conn.close()
    book.save(workbook)
    return {"rows": read, "sent": sent}
