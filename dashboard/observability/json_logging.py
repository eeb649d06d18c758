"""Structured logs (LOG_FORMAT=json): each record is one line holding one JSON object.

Besides time, level, logger and message, a record carries whatever its caller passed in `extra`
(`log.info("sent", extra={"delivery_id": ...})`), so request and delivery ids become fields a log
collector can filter on. Values JSON cannot hold are written as their `str()`.
"""

import logging
from datetime import UTC, datetime

import orjson

# Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((key, value) for key, value in record.__dict__.items() if key not in _STANDARD)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        try:
            return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:  # a value orjson refuses even through str() (an integer past 64 bits): all as text
            return orjson.dumps({key: str(value) for key, value in entry.items()}).decode()
