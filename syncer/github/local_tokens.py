"""Tokens already on this machine: an environment variable, or the gh CLI's.

- `env_token`: the first non-empty variable of a list (--token-env NAME, GITHUB_TOKEN, GH_TOKEN).
- `gh_token`: `gh auth token --hostname HOST`, run without a shell, as the last resort.

Neither logs nor returns anything but the token itself: gh's output is never repeated.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

__all__ = ["GH_TIMEOUT", "GhAnswer", "env_token", "gh_hostname", "gh_token"]

GH_TIMEOUT: Final = 5.0


def env_token(names: Collection[str], environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(name, token) of the first variable in `names` holding a non-blank value, else None."""
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return name, value
    return None


def gh_hostname(api_url: str) -> str:
    """The host gh knows the API by: github.com for api.github.com, HOST for
    https://HOST/api/v3 (Enterprise Server), SUBDOMAIN.ghe.com for api.SUBDOMAIN.ghe.com."""
    parts = urlsplit(api_url)
    host = parts.netloc.lower()
    if host == "api.github.com":
        return "github.com"
    if re.fullmatch(r"api\.[a-z0-9-]+\.ghe\.com", host):  # Enterprise Cloud, data residency
        return host.removeprefix("api.")
    return host


@dataclass(frozen=True, slots=True)
class GhAnswer:
    """What `gh auth token` gave: a token, or why there is none (never the output itself)."""

    token: str | None
    problem: str | None = None


def gh_token(hostname: str, *, environ: Mapping[str, str] | None = None,
             timeout: float = GH_TIMEOUT) -> GhAnswer:
    """`gh auth token --hostname HOSTNAME` when gh is on PATH: stdout stripped, if it exits 0.

    Run without a shell, stdin closed, within `timeout` seconds. The hostname is explicit so
    that a token gh keeps for another host is never sent to this one.
    """
    env = dict(os.environ if environ is None else environ)
    executable = shutil.which("gh", path=env.get("PATH", os.defpath))
    if executable is None:
        return GhAnswer(None, "gh is not installed (not on PATH)")
    try:
        done = subprocess.run([executable, "auth", "token", "--hostname", hostname],
                              capture_output=True, stdin=subprocess.DEVNULL, env=env,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return GhAnswer(None, f"`gh auth token` did not answer within {timeout:g} s")
    except OSError as exc:
        return GhAnswer(None, f"gh could not be run ({exc.strerror or type(exc).__name__})")
    if done.returncode != 0:
        return GhAnswer(None, f"gh is not logged in to {hostname} "
                              f"(`gh auth token` exited with status {done.returncode})")
    token = done.stdout.decode("utf-8", "replace").strip()
    if not token or any(c.isspace() for c in token):
        return GhAnswer(None, "`gh auth token` printed no token")
    return GhAnswer(token)
