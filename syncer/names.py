"""GitHub's rules for secret names and values (GITHUB_FACTS.md, "Secret rules")."""

from __future__ import annotations

import re

MAX_VALUE_BYTES = 48 * 1024
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def secret_name_problem(name: str) -> str | None:
    """Why GitHub would refuse `name`, or None when it is acceptable."""
    if not name:
        return "secret name is empty"
    if not _NAME.fullmatch(name):
        if name[0].isdigit():
            return f"secret name {name!r} must not start with a digit"
        return f"secret name {name!r} may only contain letters, digits and underscores"
    if name.upper().startswith("GITHUB_"):
        return f"secret name {name!r} must not start with GITHUB_"
    return None

def value_problem(value: bytes) -> str | None:
    """Why GitHub would refuse a value of this size, or None. Never mentions the value itself."""
    if not value:
        return "secret value is empty"
    if len(value) > MAX_VALUE_BYTES:
        return f"secret value is {len(value)} bytes; GitHub allows at most {MAX_VALUE_BYTES}"
    return None
