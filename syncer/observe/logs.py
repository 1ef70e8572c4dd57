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


class Forgiving:
    """A text stream whose reader may be gone (`syncer ... | head`, a full disk): what cannot
    be written is dropped, so a run does not stop writing secrets, half done, or change its
    exit code because its output cannot be read."""

    def __init__(self, stream: TextIO) -> None:
        self._target = stream

    @property
    def stream(self) -> TextIO:
        return self._target

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError:
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError:
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class _CurrentStderr(Forgiving):
    """Whatever sys.stderr is when a line is written (it may be replaced after configuration)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr


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
