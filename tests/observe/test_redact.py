"""Redaction inside the logging pipeline: no value or token can be rendered."""

import io
import json

import structlog

from syncer.core.model import SecretValue
from syncer.observe import logs, redact


def render(**fields: object) -> str:
    out = io.StringIO()
    logs.configure("json", "debug", stream=out)
    structlog.get_logger("t").info("event", **fields)
    return out.getvalue()


def test_sensitive_field_names_are_masked() -> None:
    """Fields named like credentials are masked whatever they hold."""
    line = json.loads(render(token="abc123xyz", authorization="Bearer q", value="v"))
    assert line["token"] == line["authorization"] == line["value"] == "***"


def test_registered_secrets_are_scrubbed_from_any_string() -> None:
    """A registered value is scrubbed even inside free text and nested structures."""
    redact.register(b"canary-8f3e2d")
    text = render(note="got canary-8f3e2d back", nested={"x": ["canary-8f3e2d"]})
    assert "canary-8f3e2d" not in text and "***" in text


def test_secret_values_and_bytes_never_render() -> None:
    """SecretValue and raw bytes render masked."""
    text = render(v=SecretValue(b"zzz-plain"), raw=b"zzz-bytes")
    assert "zzz-plain" not in text and "zzz-bytes" not in text


def test_exceptions_are_scrubbed() -> None:
    """A traceback that quotes a registered secret is scrubbed too."""
    redact.register("tok-4c0ffee")
    out = io.StringIO()
    logs.configure("json", "debug", stream=out)
    try:
        raise RuntimeError("failed with tok-4c0ffee")
    except RuntimeError:
        structlog.get_logger("t").exception("boom")
    assert "tok-4c0ffee" not in out.getvalue()
