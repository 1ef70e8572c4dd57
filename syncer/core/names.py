"""GitHub's rules for secret names and values (GITHUB_FACTS.md, "Secret rules"), and what
names an environment variable."""

from __future__ import annotations

import re

MAX_VALUE_BYTES = 48 * 1024
#: GitHub's most variables per scope kind (GITHUB_FACTS.md, "Actions variables"); applied to
#: agent variables too, for which GitHub documents none
MAX_VARIABLES = {"org": 1000, "repo": 500, "env": 100}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # secret names and environment variable names
_TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")
# A token by its prefix, whatever follows (GitHub App installation tokens are `ghs_APPID_JWT`
# since April 2026: underscores, dots and dashes, not 40 characters), and a classic one (40
# hex digits).
_TOKEN = re.compile(r"(?:gh[pousr]_|github_pat_)[A-Za-z0-9_.\-]{16,}|[0-9a-fA-F]{40}")


def secret_name_problem(name: str) -> str | None:
    """Why GitHub would refuse `name` (or why it must not be used), or None when acceptable."""
    if not name:
        return "secret name is empty"
    if looks_like_token(name):  # a name is sent to GitHub and logged with every write
        return ("the secret name looks like a GitHub token (not repeated here); if that token "
                "is real, revoke it")
    # What fails below is not repeated: it may be the value typed where its name was meant.
    if not _NAME.fullmatch(name):
        if name[0].isdigit():
            return ("secret name must not start with a digit (not repeated here, in case it is "
                    "a value)")
        return ("secret name may only contain letters, digits and underscores (not repeated "
                "here, in case it is a value)")
    if name.upper().startswith("GITHUB_"):
        return "secret name must not start with GITHUB_ (reserved by GitHub)"
    return None

def value_problem(value: bytes) -> str | None:
    """Why GitHub would refuse a value of this size, or None. Never mentions the value itself."""
    if not value:
        return "secret value is empty"
    if len(value) > MAX_VALUE_BYTES:
        return f"secret value is {len(value)} bytes; GitHub allows at most {MAX_VALUE_BYTES}"
    return None


def env_name_problem(name: str) -> str | None:
    """Why `name` cannot name an environment variable, or None. What fails is never repeated:
    it may be a value or a token typed (or expanded by the shell) where its name was meant."""
    if name.startswith(_TOKEN_PREFIXES):
        return ("looks like a token, not the name of the environment variable holding it (not "
                "repeated here); if that token is real, revoke it")
    if not _NAME.fullmatch(name):
        return ("is not the name of an environment variable (letters, digits and underscores; "
                "not repeated here, in case it is a value)")
    return None


_CONVENTIONAL_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


def env_name_shown(name: str) -> bool:
    """Whether an environment variable's name may be repeated in an error. Names are not
    secrets, but `env:$VAR` puts a value where the name belongs, and a value can have a
    name's shape: only a conventional name (upper case, with an underscore or short, unlike
    a key id such as AKIA...) is repeated."""
    return (bool(_CONVENTIONAL_ENV_NAME.fullmatch(name)) and ("_" in name or len(name) < 16)
            and not looks_like_token(name))


def looks_like_token(text: str) -> bool:
    """Whether `text` has the shape of a GitHub token (typed where a name was meant)."""
    return bool(_TOKEN.fullmatch(text.strip()))
