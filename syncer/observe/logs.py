"""structlog configured once, at the edge: JSON lines for machines, key=value for people."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, Literal, TextIO

import structlog

from . import redact

LogFormat = Literal["auto", "json", "console"]
LEVELS = ("debug", "info", "warning", "error")


class _CurrentStderr:
    """Whatever sys.stderr is when a line is written (it may be replaced after configuration).

    A line that cannot be written (stderr piped into `head` that has exited, a full disk) is
    dropped: a run must not stop writing secrets, half done, because its log cannot be read.
    """

    def write(self, text: str) -> int:
        try:
            return sys.stderr.write(text)
        except OSError:
            return 0

    def flush(self) -> None:
        try:
            sys.stderr.flush()
        except OSError:
            pass

    def isatty(self) -> bool:
        return sys.stderr.isatty()


_ENCODER = json.JSONEncoder(default=repr)  # built once: json.dumps(default=...) builds one a call


def _json_line(event: Any, **_: Any) -> str:
    return _ENCODER.encode(event)


def configure(fmt: LogFormat = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    """Log to `stream` (stderr): key=value on a terminal, JSON lines otherwise or when asked."""
    out: Any = stream or _CurrentStderr()
    as_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(serializer=_json_line) if as_json
        else structlog.dev.ConsoleRenderer(colors=False, pad_event=0)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact.processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            getattr(logging, level.upper(), logging.INFO)),
        logger_factory=structlog.WriteLoggerFactory(out),  # one write and a flush per line
        cache_logger_on_first_use=False,
    )
