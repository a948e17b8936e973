"""Registry files drafted beside the load: hidden until published, removed when not."""

from __future__ import annotations

import threading

import pytest

from load import drafts as drafts_module
from load.drafts import drafted, sweep_stale_drafts
from load.ledger.write import plan_batches
from load.registry_file import publish_drafts, registry_text, write_registry_batch
from tests.factories import claim
from tests.load.ledger.pipeline import prepare_run


@pytest.fixture
def run(tmp_path):
    from load.ledger.database import open_ledger

    engine = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    prepared = prepare_run(engine, tmp_path, [claim(**{"Claim ID": f"D-{i}", "First Name": "Zoë"}) for i in range(7)])
    # Three batches, so some are still queued when a test stops part way.
    prepared.plans = plan_batches(prepared.judged.registry_rows, stem="PARS-DRAFT", max_rows=3)
    return prepared


def test_drafts_take_their_names_only_when_published_and_equal_the_direct_write(run, tmp_path):
    outbox = tmp_path / "outbox"
    with drafted(run.plans, outbox, run.now, text=True) as drafts:
        first = drafts.take(run.plans[0].batch_id)
        assert [d.path.name for d in first] == ["PARS-DRAFT-01.xlsx", "PARS-DRAFT-01.txt"]
        assert all(d.tmp.name.startswith(f".{d.path.name}.") and d.tmp.exists() for d in first)
        assert not any(d.path.exists() for d in first)  # nothing under a batch's name before publishing
        shas = [publish_drafts(first)] + [publish_drafts(drafts.take(plan.batch_id)) for plan in run.plans[1:]]
    assert len(run.plans) == 3
    names = sorted(p.name for p in outbox.iterdir())
    assert names == sorted(f"PARS-DRAFT-0{i}{s}" for i in (1, 2, 3) for s in (".xlsx", ".txt"))
    for plan, sha in zip(run.plans, shas, strict=True):  # the same bytes as a direct write after the load
        direct = tmp_path / "direct" / plan.file_name
        assert write_registry_batch(direct, plan.rows, run.now) == sha
        assert (outbox / plan.file_name).read_bytes() == direct.read_bytes()
        assert (outbox / plan.file_name).with_suffix(".txt").read_bytes() == registry_text(plan.rows)


def test_a_failed_load_leaves_no_draft_behind(run, tmp_path):
    outbox = tmp_path / "outbox"
    with pytest.raises(RuntimeError, match="load failed"), drafted(run.plans, outbox, run.now, text=True) as drafts:
        drafts.take(run.plans[0].batch_id)  # one draft finished, the others queued or running
        raise RuntimeError("load failed")
    assert list(outbox.iterdir()) == []


def test_a_draft_that_fails_raises_when_taken_and_the_others_are_removed(run, tmp_path, monkeypatch):
    real = drafts_module.draft_batch_files
    gate = threading.Event()

    def failing_second(path, rows, created_at, *, text):
        if path.name == run.plans[1].file_name:
            gate.set()
            raise OSError("disk full")
        return real(path, rows, created_at, text=text)

    monkeypatch.setattr(drafts_module, "draft_batch_files", failing_second)
    outbox = tmp_path / "outbox"
    with drafted(run.plans, outbox, run.now, text=False) as drafts:
        publish_drafts(drafts.take(run.plans[0].batch_id))
        with pytest.raises(OSError, match="disk full"):
            drafts.take(run.plans[1].batch_id)
    assert gate.is_set()
    assert sorted(p.name for p in outbox.iterdir()) == ["PARS-DRAFT-01.xlsx"]


def test_sweep_removes_only_drafts(tmp_path):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    keep = [outbox / "PARS-1.xlsx", outbox / "PARS-1.txt", outbox / "notes.tmp", outbox / ".hidden"]
    stale = [outbox / ".PARS-2.xlsx.k3j_9x.tmp", outbox / ".PARS-2.txt.a8b.tmp"]
    for path in keep + stale:
        path.write_bytes(b"x")
    assert sorted(sweep_stale_drafts(outbox)) == sorted(stale)
    assert sorted(outbox.iterdir()) == sorted(keep)
    assert sweep_stale_drafts(tmp_path / "no-outbox-yet") == []
