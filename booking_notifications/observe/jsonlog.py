"""``LOG_FORMAT=json``: one JSON object a line, for log collectors.

Fields: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``exception`` when there is
a traceback, and ``booking_id`` and ``notice`` while a delivery runs (``notice_context``). Only
those: a record's other attributes (a library's ``extra``) are left out, so every field is either
the message and traceback, which the secret redaction of ``logs`` has already cleaned, or one of
our ids. Chat ids and titles are never logged, in either format.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_NOTICE: ContextVar[tuple[int, str] | None] = ContextVar("notice", default=None)


@contextmanager
def notice_context(booking_id: int, key: str) -> Iterator[None]:
    """Tag the records logged inside the block (and in tasks it starts) with the notice."""
    token = _NOTICE.set((booking_id, key))
    try:
        yield
    finally:
        _NOTICE.reset(token)


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        notice = _NOTICE.get()
        if notice is not None:
            entry["booking_id"], entry["notice"] = notice
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def use_json_logs() -> None:
    """Make every handler of the root logger write JSON lines."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter())
