"""Expected failures (a bad file, a refused load) are reported as one clear line, not a traceback."""

from __future__ import annotations

import logging

from extract.errors import ExtractError
from load.errors import LoadError
from transform.summary import InvariantError

EXPECTED_FAILURES = (ExtractError, LoadError, InvariantError)
PREFECT_RUN_LOGGERS = ("prefect.task_runs", "prefect.flow_runs")


class DropExpectedTracebacks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], EXPECTED_FAILURES):
            record.exc_info = None
            record.exc_text = None
        return True


_FILTER = DropExpectedTracebacks()


def quiet_expected_failures() -> None:
    for name in PREFECT_RUN_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
