"""Shared helpers for end-to-end tests: fakehub over loopback, and syncer as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from syncer import cli

TOKEN = "tok-e2e-5d41402abc4b2a76"


def run_cli(args: list[str], env: Mapping[str, str], monkeypatch: Any,
            capsys: Any = None) -> int:
    """syncer's main() in this process, with exactly `env` for GitHub settings."""
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cli.main(args)


def syncer_process(args: list[str], env: Mapping[str, str], *, stdin: bytes | None = None,
                   timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """syncer as a real subprocess, as a user's shell or cron would run it."""
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_API_URL")}
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "syncer", *args], input=stdin,
                          capture_output=True, env=full_env, timeout=timeout, check=False)


@dataclass
class FakehubProcess:
    url: str
    token: str
    admin_token: str
    proc: subprocess.Popen[bytes]

    def state(self) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + "/_fakehub/state", headers={"Authorization": f"Bearer {self.admin_token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)


@contextmanager
def fakehub_process(*args: str, admin_token: str = "admin-e2e") -> Iterator[FakehubProcess]:
    """`syncer fakehub` in its own process; stopped with SIGTERM afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer", "fakehub", "--admin-token", admin_token, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        lines = dict(proc.stdout.readline().decode().strip().split("=", 1) for _ in range(3))
        yield FakehubProcess(lines["GITHUB_API_URL"], lines["GITHUB_TOKEN"], admin_token, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
