"""Logging: tracebacks go to the log file with a correlation id; people see one line."""
from __future__ import annotations

import contextvars
import logging
import logging.handlers
import uuid
from pathlib import Path

correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="-")


def new_correlation_id() -> str:
    cid = uuid.uuid4().hex[:12]
    correlation_id.set(cid)
    return cid


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.cid = correlation_id.get()
        return True


def setup(log_dir: Path, level: int = logging.INFO) -> Path:
    """Log to <log_dir>/brokerbot.log (rotated). Idempotent."""
    root = logging.getLogger()
    path = log_dir / "brokerbot.log"
    if any(getattr(h, "_brokerbot", False) for h in root.handlers):
        return path
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=10_000_000, backupCount=5,
                                                   encoding="utf-8")
    handler._brokerbot = True  # type: ignore[attr-defined]
    handler.addFilter(_CorrelationFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(cid)s] %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run is noise
    return path
