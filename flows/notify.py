"""Telling someone when a run fails: a JSON POST to the CME_RELAY_WEBHOOK_URL setting.

The payload carries ids, counts, the error and report paths, never learner identity. Sending is
best effort with a short timeout: a notification that cannot be delivered is logged and the run's
own outcome stays as it was.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

PAYLOAD_KEYS = ("run_id", "status", "error", "counts", "report_files")
TIMEOUT_SECONDS = 5.0

log = logging.getLogger("cme_relay.notify")


def failure_payload(summary: dict) -> dict:
    """The webhook body: the run's summary cut down to what an alert needs."""
    return {
        "run_id": summary.get("run_id"),
        "status": summary.get("status", "failed"),
        "error": summary.get("error"),
        "counts": summary.get("counts", {}),
        "report_files": list(summary.get("report_files", [])),
    }


def _where(url: str) -> str:
    # Webhook URLs often carry a secret token in the path: name only the host in logs.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def post_json(url: str, payload: dict, *, timeout: float = TIMEOUT_SECONDS, logger: Any = None) -> bool:
    """POST `payload` as JSON; True when the receiver answered 2xx. Never raises."""
    logger = logger or log
    try:
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json", "User-Agent": "cme-relay"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        logger.warning("failure notification to %s was refused: HTTP %s", _where(url), exc.code)
        return False
    except Exception as exc:  # unreachable host, timeout, bad URL: the run's outcome must not change
        logger.warning("failure notification to %s could not be sent: %s", _where(url), type(exc).__name__)
        return False
    logger.info("failure notification sent to %s (HTTP %s)", _where(url), status)
    return True


def _summary_of(flow_run: Any, state: Any) -> dict:
    try:
        result = state.result(raise_on_failure=False)
    except Exception:
        result = None
    if isinstance(result, dict) and "run_id" in result:
        return result
    # A crash or a failure before the flow built its summary: what Prefect knows.
    return {
        "run_id": str(flow_run.id),
        "status": state.type.value.lower(),
        "error": state.message,
        "counts": {},
        "report_files": [],
    }


def notify_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect `on_failure` / `on_crashed` hook of the `credit-reporting` flow."""
    from flows.settings import Settings

    url = Settings().webhook_url
    if not url:
        return
    try:
        from prefect.logging.loggers import flow_run_logger

        logger: Any = flow_run_logger(flow_run, flow)
    except Exception:
        logger = log
    post_json(url, failure_payload(_summary_of(flow_run, state)), logger=logger)
