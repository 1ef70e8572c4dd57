"""Make it impossible for a log event to carry a secret value or a token.

Three layers: values travel as SecretValue (masked repr); fields whose names say they hold
credentials are masked whatever they contain; and every string is scrubbed of each sensitive
string registered at run time (the token, the values being written).
"""

from __future__ import annotations

import threading
from collections.abc import MutableMapping
from typing import Any

MASK = "***"
SENSITIVE_KEYS = frozenset({
    "token", "authorization", "password", "value", "plaintext", "secret_value",
    "private_key", "jwt", "encrypted_value",
})
_MIN_LENGTH = 4  # shorter strings would mask ordinary words; GitHub values are rarely this short

_lock = threading.Lock()
_sensitive: set[str] = set()


def register(secret: str | bytes) -> None:
    """Scrub `secret` from every log event from now on."""
    text = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret
    with _lock:
        for piece in (text, text.strip()):
            if len(piece) >= _MIN_LENGTH:
                _sensitive.add(piece)


def scrub(text: str) -> str:
    for secret in _sensitive:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value) if _sensitive else value
    if isinstance(value, bytes):
        return MASK
    if isinstance(value, dict):
        return {k: MASK if k.lower() in SENSITIVE_KEYS else _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_clean(v) for v in value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return _clean(str(value))


def processor(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: masks sensitive fields and scrubs registered secrets."""
    for key in list(event):
        event[key] = MASK if key.lower() in SENSITIVE_KEYS else _clean(event[key])
    return event
