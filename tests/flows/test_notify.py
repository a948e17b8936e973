"""Issue 5: a failed run posts to the webhook; a notification that cannot be sent changes nothing."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pandas as pd
import pytest

from flows.notify import PAYLOAD_KEYS, failure_payload, post_json
from tests.conftest import SAMPLES

MISSING_COLUMN = SAMPLES / "portal_export_missing_required_column.csv"


class Receiver:
    """A webhook on 127.0.0.1 that records what it was sent and answers with `status`."""

    def __init__(self, status: int = 204) -> None:
        received = self.received = []  # type: list[dict]
        answer = status

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"path": self.path, "type": self.headers["Content-Type"], "body": json.loads(body)})
                self.send_response(answer)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/secret-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/secret-token"


def test_post_json_delivers(receiver):
    assert post_json(receiver.url, {"run_id": "r1"}) is True
    assert receiver.received == [{"path": "/hooks/secret-token", "type": "application/json", "body": {"run_id": "r1"}}]


def test_post_json_failures_are_logged_not_raised(caplog):
    caplog.set_level(logging.WARNING, logger="cme_relay.notify")
    with Receiver(status=500) as refusing:
        assert post_json(refusing.url, {"run_id": "r1"}) is False
    assert post_json(closed_port_url(), {"run_id": "r1"}, timeout=2) is False
    assert post_json("not a url", {"run_id": "r1"}) is False
    messages = [r.getMessage() for r in caplog.records]
    assert any("HTTP 500" in m for m in messages)
    assert any("could not be sent" in m for m in messages)
    assert not any("secret-token" in m for m in messages)  # the URL's token stays out of logs


def test_payload_is_the_summary_cut_down():
    summary = {
        "run_id": "r1",
        "status": "failed",
        "as_of": "2026-11-26",
        "error": "boom",
        "counts": {"input_rows": 0},
        "reasons": {},
        "submission_files": ["x"],
        "report_files": ["a.md"],
    }
    assert failure_payload(summary) == {
        "run_id": "r1",
        "status": "failed",
        "error": "boom",
        "counts": {"input_rows": 0},
        "report_files": ["a.md"],
    }


@pytest.mark.flow
def test_a_failed_run_posts_to_the_webhook(run_flow, workspace, monkeypatch, receiver):
    monkeypatch.setenv("CME_RELAY_WEBHOOK_URL", receiver.url)
    summary = run_flow(MISSING_COLUMN)
    assert summary["status"] == "failed"
    [call] = receiver.received
    payload = call["body"]
    assert tuple(payload) == PAYLOAD_KEYS
    assert payload["run_id"] == summary["run_id"] and payload["status"] == "failed"
    assert "credits" in payload["error"] and MISSING_COLUMN.name in payload["error"]
    assert payload["counts"]["input_rows"] == 0
    assert payload["report_files"] == summary["report_files"] and payload["report_files"]
    sample = pd.read_csv(MISSING_COLUMN, dtype=str)
    text = json.dumps(payload)
    for column in ("First Name", "Last Name", "Email", "NPI", "License Number", "Date of Birth"):
        assert not [v for v in sample[column].dropna() if v in text], column


@pytest.mark.flow
def test_a_successful_run_posts_nothing(run_flow, monkeypatch, receiver):
    monkeypatch.setenv("CME_RELAY_WEBHOOK_URL", receiver.url)
    assert run_flow(SAMPLES / "portal_export_utf8_bom.csv")["status"] == "succeeded"
    assert receiver.received == []


@pytest.mark.flow
def test_an_unreachable_webhook_does_not_change_the_run(run_flow, workspace, monkeypatch, caplog):
    monkeypatch.setenv("CME_RELAY_WEBHOOK_URL", closed_port_url())
    caplog.set_level(logging.INFO)
    summary = run_flow(MISSING_COLUMN)
    assert summary["status"] == "failed"
    assert "credits" in summary["error"] and "notification" not in summary["error"]
    assert any(
        "failure notification" in r.getMessage() and "could not be sent" in r.getMessage() for r in caplog.records
    )
