"""Structured logs: one JSON object per line, with the ``extra`` fields a call site passes."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from datetime import datetime, timezone
from typing import Any

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


OUR_PACKAGES = r"(ledger|api|signer|cli|benchmarks)(\.|$)"


def quiet_dependencies() -> None:
    """Show warnings raised in certledger's own code only: a dependency's deprecation notice (pyHanko importing
    DSA, urllib3's 'strict') says nothing an operator can act on, and would be read as a fault."""
    warnings.filterwarnings("ignore")
    warnings.filterwarnings("default", module=OUR_PACKAGES)
    warnings.filterwarnings("ignore", category=ResourceWarning)  # a connection collected at exit: Python's default


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's ``log_config`` for this JSON format: every worker process applies it when it starts, so the
    API's own lines, the access log and uvicorn's messages are all one JSON object per line on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error")}
        | {"uvicorn.access": {"handlers": [], "propagate": False}},
    }
