"""JSON logs on stdout (python-json-logger, encoded by orjson), one object per line, each with the
id of the request it belongs to (asgi-correlation-id keeps it, see app/http/middleware.py)."""

import logging
import sys

from asgi_correlation_id import correlation_id
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

# Records carry these but they are not fields: uvicorn's terminal-colored copy of the message.
_NOT_FIELDS = (*RESERVED_ATTRS, "color_message")


class JsonFormatter(OrjsonFormatter):
    """time, level, logger, message and the request id, then every other attribute of the record:
    what `extra=` passed and what a logging filter added."""

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{name}{message}",
            style="{",
            timestamp="time",
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
            reserved_attrs=_NOT_FIELDS,
        )

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_data, record, message_dict)
        if request_id := correlation_id.get():
            log_data["request_id"] = request_id


class _JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installed, so configuring again replaces only it."""


def configure_logging(level: str = "INFO") -> None:
    # What every record would otherwise look up and no field shows (the logging HOWTO's
    # "Optimization"): the caller's file and line, the thread's and the process's names.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _JsonHandler)]:
        root.removeHandler(handler)
    handler = _JsonHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's own loggers go through the JSON handler; its access log is replaced by ours.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
