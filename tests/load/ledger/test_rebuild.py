"""Every batch's registry file regenerates byte-identically from the ledger; its checksum is stored."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from load.ledger.rebuild import UnknownBatchError, rebuild_batch_file
from load.ledger.write import mark_batch_written
from load.registry_file import write_registry_batch
from tests.factories import claim
from tests.load.ledger.pipeline import commit, prepare_run, table


def _sent_and_written(engine, tmp_path):
    """Two runs (the second corrects and revokes): files written as the flow writes them."""
    rows = [claim(**{"Claim ID": f"B-{i}", "Last Name": 'Quote "Q", Comma'}) for i in range(5)]
    outbox = tmp_path / "outbox"
    written = {}
    for batch_rows in (rows, [{**rows[0], "Credits": "2"}, {**rows[1], "Claim Status": "Revoked"}]):
        run = prepare_run(engine, tmp_path, batch_rows)
        commit(engine, run)
        for plan in run.plans:
            path = outbox / plan.file_name
            sha = write_registry_batch(path, plan.rows, run.now)
            mark_batch_written(engine, plan.batch_id, sha)
            written[plan.batch_id] = (path, sha)
    return written


def test_rebuild_is_byte_identical_and_matches_the_stored_checksum(engine, tmp_path):
    written = _sent_and_written(engine, tmp_path)
    assert len(written) == 2
    stored = table(engine, "batches").set_index("batch_id")
    assert stored["deletes"].tolist() == [0, 2] and stored["adds"].tolist() == [5, 1]
    for batch_id, (original, sha) in written.items():
        path, rebuilt_sha = rebuild_batch_file(engine, batch_id, tmp_path / "rebuilt")
        assert path.name == original.name and path.parent == tmp_path / "rebuilt"
        assert path.read_bytes() == original.read_bytes()
        assert rebuilt_sha == sha == stored.loc[batch_id, "sha256"]


def test_an_unknown_batch_is_a_clear_error(engine, tmp_path):
    with pytest.raises(UnknownBatchError, match="no batch 'PARS-NOPE'"):
        rebuild_batch_file(engine, "PARS-NOPE", tmp_path)


CLI = """
import sys
from flows.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print("prefect imported" if any(m == "prefect" or m.startswith("prefect.") for m in sys.modules) else "no prefect")
sys.exit(code)
"""


def test_cli_rebuild_without_prefect(engine, ledger_url, tmp_path):
    written = _sent_and_written(engine, tmp_path)
    batch_id, (original, sha) = next(iter(written.items()))
    env = {**os.environ, "CME_RELAY_DATABASE_URL": ledger_url}
    done = subprocess.run(
        [sys.executable, "-c", CLI, "rebuild", batch_id, "--out", str(tmp_path / "cli")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Matches the checksum stored" in done.stdout and sha in done.stdout
    assert done.stdout.strip().endswith("no prefect")
    assert (tmp_path / "cli" / original.name).read_bytes() == original.read_bytes()

    missing = subprocess.run(
        [sys.executable, "-c", CLI, "rebuild", "PARS-NOPE"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert missing.returncode == 1 and "no batch 'PARS-NOPE'" in missing.stderr
