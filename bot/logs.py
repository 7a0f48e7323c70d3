"""Logging: tracebacks go to the log file with a correlation id; people see one line.

The file holds one JSON object per line (BROKERBOT_LOG_FORMAT=json, the default): time, level,
logger, correlation id, message, the traceback when there is one, and any `extra=` fields
(platform, message id, intent ...), so a log shipper can index them. `text` gives classic lines.
Phone, ID and bank card numbers are masked in either (crm_core.masking), tracebacks included.
"""
from __future__ import annotations

import contextvars
import json
import logging
import logging.handlers
import uuid
from pathlib import Path

from crm_core.masking import mask_personal, masked, masked_deep

correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="-")


def new_correlation_id() -> str:
    cid = uuid.uuid4().hex[:12]
    correlation_id.set(cid)
    return cid


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.cid = correlation_id.get()
        return True


class MaskPersonal(logging.Filter):
    """Phone and ID numbers masked in every line, whoever logs it: at DEBUG the platform SDKs log
    the bodies they send (slack_sdk does), and a sensitive reply holds a full phone number."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked, found = mask_personal(message)
        if found:
            record.msg, record.args = masked, None
        return True


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "cid"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
                 "level": record.levelname, "logger": record.name, "cid": getattr(record, "cid", "-"),
                 "msg": record.getMessage()}
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(masked_deep(entry), ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return masked(super().format(record))


def setup(log_dir: Path, level: int = logging.INFO, fmt: str = "json") -> Path:
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
    handler.addFilter(MaskPersonal())
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         TextFormatter("%(asctime)s %(levelname)s [%(cid)s] %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run is noise
    # httpx logs every request's URL at INFO, and WeCom's access_token travels in the query string.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return path
